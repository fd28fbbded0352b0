/**
 * NAR's tier-guided search (nar.md §5) against any trained ranker ({@link NarSearchRanker}): per iteration, sample
 * architectures under FLOPs / params caps drawn from the checkpoint's per-batch tier statistics (or uniformly), fill
 * up with uniformly random architectures, rank the batch once with the persistent search buckets, and report the
 * predicted-tier-1 architectures with the best scores, with the benchmark's accuracies and global ranks.
 * Beyond the original: a user budget (maxFlops / maxParams) that every reported pick respects.
 */
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic-file';
import { Random } from '../../core/random';
import { TorchnasError, showValue } from '../../core/errors';
import type { ProgressCallback } from '../../core/progress';
import { renderChart, stackCharts, Series } from '../../report/svg';
import { isNb101CellInSpace, pruneNb101Cell } from '../../spaces/nb101';
import { nb101SequenceToCell, Nb101SequenceEntry } from '../../spaces/nar';
import { NB201_NUM_EDGES } from '../../spaces/nb201';
import {
  batchTierStatistics,
  checkSamplerConfig,
  NarDistributionChoice,
  NarSamplerConfig,
  NarTierStatistics,
  NarValueSampler,
  NAR_NB101_SAMPLER,
  NAR_NB201_SAMPLER,
} from './distribution';
import type { NarSearchBenchmark } from './search-benchmark';
import type { NarBatchRecord, NarSearchRanker } from './types';

/** Most edges of an NB101 cell (the sampler's `max_edges`). */
const NB101_SAMPLER_MAX_EDGES = 9;

export interface NarSearchOptions {
  /** The trained ranker (its space must be the benchmark's). */
  ranker: NarSearchRanker;
  benchmark: NarSearchBenchmark;
  /** The checkpoint's per-batch records (its `distri_list` in raw form), in the order the batches ran. */
  batches: readonly NarBatchRecord[];
  /** Seeds the shuffle of the statistics list and every sampling draw. */
  seed: number;
  /** Search iterations (default 50 = sampler_epochs − ranker_epochs). */
  iterations?: number;
  /** Sampler fields over the space's defaults (NB201 config201.yml, NB101 config.yml). */
  sampler?: Partial<NarSamplerConfig>;
  /** Histogram bins (default NB201 5, NB101 8). */
  bins?: number;
  /** The k of the top-k picks (default NB201 [5], NB101 [3, 5, 7, 10]); top-1 is always reported. */
  topK?: number[];
  /**
   * Fewest predicted-tier-1 architectures for an iteration to report anything (default NB201 5, as the original;
   * NB101 1: the original crashes below 10, here a top-k with fewer candidates reports the ones there are).
   */
  minTierOne?: number;
  /** Budget: every reported pick has total FLOPs ≤ maxFlops (raw count of the benchmark's network). */
  maxFlops?: number;
  /** Budget: every reported pick has total params ≤ maxParams (raw count). */
  maxParams?: number;
  /** Called after every iteration with (done, total, fields). */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** One reported architecture. */
export interface NarSearchPick {
  /** Position in the benchmark and the record id (NB201 index / NB101 file position). */
  position: number;
  id: number;
  /** NB201 arch string or NB101 hash. */
  arch: string;
  testAcc: number;
  valAcc: number;
  /** 1-based rank by test accuracy among all benchmark architectures. */
  rank: number;
  /** rank / N · 100. */
  topPercent: number;
  flops: number;
  params: number;
  /** The ranker's score (`val_acc_pred`) and tier-1 probability. */
  score: number;
  tierOneProb: number;
}

/** The best of a top-k: the pick of best rank (= best test accuracy) and its accuracies. */
export interface NarTopK {
  k: number;
  /** How many picks there were (fewer than k when fewer candidates qualified). */
  available: number;
  picks: NarSearchPick[];
  best: { position: number; testAcc: number; valAcc: number; rank: number; topPercent: number };
}

export type NarIterationStatus = 'picked' | 'too-few-tier-one' | 'none-within-budget';

export interface NarSearchIteration {
  iteration: number;
  /** Which checkpoint batch's statistics were used (index into `batches`). */
  statistic: number;
  /** How each statistic was sampled (the reason of the distribution choice). */
  distribution: Record<string, NarDistributionChoice['reason']>;
  /** Constrained samples that found a benchmark architecture, how many of them violate their caps (kept anyway, the
   * last-trial fallback), unknown ones (replaced by random), and uniformly random fill. */
  constrained: number;
  /** The FLOPs / params caps drawn (one pair per reuse_step samples; clamped to the budget). */
  caps: { flops: number; params: number }[];
  fallbacks: number;
  unknown: number;
  noisy: number;
  /** Architectures of the batch predicted tier 1, and those of them within the budget. */
  predictedTierOne: number;
  withinBudget: number;
  status: NarIterationStatus;
  /** A sentence for an iteration without picks. */
  note?: string;
  top1: NarSearchPick | null;
  topK: NarTopK[];
  seconds: number;
}

/** Best and mean over iterations of one k (1 for top-1). */
export interface NarSearchSummary {
  k: number;
  /** Iterations that reported this k. */
  reported: number;
  /** The iteration whose best test accuracy is highest (first on ties), or null. */
  best: { iteration: number; testAcc: number; valAcc: number; rank: number; topPercent: number; arch: string } | null;
  /** Mean over reported iterations of the best test accuracy among the k (top-1: the pick's), or null. */
  meanTestAcc: number | null;
  meanRank: number | null;
}

export interface NarSearchResult {
  space: 'nb201' | 'nb101';
  seed: number;
  iterations: number;
  benchmarkSize: number;
  sampler: NarSamplerConfig;
  bins: number;
  minTierOne: number;
  budget: { maxFlops: number | null; maxParams: number | null };
  /** Statistics list length and how many consecutive iterations reuse each. */
  statistics: { batches: number; reuse: number; order: number[] };
  perIteration: NarSearchIteration[];
  top1: NarSearchSummary;
  topK: NarSearchSummary[];
  /** Iterations without any pick, by reason. */
  withoutPick: { tooFewTierOne: number; noneWithinBudget: number };
  /** Plain-language remarks (budget, iterations without picks). */
  notes: string[];
  seconds: number;
  /** Seconds spent inside ranker.rankSearchBatch, summed. */
  rankSeconds: number;
}

function positiveInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TorchnasError(`NAR search: ${name} must be a positive integer, got ${showValue(v)}`, 'INVALID_ARGUMENT');
  return v;
}

