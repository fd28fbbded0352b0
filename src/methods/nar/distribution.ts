/**
 * NAR's tier statistics and how the search samples from them (nar.md §4.6 and §5 "prob_calculate"):
 * per training batch and tier, histograms of params (units of 1e3, ceil), FLOPs (units of 1e6, ceil) over `bins`
 * equal-width bins between the batch's min and max, and of NB201 op counts / NB101 vertex counts; the KL test that
 * decides whether tier 1's histogram is used or sampling is uniform; the FLOPs / params caps drawn from it.
 */
import { Random } from '../../core/random';
import { TorchnasError, showValue } from '../../core/errors';
import type { NarBatchRecord } from './types';
import type { NarSearchBenchmark } from './search-benchmark';

/** One histogram: bin keys (upper bin edges in raw units, op codes, or vertex counts) and counts, same length. */
export interface NarHistogram {
  keys: number[];
  counts: number[];
}

/** Per-tier histograms of one batch (index 0 = the best tier). NB201 has `edges`, NB101 `nodes`. */
export interface NarTierStatistics {
  flops: NarHistogram[];
  params: NarHistogram[];
  edges?: NarHistogram[];
  nodes?: NarHistogram[];
}

/** Which statistic: the FLOPs or params caps, NB201's per-edge op, NB101's vertex count. */
export type NarStatisticName = 'flops' | 'params' | 'edges' | 'nodes';

/** Units of the cost histograms: params in thousands, FLOPs in millions (§4.6). */
export const NAR_PARAMS_UNIT = 1e3;
export const NAR_FLOPS_UNIT = 1e6;

/**
 * A cost in histogram units: ceil(x / unit), computed in float32 as the original's float tensors do
 * (x rounded to float32, the quotient rounded to float32, then ceil).
 */
export function narCostUnits(x: number, unit: number): number {
  return Math.ceil(Math.fround(Math.fround(x) / unit));
}

/**
 * The histogram of `values` (already in units) with `bins` equal-width bins from `batchMin` (§5): step =
 * ceil((max − min) / bins); keys = trunc(scale · (min + k·step)), k = 1..bins (bin upper edges scaled back to raw
 * units); a value goes to bin ceil((v − min) / step), a value equal to the minimum to the first bin.
 * When max = min the original divides by zero (a bug not ported, nar.md §8); step 1 is used then, so every value
 * falls in the first bin.
 * @throws TorchnasError INVALID_ARGUMENT for bins < 1 or a value outside [min, max].
 */
export function countsHistogram(values: readonly number[], batchMin: number, batchMax: number, bins: number, scale = 1): NarHistogram {
  if (!Number.isInteger(bins) || bins < 1) throw new TorchnasError(`NAR histogram: bins must be a positive integer, got ${showValue(bins)}`, 'INVALID_ARGUMENT');
  const min = Math.trunc(batchMin);
  const max = Math.trunc(batchMax);
  if (!(max >= min)) throw new TorchnasError(`NAR histogram: batch max ${showValue(batchMax)} is below batch min ${showValue(batchMin)}`, 'INVALID_ARGUMENT');
  const step = Math.ceil((max - min) / bins) || 1;
  const keys = Array.from({ length: bins }, (_, k) => Math.trunc(scale * ((k + 1) * step + min)));
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) {
    const v = value === min ? value + step : value;
    const bin = Math.ceil((v - min) / step);
    if (!(bin >= 1 && bin <= bins)) throw new TorchnasError(`NAR histogram: value ${showValue(value)} is outside the batch range [${min}, ${max}]`, 'INVALID_ARGUMENT');
    counts[bin - 1]++;
  }
  return { keys, counts };
}

export interface BatchStatisticsOptions {
  /** Bins of the FLOPs / params histograms (NB201 5, NB101 8). */
  bins: number;
  /** Number of tiers (5). */
  tiers?: number;
}

/**
 * The per-tier histograms of one training batch (§4.6): params and FLOPs binned between the whole batch's min and
 * max (in units, see {@link narCostUnits}), so every tier has the same keys; NB201: per tier the summed
 * `edges_type_counts` (keys 0..4 = none, skip, conv1x1, conv3x3, avgpool); NB101: per tier the vertex-count
 * histogram over the batch's range min..max. A tier without architectures has all-zero counts.
 * @throws TorchnasError INVALID_ARGUMENT for an empty batch, mismatched lengths, a tier out of range or an index the
 * benchmark does not have.
 */
