/**
 * Rank statistics and the exact rounding rules the reference implementations rely on.
 *
 * - {@link kendallTau} and {@link spearman} reproduce `scipy.stats.kendalltau` (tau-b) and `scipy.stats.spearmanr`.
 * - {@link pythonRound} is CPython's `round(float, ndigits)`; {@link numpyRound} is `round(np.float64, n)` /
 *   `np.round`, which is a different rule. TE-NAS (tenas.md §4, §7) uses both, and ties between equal rounded
 *   values decide shared dense ranks, so neither may be approximated by `Math.round(x * 10 ** n) / 10 ** n`.
 * - {@link roundTo} and {@link denseRank} are TE-NAS's significant-figure sort key and dense ranking (tenas.md §4).
 */
import { TorchnasError } from './errors';

// ---------------------------------------------------------------------------------------------------------------
// Correlations
// ---------------------------------------------------------------------------------------------------------------

function checkPair(x: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  if (x.length !== y.length) {
    throw new TorchnasError(`${what}: x and y must have the same length, got ${x.length} and ${y.length}`, 'INVALID_ARGUMENT');
  }
}

/** Total order on non-NaN numbers that is safe for ±∞ (a − b is NaN for ∞ − ∞). */
function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hasNaN(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (Number.isNaN(v[i])) return true;
  return false;
}

/** Number of pairs i<j tied within each run of equal values of a sorted sequence: Σ t(t−1)/2. */
function tiedPairs(sorted: ArrayLike<number>): number {
  let total = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) {
      run++;
    } else {
      total += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return total;
}

/**
 * Kendall rank correlation, tau-b, exactly as `scipy.stats.kendalltau(x, y)` computes its statistic
 * (Knight's O(n log n) algorithm, ties in x, in y and joint ties; the result is clipped to [−1, 1]).
 * Returns NaN, like scipy, when an input contains NaN, has fewer than two values, or is constant.
 */