function optionalBudget(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !(v > 0)) throw new TorchnasError(`NAR search: ${name} must be a positive number, got ${showValue(v)}`, 'INVALID_ARGUMENT');
  return v;
}

/** The statistics samplers of one checkpoint batch. */
export interface BatchSamplers {
  flops: NarValueSampler;
  params: NarValueSampler;
  edges?: NarValueSampler;
  nodes?: NarValueSampler;
}

export function narBatchSamplers(stat: NarTierStatistics, config: NarSamplerConfig, rng: Random): BatchSamplers {
  const out: BatchSamplers = {
    flops: new NarValueSampler(stat.flops, config.flopsKlThreshold, config, rng),
    params: new NarValueSampler(stat.params, config.paramsKlThreshold, config, rng),
  };
  if (stat.edges) out.edges = new NarValueSampler(stat.edges, config.edgesKlThreshold, config, rng);
  // NB101: the vertex count is always uniform over the batch's range (the original passes force_uniform=True).
  if (stat.nodes) out.nodes = new NarValueSampler(stat.nodes, 0, { ...config, forceUniform: true }, rng);
  return out;
}

/** One NB201 trial: 6 ops from tier 1's op distribution or uniform, looked up. */
function sampleNb201(benchmark: NarSearchBenchmark, samplers: BatchSamplers): number | undefined {
  const ops = new Array<number>(NB201_NUM_EDGES);
  for (let e = 0; e < NB201_NUM_EDGES; e++) ops[e] = (samplers.edges as NarValueSampler).sample();
  return (benchmark.lookupNb201 as (ops: readonly number[]) => number | undefined)(ops);
}

/**
 * One NB101 trial (§5): vertex count from the batch's range, a random predecessor and op per vertex, then
 * 9 − n + 1 extra random edges (dropped when the begin is the output or end = begin); pruned, hashed, looked up.
 */