export function batchTierStatistics(batch: NarBatchRecord, benchmark: NarSearchBenchmark, options: BatchStatisticsOptions): NarTierStatistics {
  const tiers = options.tiers ?? 5;
  if (!batch || !Array.isArray(batch.indices) || !Array.isArray(batch.tiers) || batch.indices.length !== batch.tiers.length || batch.indices.length === 0) {
    throw new TorchnasError(`NAR batch record: expected non-empty 'indices' and 'tiers' of the same length, got ${showValue(batch)}`, 'INVALID_ARGUMENT');
  }
  const positions = batch.indices.map((id, i) => {
    const p = benchmark.positionOfId(id);
    if (p === undefined) throw new TorchnasError(`NAR batch record: index ${showValue(id)} (entry ${i}) is not an architecture of the benchmark`, 'INVALID_ARGUMENT');
    return p;
  });
  batch.tiers.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= tiers) throw new TorchnasError(`NAR batch record: tier ${showValue(t)} (entry ${i}) must be an integer 0..${tiers - 1}`, 'INVALID_ARGUMENT');
  });
  const params = positions.map((p) => narCostUnits(benchmark.params[p], NAR_PARAMS_UNIT));
  const flops = positions.map((p) => narCostUnits(benchmark.flops[p], NAR_FLOPS_UNIT));
  const byTier = <T>(values: T[], tier: number) => values.filter((_, i) => batch.tiers[i] === tier);
  const range = (values: number[]) => [Math.min(...values), Math.max(...values)] as const;
  const [minP, maxP] = range(params);
  const [minF, maxF] = range(flops);
  const out: NarTierStatistics = {
    params: Array.from({ length: tiers }, (_, t) => countsHistogram(byTier(params, t), minP, maxP, options.bins, NAR_PARAMS_UNIT)),
    flops: Array.from({ length: tiers }, (_, t) => countsHistogram(byTier(flops, t), minF, maxF, options.bins, NAR_FLOPS_UNIT)),
  };
  if (benchmark.space === 'nb201') {
    const edges = benchmark.edges as Uint8Array;
    const ops = edges.length / benchmark.size;
    out.edges = Array.from({ length: tiers }, (_, t) => {
      const counts = new Array<number>(ops).fill(0);
      byTier(positions, t).forEach((p) => {
        for (let o = 0; o < ops; o++) counts[o] += edges[p * ops + o];
      });
      return { keys: counts.map((_, o) => o), counts };
    });
  } else {
    const nodes = positions.map((p) => (benchmark.nodes as Uint8Array)[p]);
    const [minN, maxN] = range(nodes);
    out.nodes = Array.from({ length: tiers }, (_, t) => {
      const keys = Array.from({ length: maxN - minN + 1 }, (_, k) => minN + k);
      const counts = new Array<number>(keys.length).fill(0);
      byTier(nodes, t).forEach((v) => counts[v - minN]++);
      return { keys, counts };
    });
  }
  return out;
}

function logSoftmax(x: readonly number[]): number[] {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
}

/**
 * The original's `compute_kl_div(low, top)`: KL(softmax(top) ‖ softmax(low)) on the raw **counts**, divided by the
 * number of bins (PyTorch's `batchmean` on a 1-D tensor). Computed in float64 (the original in float32).
 */
export function narKlDivergence(topCounts: readonly number[], lowCounts: readonly number[]): number {
  if (topCounts.length !== lowCounts.length || topCounts.length === 0) {
    throw new TorchnasError(`NAR KL: the histograms must have the same non-zero length, got ${topCounts.length} and ${lowCounts.length}`, 'INVALID_ARGUMENT');
  }
  const p = logSoftmax(topCounts);
  const q = logSoftmax(lowCounts);
  return p.reduce((s, lp, i) => s + Math.exp(lp) * (lp - q[i]), 0) / p.length;
}

/** The `sampler.*` fields of NAR's configs (§4.5), camelCase. */
export interface NarSamplerConfig {
  /** Tiers whose histogram may be used (1: tier 1 only). */
  topTier: number;
  /** Tiers lastTier..tiers (1-based) are compared with the top tier. */
  lastTier: number;
  /** The top tier must hold at least this fraction of the batch. */
  batchFactor: number;
  /** New caps every this many sampled architectures. */
  reuseStep: number;
  /** Up to maxTrails + 1 tries per sampled architecture. */
  maxTrails: number;
  /** Fraction of the search batch filled with uniformly random architectures. */
  noisyFactor: number;
  flopsKlThreshold: number;
  paramsKlThreshold: number;
  /** NB201 only. */
  edgesKlThreshold: number;
  /** Architectures per search iteration (= the ranker batch, search_size). */
  sampleSize: number;
  /** Ignore the tier statistics: caps and ops uniform. */
  forceUniform: boolean;
}