export function kendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'kendallTau');
  const n = x.length;
  if (n < 2 || hasNaN(x) || hasNaN(y)) return NaN;
  // Dense ranks of y, then order by (x, y) so that no discordant pair hides inside an x-tie.
  const byY = Array.from({ length: n }, (_, i) => i).sort((a, b) => compare(y[a], y[b]));
  const yRank = new Int32Array(n);
  for (let k = 1; k < n; k++) yRank[byY[k]] = yRank[byY[k - 1]] + (y[byY[k]] !== y[byY[k - 1]] ? 1 : 0);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compare(x[a], x[b]) || yRank[a] - yRank[b]);

  // Discordant pairs = inversions of the y ranks along that order (Fenwick tree over ranks).
  const maxRank = yRank[byY[n - 1]] + 1;
  const tree = new Float64Array(maxRank + 1);
  let discordant = 0;
  for (let k = 0; k < n; k++) {
    const r = yRank[order[k]] + 1;
    let notAbove = 0;
    for (let i = r; i > 0; i -= i & -i) notAbove += tree[i];
    discordant += k - notAbove;
    for (let i = r; i <= maxRank; i += i & -i) tree[i] += 1;
  }

  const xs = order.map((i) => x[i]);
  let jointTies = 0;
  let run = 1;
  for (let k = 1; k <= n; k++) {
    if (k < n && xs[k] === xs[k - 1] && yRank[order[k]] === yRank[order[k - 1]]) {
      run++;
    } else {
      jointTies += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  const xTies = tiedPairs(xs);
  const yTies = tiedPairs(byY.map((i) => yRank[i]));
  const total = (n * (n - 1)) / 2;
  if (xTies === total || yTies === total) return NaN;
  const conMinusDis = total - xTies - yTies + jointTies - 2 * discordant;
  // Two separate divisions, in scipy's order, so the last bit agrees.
  const tau = conMinusDis / Math.sqrt(total - xTies) / Math.sqrt(total - yTies);
  return Math.min(1, Math.max(-1, tau));
}

/** 1-based ranks with ties given their average rank (`scipy.stats.rankdata(method='average')`). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compare(values[a], values[b]));
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2; // mean of the 1-based positions start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Spearman rank correlation: the Pearson correlation of the average ranks (`scipy.stats.spearmanr`).
 * Returns NaN when an input contains NaN, has fewer than two values, or is constant.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'spearman');
  const n = x.length;
  if (n < 2 || hasNaN(x) || hasNaN(y)) return NaN;
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mean = (n + 1) / 2; // ranks always average to (n+1)/2
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i] - mean;
    const dy = ry[i] - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.min(1, Math.max(-1, sxy / Math.sqrt(sxx * syy)));
}

// ---------------------------------------------------------------------------------------------------------------
// Rounding
// ---------------------------------------------------------------------------------------------------------------

function checkDigits(ndigits: number, what: string): void {
  if (!Number.isSafeInteger(ndigits)) {
    throw new TorchnasError(`${what}: ndigits must be an integer, got ${ndigits}`, 'INVALID_ARGUMENT');
  }
}

/** |x| = mantissa · 2^exponent exactly, for a finite non-zero double. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/**
 * CPython's `round(x, ndigits)` for a float: the exact binary value of `x` is rounded to `ndigits` decimal places
 * (ties, which only occur when the double is exactly halfway, go to the even digit), then converted back to the
 * nearest double. So `pythonRound(2.675, 2) === 2.67` (2.675 is stored as 2.67499999…) and
 * `pythonRound(0.125, 2) === 0.12`. Negative `ndigits` round to tens, hundreds, …; NaN and ±∞ are returned
 * unchanged and the sign of a result that rounds to zero is kept, as in Python.
 * @throws TorchnasError INVALID_ARGUMENT when `ndigits` is not an integer or the result overflows.
 */
export function pythonRound(x: number, ndigits = 0): number {
  checkDigits(ndigits, 'pythonRound');
  if (!Number.isFinite(x) || x === 0) return x;
  // CPython's NDIGITS_MAX / NDIGITS_MIN shortcuts (floatobject.c).
  if (ndigits > 323) return x;
  if (ndigits < -308) return 0 * x;
  const { mantissa, exponent } = decompose(x);
  let num = mantissa;
  let den = 1n;
  if (exponent >= 0) num <<= BigInt(exponent);
  else den <<= BigInt(-exponent);
  if (ndigits >= 0) num *= 10n ** BigInt(ndigits);
  else den *= 10n ** BigInt(-ndigits);
  let q = num / den;
  const twiceRemainder = (num % den) * 2n;
  if (twiceRemainder > den || (twiceRemainder === den && (q & 1n) === 1n)) q += 1n;
  // JS string→number conversion is correctly rounded, like CPython's _Py_dg_strtod.
  const result = Number(`${x < 0 ? '-' : ''}${q}e${-ndigits}`);
  if (!Number.isFinite(result)) {
    throw new TorchnasError(`pythonRound: rounded value of ${x} to ${ndigits} digits is too large to represent`, 'INVALID_ARGUMENT');
  }
  return result;
}

/** C `rint` in the default rounding mode: to the nearest integer, halves to even. */
function rint(y: number): number {
  if (!Number.isFinite(y)) return y;
  const f = Math.floor(y);
  const diff = y - f; // exact for doubles
  const r = diff < 0.5 ? f : diff > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 ? (y < 0 ? -0 : 0) : r;
}

/** numpy's `power_of_ten`: a table up to 1e8, then repeated multiplication (inexact beyond 1e22, as in numpy). */
function numpyPowerOfTen(n: number): number {
  if (n < 9) return 10 ** n;
  let ret = 1e9;
  for (let k = n; k > 9; k--) ret *= 10;
  return ret;
}

/**
 * numpy's rounding of a float64 (`np.round(x, decimals)`, and Python's `round()` applied to an `np.float64`):
 * `rint(x · 10^d) / 10^d` for d ≥ 0, `rint(x / 10^−d) · 10^−d` for d < 0. It rounds the *product*, so it differs
 * from {@link pythonRound}: `numpyRound(2.675, 2) === 2.68`, `numpyRound(0.0005, 3) === 0`.
 * TE-NAS's `round_to` applies `round` to an `np.float64` (the mean of the repeats), hence this rule (tenas.md §4).
 * @throws TorchnasError INVALID_ARGUMENT when `decimals` is not an integer.
 */
export function numpyRound(x: number, decimals = 0): number {
  checkDigits(decimals, 'numpyRound');
  if (decimals >= 0) {
    const f = numpyPowerOfTen(decimals);
    return rint(x * f) / f;
  }
  const f = numpyPowerOfTen(-decimals);
  return rint(x / f) * f;
}

/** Python's `10 ** k` for an int k used as a float: exact int → nearest double, or C pow() for k < 0. */
function pythonPowerOfTen(k: number): number {
  return k >= 0 ? Number(10n ** BigInt(k)) : Number(`1e${k}`);
}

/** Which rounding `roundTo` applies after scaling: numpy's (faithful to TE-NAS, default) or Python's. */
export type RoundingRule = 'numpy' | 'python';

/**
 * TE-NAS's `round_to(x, precision)` (prune_tenas.py; tenas.md §4): `x` to `precision` significant figures.
 * 0 stays 0; otherwise a = |x| + 1e-8, power = floor(ln a / ln 10) + 1 and the result is
 * sign(x) · round(a · 10^−power, precision) · 10^power, evaluated in the original's order.
 * The original passes an `np.float64` (a mean from `np.mean`), so `round` there is numpy's rule; pass
 * `rule: 'python'` for the rule tenas.md §4 describes.
 * @throws TorchnasError INVALID_ARGUMENT for NaN or ±∞ (the original crashes there: tenas.md §4.5).
 */
export function roundTo(x: number, precision = 3, rule: RoundingRule = 'numpy'): number {
  checkDigits(precision, 'roundTo');
  if (!Number.isFinite(x)) {
    throw new TorchnasError(`roundTo: cannot round ${x} to significant figures (TE-NAS guards NaN/∞ deltas first)`, 'INVALID_ARGUMENT');
  }
  if (x === 0) return x;
  const sign = x / Math.abs(x);
  const a = Math.abs(x) + 1e-8;
  const power = Math.floor(Math.log(a) / Math.log(10)) + 1;
  const scaled = a * pythonPowerOfTen(-power);
  const rounded = rule === 'numpy' ? numpyRound(scaled, precision) : pythonRound(scaled, precision);
  return sign * rounded * pythonPowerOfTen(power);
}

// ---------------------------------------------------------------------------------------------------------------
// TE-NAS dense ranking
// ---------------------------------------------------------------------------------------------------------------

/** Options of {@link denseRank}. */
export interface DenseRankOptions {
  /** true: largest first (TE-NAS's NTK ranking); false: smallest first (its linear-region ranking). */
  descending: boolean;
  /** Significant figures of the sort key ({@link roundTo}); null sorts on the raw values. Default 3. */
  precision?: number | null;
  /** Rounding rule inside {@link roundTo}. Default 'numpy' (the original's behaviour). */
  rule?: RoundingRule;
}

/** Result of {@link denseRank}. */
export interface DenseRanking {
  /** Indices into the input, in ranked order. */
  order: number[];
  /** ranks[i] = the dense rank (0-based) of input i. */
  ranks: number[];
}

/**
 * TE-NAS's ranking of candidate scores (tenas.md §4): a stable sort on the key `roundTo(value, precision)`
 * (descending or ascending; equal keys keep their input order, as Python's `sorted(..., reverse=True)` does),
 * then dense ranks along that order: an entry whose *unrounded* value equals the previous entry's shares its
 * rank, otherwise the rank goes up by one. Two entries with equal rounded keys but different raw values thus
 * get different ranks, exactly as in the original.
 * @throws TorchnasError INVALID_ARGUMENT when a value is NaN or ±∞.
 */
export function denseRank(values: readonly number[], options: DenseRankOptions): DenseRanking {
  const precision = options.precision === undefined ? 3 : options.precision;
  const rule = options.rule ?? 'numpy';
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new TorchnasError(`denseRank: value ${i} is ${v}; scores must be finite`, 'INVALID_ARGUMENT');
  });
  const keys = values.map((v) => (precision === null ? v : roundTo(v, precision, rule)));
  const sign = options.descending ? -1 : 1;
  const order = values.map((_, i) => i).sort((a, b) => sign * compare(keys[a], keys[b])); // Array#sort is stable
  const ranks = new Array<number>(values.length);
  order.forEach((index, k) => {
    if (k === 0) ranks[index] = 0;
    else {
      const prev = order[k - 1];
      ranks[index] = values[index] === values[prev] ? ranks[prev] : ranks[prev] + 1;
    }
  });
  return { order, ranks };
}