function sampleNb101(benchmark: NarSearchBenchmark, samplers: BatchSamplers, rng: Random): number | undefined {
  const n = (samplers.nodes as NarValueSampler).sample();
  if (n < 2) return undefined;
  const sequence: Nb101SequenceEntry[] = [n];
  for (let k = 1; k < n; k++) {
    sequence.push(rng.int(0, k - 1));
    if (k === n - 1) break;
    sequence.push(rng.int(2, 4));
  }
  for (let i = 0; i < NB101_SAMPLER_MAX_EDGES - n + 1; i++) {
    const begin = rng.int(0, n - 1);
    if (begin === n - 1) {
      sequence.push(null, null);
      continue;
    }
    const end = rng.int(begin, n - 1);
    if (end === begin) sequence.push(null, null);
    else sequence.push(begin, end);
  }
  const decoded = nb101SequenceToCell(sequence);
  const cell = pruneNb101Cell(decoded.matrix, decoded.ops);
  if (cell === null || !isNb101CellInSpace(cell)) return undefined;
  return (benchmark.lookupNb101 as NonNullable<NarSearchBenchmark['lookupNb101']>)(cell);
}

/** What {@link sampleConstrained} drew: per sample the kept position (undefined: unknown architecture), its caps and
 * whether it met them (false: the last-trial fallback, or unknown). */
export interface ConstrainedSample {
  positions: (number | undefined)[];
  caps: { flops: number; params: number }[];
  satisfied: boolean[];
}

/**
 * Step 1 of an iteration (§5): `count` samples; new FLOPs / params caps every reuseStep samples (drawn from the
 * batch's statistics, clamped to the budget when given); per sample up to maxTrails + 1 trials, the first one within
 * the caps is kept, else the last trial's architecture anyway (undefined when that trial found no benchmark
 * architecture, NB101).
 */
export function sampleConstrained(
  benchmark: NarSearchBenchmark,
  samplers: BatchSamplers,
  config: Pick<NarSamplerConfig, 'reuseStep' | 'maxTrails'>,
  count: number,
  rng: Random,
  budget: { maxFlops?: number; maxParams?: number } = {},
): ConstrainedSample {
  const out: ConstrainedSample = { positions: [], caps: [], satisfied: [] };
  let [flopsCap, paramsCap] = [Infinity, Infinity];
  for (let drawn = 0; drawn < count; drawn++) {
    if (drawn % config.reuseStep === 0) {
      flopsCap = Math.min(samplers.flops.sample(), budget.maxFlops ?? Infinity);
      paramsCap = Math.min(samplers.params.sample(), budget.maxParams ?? Infinity);
    }
    let position: number | undefined;
    let satisfied = false;
    for (let trial = 0; trial <= config.maxTrails; trial++) {
      position = benchmark.space === 'nb201' ? sampleNb201(benchmark, samplers) : sampleNb101(benchmark, samplers, rng);
      if (position === undefined) continue;
      if (benchmark.flops[position] <= flopsCap && benchmark.params[position] <= paramsCap) {
        satisfied = true;
        break;
      }
    }
    out.positions.push(position);
    out.caps.push({ flops: flopsCap, params: paramsCap });
    out.satisfied.push(satisfied);
  }
  return out;
}

function summarize(k: number, rows: { iteration: number; testAcc: number; valAcc: number; rank: number; topPercent: number; arch: string }[]): NarSearchSummary {
  if (rows.length === 0) return { k, reported: 0, best: null, meanTestAcc: null, meanRank: null };
  let best = rows[0];
  for (const r of rows) if (r.testAcc > best.testAcc) best = r;
  return {
    k,
    reported: rows.length,
    best: { ...best },
    meanTestAcc: rows.reduce((s, r) => s + r.testAcc, 0) / rows.length,
    meanRank: rows.reduce((s, r) => s + r.rank, 0) / rows.length,
  };
}

/**
 * Runs NAR's search (§5). Deterministic for a given seed and a deterministic ranker.
 * @throws TorchnasError INVALID_ARGUMENT for bad options, a ranker of another space, a batch record the benchmark
 * cannot place, or ranker output of the wrong length; CANCELLED when `signal` aborts (checked between iterations).
 */