/** `config201.yml`'s sampler (§4.5). */
export const NAR_NB201_SAMPLER: Readonly<NarSamplerConfig> = Object.freeze({
  topTier: 1,
  lastTier: 4,
  batchFactor: 0.1,
  reuseStep: 25,
  maxTrails: 100,
  noisyFactor: 0.5,
  flopsKlThreshold: 0.35,
  paramsKlThreshold: 0.3,
  edgesKlThreshold: 1.5,
  sampleSize: 128,
  forceUniform: true,
});

/** `config.yml`'s sampler (NB101, §4.5); edgesKlThreshold is unused there. */
export const NAR_NB101_SAMPLER: Readonly<NarSamplerConfig> = Object.freeze({
  topTier: 1,
  lastTier: 4,
  batchFactor: 0.1,
  reuseStep: 25,
  maxTrails: 100,
  noisyFactor: 0.5,
  flopsKlThreshold: 2.5,
  paramsKlThreshold: 2.5,
  edgesKlThreshold: 2,
  sampleSize: 256,
  forceUniform: false,
});

const SNAKE_KEYS: Readonly<Record<string, keyof NarSamplerConfig>> = {
  top_tier: 'topTier',
  last_tier: 'lastTier',
  batch_factor: 'batchFactor',
  reuse_step: 'reuseStep',
  max_trails: 'maxTrails',
  noisy_factor: 'noisyFactor',
  flops_kl_thred: 'flopsKlThreshold',
  params_kl_thred: 'paramsKlThreshold',
  edges_kl_thred: 'edgesKlThreshold',
  sample_size: 'sampleSize',
  force_uniform: 'forceUniform',
};

/**
 * A sampler config from the original YAML's `sampler:` mapping (snake_case keys as in §4.5) over `defaults`.
 * `search_size` must equal `sample_size` (one ranker batch per iteration); `is_checkpoint` is accepted and ignored
 * (the search always uses the checkpoint it is given).
 * @throws TorchnasError CONFIG_INVALID naming the key for an unknown key or a value of the wrong type.
 */
export function narSamplerConfig(sampler: Readonly<Record<string, unknown>> = {}, defaults: Readonly<NarSamplerConfig> = NAR_NB201_SAMPLER): NarSamplerConfig {
  const out: NarSamplerConfig = { ...defaults };
  for (const [key, value] of Object.entries(sampler ?? {})) {
    if (key === 'is_checkpoint' || key === 'search_size') continue;
    const name = SNAKE_KEYS[key] ?? (Object.values(SNAKE_KEYS).includes(key as keyof NarSamplerConfig) ? (key as keyof NarSamplerConfig) : undefined);
    if (name === undefined) throw new TorchnasError(`NAR sampler config: unknown key '${key}'`, 'CONFIG_INVALID');
    if (name === 'forceUniform') {
      if (typeof value !== 'boolean') throw new TorchnasError(`NAR sampler config: '${key}' must be true or false, got ${showValue(value)}`, 'CONFIG_INVALID');
      out.forceUniform = value;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new TorchnasError(`NAR sampler config: '${key}' must be a number, got ${showValue(value)}`, 'CONFIG_INVALID');
      out[name] = value;
    }
  }
  const searchSize = sampler?.search_size;
  if (searchSize !== undefined && searchSize !== out.sampleSize) {
    throw new TorchnasError(`NAR sampler config: search_size (${showValue(searchSize)}) must equal sample_size (${out.sampleSize}): the search ranks each iteration's batch at once`, 'CONFIG_INVALID');
  }
  checkSamplerConfig(out);
  return out;
}

/** @throws TorchnasError CONFIG_INVALID for a field out of range. */
export function checkSamplerConfig(c: NarSamplerConfig, tiers = 5): void {
  const bad = (what: string) => {
    throw new TorchnasError(`NAR sampler config: ${what}`, 'CONFIG_INVALID');
  };
  const int = (v: number, lo: number, name: string) => (!Number.isInteger(v) || v < lo) && bad(`${name} must be an integer ≥ ${lo}, got ${showValue(v)}`);
  int(c.topTier, 1, 'top_tier');
  int(c.lastTier, 1, 'last_tier');
  if (c.topTier >= tiers) bad(`top_tier (${c.topTier}) must be below the number of tiers (${tiers})`);
  if (c.lastTier <= c.topTier || c.lastTier > tiers) bad(`last_tier (${c.lastTier}) must be in top_tier+1..${tiers}`);
  int(c.reuseStep, 1, 'reuse_step');
  int(c.maxTrails, 0, 'max_trails');
  int(c.sampleSize, 1, 'sample_size');
  if (!(c.noisyFactor >= 0 && c.noisyFactor <= 1)) bad(`noisy_factor must be in [0, 1], got ${showValue(c.noisyFactor)}`);
  if (!(c.batchFactor >= 0 && c.batchFactor <= 1)) bad(`batch_factor must be in [0, 1], got ${showValue(c.batchFactor)}`);
  for (const k of ['flopsKlThreshold', 'paramsKlThreshold', 'edgesKlThreshold'] as const) if (!Number.isFinite(c[k])) bad(`${k} must be a number`);
}

