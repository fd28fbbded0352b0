/**
 * NAR's tier labels (nar.md §4.3) and the ranker's metrics (§4.4 and the item 4): tier accuracy, within-one-
 * tier accuracy, the tier confusion matrix, Kendall τ-b and Spearman ρ of the score head against the true accuracy,
 * and top-k hit rates.
 */
import { TorchnasError } from '../../core/errors';
import { kendallTau, spearman } from '../../core/stats';

/**
 * Tier labels within one subset (SplitSubet): sort by accuracy, best first (a stable sort, so ties keep their
 * order), cut into `tiers` chunks of floor(n / tiers); the last tier takes the remainder. Tier 0 = the best
 * (the paper's tier 1). Returns the tier of each item in input order.
 */
export function tierLabels(accuracy: ArrayLike<number>, tiers = 5): Int32Array {
  const n = accuracy.length;
  if (!Number.isInteger(tiers) || tiers < 1) throw new TorchnasError(`tiers must be a positive integer, got ${tiers}`, 'INVALID_ARGUMENT');
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(accuracy[i])) throw new TorchnasError(`accuracy[${i}] is ${accuracy[i]}; tier labels need finite accuracies`, 'INVALID_ARGUMENT');
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => accuracy[b] - accuracy[a]);
  const chunk = Math.floor(n / tiers);
  const out = new Int32Array(n);
  order.forEach((item, rank) => {
    out[item] = chunk === 0 ? tiers - 1 : Math.min(tiers - 1, Math.floor(rank / chunk));
  });
  return out;
}

/** Predicted tier per row of row-major logits/probabilities [n × tiers] (argmax, first on ties). */
export function argmaxRows(values: ArrayLike<number>, tiers: number): Int32Array {
  const n = Math.floor(values.length / tiers);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let t = 1; t < tiers; t++) if (values[i * tiers + t] > values[i * tiers + best]) best = t;
    out[i] = best;
  }
  return out;
}

export interface TierMetrics {
  /** Top-1 tier accuracy (compute_accuracy). */
  accuracy: number;
  /** Predicted tier within one of the true tier. */
  withinOne: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  count: number;
}

export function tierMetrics(predicted: ArrayLike<number>, truth: ArrayLike<number>, tiers = 5): TierMetrics {
  if (predicted.length !== truth.length) throw new TorchnasError('tierMetrics: predicted and true tiers differ in length', 'INVALID_ARGUMENT');
  const confusion = Array.from({ length: tiers }, () => new Array<number>(tiers).fill(0));
  let hits = 0;
  let near = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]][predicted[i]]++;
    if (predicted[i] === truth[i]) hits++;
    if (Math.abs(predicted[i] - truth[i]) <= 1) near++;
  }
  const n = truth.length;
  return { accuracy: n ? hits / n : NaN, withinOne: n ? near / n : NaN, confusion, count: n };
}

export interface TopKHit {
  k: number;
  /** |predicted top-k ∩ true top-k| / k. */
  hitRate: number;
  /** Best true accuracy among the predicted top-k, and its rank (1 = best) within the set. */
  bestAccuracy: number;
  bestRank: number;
}

export interface RankingMetrics {
  count: number;
  kendallTau: number;
  spearman: number;
  topK: TopKHit[];
}

/** Ranks of `values` within themselves, 1 = the highest (ties: first come, first ranked). */
function descendingRanks(values: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  const ranks = new Int32Array(values.length);
  order.forEach((item, r) => {
    ranks[item] = r + 1;
  });
  return ranks;
}

/** Score head against true accuracy: Kendall τ-b (scipy's), Spearman ρ, and top-k hits for each k ≤ n. */
export function rankingMetrics(scores: ArrayLike<number>, accuracy: ArrayLike<number>, ks: readonly number[] = [1, 5, 10, 50, 100]): RankingMetrics {
  const n = scores.length;
  if (accuracy.length !== n) throw new TorchnasError('rankingMetrics: scores and accuracies differ in length', 'INVALID_ARGUMENT');
  const byScore = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const trueRank = descendingRanks(accuracy);
  const topK: TopKHit[] = [];
  for (const k of ks) {
    if (k > n) continue;
    let hits = 0;
    let best = -Infinity;
    let bestRank = n + 1;
    for (let j = 0; j < k; j++) {
      const i = byScore[j];
      if (trueRank[i] <= k) hits++;
      if (trueRank[i] < bestRank) {
        bestRank = trueRank[i];
        best = accuracy[i];
      }
    }
    topK.push({ k, hitRate: hits / k, bestAccuracy: best, bestRank });
  }
  return { count: n, kendallTau: kendallTau(scores, accuracy), spearman: spearman(scores, accuracy), topK };
}