export async function runNarSearch(options: NarSearchOptions): Promise<NarSearchResult> {
  const started = process.hrtime.bigint();
  const { ranker, benchmark, signal } = options;
  if (!ranker || typeof ranker.rankSearchBatch !== 'function' || typeof ranker.resetSearchBuckets !== 'function') {
    throw new TorchnasError('NAR search: ranker must implement resetSearchBuckets() and rankSearchBatch()', 'INVALID_ARGUMENT');
  }
  if (!benchmark || (benchmark.space !== 'nb201' && benchmark.space !== 'nb101')) throw new TorchnasError('NAR search: benchmark must be an NB201 or NB101 search benchmark', 'INVALID_ARGUMENT');
  if (ranker.space !== benchmark.space) throw new TorchnasError(`NAR search: the ranker is for ${ranker.space} but the benchmark is ${benchmark.space}`, 'INVALID_ARGUMENT');
  const nb201 = benchmark.space === 'nb201';
  const tiers = positiveInteger(ranker.tiers, 'ranker.tiers');
  const seed = options.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new TorchnasError(`NAR search: seed must be a number, got ${showValue(seed)}`, 'INVALID_ARGUMENT');
  const iterations = positiveInteger(options.iterations ?? 50, 'iterations');
  const config: NarSamplerConfig = { ...(nb201 ? NAR_NB201_SAMPLER : NAR_NB101_SAMPLER), ...(options.sampler ?? {}) };
  try {
    checkSamplerConfig(config, tiers);
  } catch (e) {
    throw new TorchnasError((e as Error).message, 'INVALID_ARGUMENT');
  }
  const bins = positiveInteger(options.bins ?? (nb201 ? 5 : 8), 'bins');
  const topK = [...new Set(options.topK ?? (nb201 ? [5] : [3, 5, 7, 10]))].sort((a, b) => a - b);
  topK.forEach((k) => positiveInteger(k, 'every topK entry'));
  const minTierOne = positiveInteger(options.minTierOne ?? (nb201 ? 5 : 1), 'minTierOne');
  const maxFlops = optionalBudget(options.maxFlops, 'maxFlops');
  const maxParams = optionalBudget(options.maxParams, 'maxParams');
  if (!Array.isArray(options.batches) || options.batches.length === 0) throw new TorchnasError('NAR search: the checkpoint has no per-batch statistics (batches is empty)', 'INVALID_ARGUMENT');

  const rng = new Random(seed);
  const stats = options.batches.map((b, i) => {
    try {
      return batchTierStatistics(b, benchmark, { bins, tiers });
    } catch (e) {
      throw new TorchnasError(`NAR search: batch record ${i}: ${(e as Error).message}`, 'INVALID_ARGUMENT', { cause: e });
    }
  });
  const order = rng.shuffle(stats.map((_, i) => i));
  const reuse = Math.ceil(iterations / stats.length);
  const within = (p: number) => (maxFlops === undefined || benchmark.flops[p] <= maxFlops) && (maxParams === undefined || benchmark.params[p] <= maxParams);
  const constrainedCount = Math.trunc(config.sampleSize * (1 - config.noisyFactor));
  const n = config.sampleSize;
  const perIteration: NarSearchIteration[] = [];
  let rankSeconds = 0;

  ranker.resetSearchBuckets();
  let samplers: BatchSamplers | undefined;
  let samplersOf = -1;
  for (let it = 0; it < iterations; it++) {
    if (signal?.aborted) throw new TorchnasError(`NAR search was cancelled after ${it} of ${iterations} iterations`, 'CANCELLED');
    const iterStart = process.hrtime.bigint();
    const statistic = order[Math.min(Math.floor(it / reuse), order.length - 1)];
    if (samplersOf !== statistic) {
      samplers = narBatchSamplers(stats[statistic], config, rng);
      samplersOf = statistic;
    }
    const s = samplers as BatchSamplers;
    // 1. constrained sampling
    const drawn = sampleConstrained(benchmark, s, config, constrainedCount, rng, { maxFlops, maxParams });
    const sampled = drawn.positions.filter((p): p is number => p !== undefined);
    const fallbacks = drawn.positions.filter((p, i) => p !== undefined && !drawn.satisfied[i]).length;
    const unknown = drawn.positions.length - sampled.length;
    // 2. uniformly random fill (with replacement), shuffle
    const constrained = sampled.length;
    while (sampled.length < n) sampled.push(rng.int(0, benchmark.size - 1));
    rng.shuffle(sampled);
    // 3. rank (a fresh buffer per batch: a ranker may keep or transfer the one it was given)
    const features = new Float32Array(n * benchmark.featureLength);
    sampled.forEach((p, i) => benchmark.writeFeatures(p, features, i * benchmark.featureLength));
    const rankStart = process.hrtime.bigint();
    const { tierProbs, scores } = await ranker.rankSearchBatch(features, n);
    rankSeconds += Number(process.hrtime.bigint() - rankStart) / 1e9;
    if (!tierProbs || tierProbs.length !== n * tiers || !scores || scores.length !== n) {
      throw new TorchnasError(`NAR search: the ranker returned ${tierProbs?.length} tier probabilities and ${scores?.length} scores for ${n} architectures (expected ${n * tiers} and ${n})`, 'INVALID_ARGUMENT');
    }
    const bad = [...scores, ...tierProbs].findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const what = bad < n ? `score ${bad}` : `tier probability ${bad - n}`;
      throw new TorchnasError(`NAR search: iteration ${it}: the ranker returned a non-finite ${what} (${[...scores, ...tierProbs][bad]}); is the checkpoint diverged?`, 'INVALID_ARGUMENT');
    }
    // 4. predicted tier 1, budget, top-1 / top-k by score
    const tierOne: number[] = [];
    for (let i = 0; i < n; i++) {
      let arg = 0;
      for (let t = 1; t < tiers; t++) if (tierProbs[i * tiers + t] > tierProbs[i * tiers + arg]) arg = t;
      if (arg === 0) tierOne.push(i);
    }
    const candidates = tierOne.filter((i) => within(sampled[i]));
    const pick = (i: number): NarSearchPick => {
      const p = sampled[i];
      return {
        position: p,
        id: benchmark.ids[p],
        arch: benchmark.describe(p),
        testAcc: benchmark.testAcc[p],
        valAcc: benchmark.valAcc[p],
        rank: benchmark.rank[p],
        topPercent: (benchmark.rank[p] / benchmark.size) * 100,
        flops: benchmark.flops[p],
        params: benchmark.params[p],
        score: scores[i],
        tierOneProb: tierProbs[i * tiers],
      };
    };
    let status: NarIterationStatus = 'picked';
    let note: string | undefined;
    let top1: NarSearchPick | null = null;
    const topKs: NarTopK[] = [];
    if (tierOne.length < minTierOne) {
      status = 'too-few-tier-one';
      note = `only ${tierOne.length} architecture(s) predicted tier 1 (at least ${minTierOne} needed): nothing reported`;
    } else if (candidates.length === 0) {
      status = 'none-within-budget';
      note = `none of the ${tierOne.length} predicted-tier-1 architectures is within the budget: nothing reported`;
    } else {
      const ranked = [...candidates].sort((a, b) => scores[b] - scores[a] || a - b);
      top1 = pick(ranked[0]);
      for (const k of topK) {
        const picks = ranked.slice(0, k).map(pick);
        let best = picks[0];
        for (const q of picks) if (q.rank < best.rank) best = q;
        topKs.push({ k, available: picks.length, picks, best: { position: best.position, testAcc: best.testAcc, valAcc: best.valAcc, rank: best.rank, topPercent: best.topPercent } });
      }
      if (ranked.length < topK[topK.length - 1]) note = `only ${ranked.length} candidate(s) for top-${topK[topK.length - 1]}`;
    }
    const distribution: Record<string, NarDistributionChoice['reason']> = { flops: s.flops.choice.reason, params: s.params.choice.reason };
    if (s.edges) distribution.edges = s.edges.choice.reason;
    perIteration.push({
      iteration: it,
      statistic,
      distribution,
      constrained,
      caps: drawn.caps.filter((_, i) => i % config.reuseStep === 0),
      fallbacks,
      unknown,
      noisy: n - constrained,
      predictedTierOne: tierOne.length,
      withinBudget: candidates.length,
      status,
      ...(note ? { note } : {}),
      top1,
      topK: topKs,
      seconds: Number(process.hrtime.bigint() - iterStart) / 1e9,
    });
    options.onProgress?.(it + 1, iterations, top1 ? { top1Rank: top1.rank, top1Acc: Number(top1.testAcc.toFixed(3)) } : { top1: status });
  }

  const top1Rows = perIteration.filter((r) => r.top1).map((r) => ({ iteration: r.iteration, ...(r.top1 as NarSearchPick) }));
  const topKSummaries = topK.map((k) =>
    summarize(
      k,
      perIteration.flatMap((r) => {
        const t = r.topK.find((x) => x.k === k);
        return t ? [{ iteration: r.iteration, ...t.best, arch: benchmark.describe(t.best.position) }] : [];
      }),
    ),
  );
  const tooFew = perIteration.filter((r) => r.status === 'too-few-tier-one').length;
  const noneWithin = perIteration.filter((r) => r.status === 'none-within-budget').length;
  const notes: string[] = [];
  if (maxFlops !== undefined || maxParams !== undefined) {
    notes.push(
      `budget${maxFlops !== undefined ? ` FLOPs ≤ ${maxFlops}` : ''}${maxParams !== undefined ? ` params ≤ ${maxParams}` : ''}: sampled caps are clamped to it and every reported pick respects it` +
        (noneWithin > 0 ? `; ${noneWithin} iteration(s) had no predicted-tier-1 architecture within it and report nothing` : ''),
    );
  }
  if (tooFew > 0) notes.push(`${tooFew} iteration(s) had fewer than ${minTierOne} predicted-tier-1 architectures and report nothing`);
  if (top1Rows.length === 0) notes.push('no iteration reported a pick');
  return {
    space: benchmark.space,
    seed,
    iterations,
    benchmarkSize: benchmark.size,
    sampler: config,
    bins,
    minTierOne,
    budget: { maxFlops: maxFlops ?? null, maxParams: maxParams ?? null },
    statistics: { batches: stats.length, reuse, order },
    perIteration,
    top1: summarize(1, top1Rows),
    topK: topKSummaries,
    withoutPick: { tooFewTierOne: tooFew, noneWithinBudget: noneWithin },
    notes,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    rankSeconds,
  };
}