/** What {@link selectTierDistribution} decided. */
export interface NarDistributionChoice {
  /** Tier `tier`'s counts normalised to probabilities, or null: sample uniformly from tier 1's keys. */
  probabilities: number[] | null;
  /** The tier whose histogram is used (0-based), or null. */
  tier: number | null;
  /** Why: `selected`, `forced-uniform`, `too-few` (top tier below batch_factor), `kl-below-threshold`. */
  reason: 'selected' | 'forced-uniform' | 'too-few' | 'kl-below-threshold';
  /** KL(top ‖ tier j) values computed, keyed by 0-based tier j. */
  kl: Record<number, number>;
}

/**
 * `select_distri` (§5): for each of the top `topTier` tiers holding at least batchFactor × (sum of all tiers' counts),
 * compare with tiers lastTier..tiers (1-based) by {@link narKlDivergence}; any KL below the threshold ⇒ uniform;
 * otherwise that tier's counts normalised. No tier qualifying ⇒ uniform.
 */
export function selectTierDistribution(perTier: readonly NarHistogram[], threshold: number, config: Pick<NarSamplerConfig, 'topTier' | 'lastTier' | 'batchFactor'>): NarDistributionChoice {
  const total = perTier.reduce((s, h) => s + h.counts.reduce((a, b) => a + b, 0), 0);
  const kl: Record<number, number> = {};
  for (let i = 0; i < config.topTier && i < perTier.length; i++) {
    const counts = perTier[i].counts;
    const size = counts.reduce((a, b) => a + b, 0);
    if (size < config.batchFactor * total || size <= 0) continue;
    for (let j = config.lastTier - 1; j < perTier.length; j++) {
      kl[j] = narKlDivergence(counts, perTier[j].counts);
      if (kl[j] < threshold) return { probabilities: null, tier: null, reason: 'kl-below-threshold', kl };
    }
    return { probabilities: counts.map((c) => c / size), tier: i, reason: 'selected', kl };
  }
  return { probabilities: null, tier: null, reason: 'too-few', kl };
}

/** Random.choices with weights: the first key whose cumulative weight exceeds u · total. */
export function weightedChoice(keys: readonly number[], weights: readonly number[], rng: Random): number {
  const total = weights.reduce((a, b) => a + b, 0);
  const u = rng.next() * total;
  let cumulative = 0;
  for (let i = 0; i < keys.length; i++) {
    cumulative += weights[i];
    if (u < cumulative) return keys[i];
  }
  for (let i = keys.length - 1; i >= 0; i--) if (weights[i] > 0) return keys[i];
  return keys[keys.length - 1];
}

/**
 * A sampler for one statistic of one batch: the choice is made once (it depends only on the histograms), each
 * `sample()` then draws a key from the chosen tier's distribution or uniformly from tier 1's keys.
 */
export class NarValueSampler {
  readonly choice: NarDistributionChoice;
  private readonly keys: number[];

  constructor(perTier: readonly NarHistogram[], threshold: number, config: Pick<NarSamplerConfig, 'topTier' | 'lastTier' | 'batchFactor' | 'forceUniform'>, private readonly rng: Random) {
    if (perTier.length === 0) throw new TorchnasError('NAR sampler: no tier histograms', 'INVALID_ARGUMENT');
    this.choice = config.forceUniform ? { probabilities: null, tier: null, reason: 'forced-uniform', kl: {} } : selectTierDistribution(perTier, threshold, config);
    this.keys = this.choice.tier === null ? [...perTier[0].keys] : [...perTier[this.choice.tier].keys];
  }

  /** One value: a cap (raw FLOPs / params), an op code, or a vertex count. */
  sample(): number {
    return this.choice.probabilities ? weightedChoice(this.keys, this.choice.probabilities, this.rng) : this.rng.pick(this.keys);
  }
}