/**
 * The per-iteration picks as an SVG: the global rank (log scale) and the test accuracy of the top-1 pick and of the
 * best of each top-k, per iteration; iterations without picks are gaps.
 */
export function narSearchSvg(result: NarSearchResult): string {
  const series = (value: (it: NarSearchIteration) => number | undefined, prefix: string): Series[] => [
    { name: `${prefix} top-1`, style: 'points', points: result.perIteration.flatMap((r) => (r.top1 ? [[r.iteration, value(r) as number] as [number, number]] : [])) },
  ];
  const kSeries = (field: 'rank' | 'testAcc'): Series[] =>
    result.topK.map((s) => ({
      name: `best of top-${s.k}`,
      style: 'points' as const,
      points: result.perIteration.flatMap((r) => {
        const t = r.topK.find((x) => x.k === s.k);
        return t ? [[r.iteration, t.best[field]] as [number, number]] : [];
      }),
    }));
  const rankChart = renderChart([...series((r) => r.top1?.rank, 'rank'), ...kSeries('rank')], {
    title: `NAR search (${result.space}): global rank of the picks per iteration (1 = best of ${result.benchmarkSize})`,
    xLabel: 'iteration',
    yLabel: 'global rank by test accuracy',
    logY: true,
  });
  const accChart = renderChart([...series((r) => r.top1?.testAcc, 'acc'), ...kSeries('testAcc')], {
    title: `NAR search (${result.space}): test accuracy of the picks per iteration`,
    xLabel: 'iteration',
    yLabel: 'test accuracy',
  });
  return stackCharts([rankChart, accChart]);
}

/** File names {@link writeNarSearchFiles} writes. */
export const NAR_SEARCH_FILES = Object.freeze({ json: 'search.json', svg: 'search-picks.svg' });

/** Writes the result as JSON and the per-iteration picks as SVG into `dir` (both atomically); returns the paths. */
export async function writeNarSearchFiles(dir: string, result: NarSearchResult): Promise<{ json: string; svg: string }> {
  const json = path.join(dir, NAR_SEARCH_FILES.json);
  const svg = path.join(dir, NAR_SEARCH_FILES.svg);
  await writeJsonAtomic(json, result);
  await writeFileAtomic(svg, narSearchSvg(result));
  return { json, svg };
}
