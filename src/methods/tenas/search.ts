/**
 * TE-NAS pruning search on the NB201 space (specs/tenas.md §4): start from the supernet with every op but
 * `none` live, and each round remove, per edge, the ops whose removal hurts trainability (κ_N) and
 * expressivity (R_N) least, judged by the sum of their dense ranks over all candidates, until one op is left
 * per edge.
 *
 * Faithful to the original: Δκ and ΔR are relative changes rounded to `precision` decimals and averaged over
 * repeats (Δκ with numpy's rounding, as the original rounds an np.float64; ΔR with Python's round); ranks are
 * dense over the `round_to` sort key; origin and candidate share weights and inputs within a repeat, every
 * NTK call draws a new batch. Deterministic by seed: round k's networks are seeded seed·1000 + k and inputs
 * come from one seeded stream (the original's global-RNG order is not reproducible and is not attempted).
 */
import { TorchnasError } from '../../core/errors';
import { denseRank, numpyRound, pythonRound } from '../../core/stats';
import { formatNb201String, NB201_EDGES, NB201_NUM_EDGES, NB201_NUM_OPS, NB201_OPS, nb201FromAlphaArgmax } from '../../spaces/nb201';
import { InputSource } from './inputs';
import { Init, ntkNetwork, NtkMode, thinNetwork } from './networks';

const PRUNED = -1000;
const NONE = 0;

export interface SearchSettings {
  /** Ops removed per edge and round (NB201: 1). */
  pruneNumber: number;
  repeats: number;
  /** Decimal places of the rounded relative changes and significant figures of the sort key. */
  precision: number;
  ntkBatchSize: number;
  ntkMode: NtkMode;
  init: Init;
  singularEps: number;
  lrSamples: number;
  lrBatchSize: number;
  lrInputSize: number;
  numClasses: number;
  seed: number;
  device: string;
  /** Threads computing NTK Jacobian rows concurrently (same κ for any count). */
  ntkWorkers?: number;
}

export interface CandidateScore {
  edge: string;
  op: string;
  deltaKappa: number;
  deltaRegions: number;
  kappaRank: number;
  regionsRank: number;
  rankSum: number;
  pruned: boolean;
  /** Per repeat: [κ origin, κ candidate, R origin, R candidate]. */
  repeats: [number, number, number, number][];
}

export interface RoundReport {
  round: number;
  liveOpsPerEdge: number[];
  candidates: CandidateScore[];
  seconds: number;
}

export interface SearchResult {
  arch: string;
  ops: number[];
  rounds: RoundReport[];
  ntkEvaluations: number;
  lrEvaluations: number;
  seconds: number;
}

export type SearchProgress = (done: number, total: number, info: { round: number; candidate: string }) => void;

function liveOps(alpha: Float32Array, edge: number): number[] {
  const live: number[] = [];
  for (let op = 0; op < NB201_NUM_OPS; op++) if (alpha[edge * NB201_NUM_OPS + op] > PRUNED) live.push(op);
  return live;
}

function isSinglePath(alpha: Float32Array): boolean {
  for (let e = 0; e < NB201_NUM_EDGES; e++) if (liveOps(alpha, e).length > 1) return false;
  return true;
}

/** Candidates still to evaluate from α onwards, for the progress total. */
function remainingEvaluations(alpha: Float32Array, pruneNumber: number): number {
  let live = liveOps(alpha, 0).length;
  let total = 0;
  while (live > 1) {
    total += NB201_NUM_EDGES * live;
    live -= Math.min(pruneNumber, live - 1);
  }
  return total;
}

function relativeChange(origin: number, candidate: number): number {
  const d = (origin - candidate) / origin;
  // round_to crashes on NaN/∞ in the original (§4.5); a candidate that cannot be compared ranks as "no change".
  return Number.isFinite(d) ? d : 0;
}

/** Runs the pruning search. `source` supplies NTK batches and linear-region patches. */
export async function searchNb201(source: InputSource, settings: SearchSettings, onProgress?: SearchProgress, signal?: AbortSignal): Promise<SearchResult> {
  const started = Date.now();
  if (!Number.isInteger(settings.pruneNumber) || settings.pruneNumber < 1) {
    throw new TorchnasError(`pruneNumber must be an integer >= 1, got ${settings.pruneNumber}`, 'CONFIG_INVALID');
  }
  const alpha = new Float32Array(NB201_NUM_EDGES * NB201_NUM_OPS);
  for (let e = 0; e < NB201_NUM_EDGES; e++) alpha[e * NB201_NUM_OPS + NONE] = PRUNED; // §4.1: none goes first
  const rounds: RoundReport[] = [];
  let ntkEvaluations = 0;
  let lrEvaluations = 0;
  let done = 0;
  const total = remainingEvaluations(alpha, settings.pruneNumber);

  for (let round = 0; !isSinglePath(alpha); round++) {
    const roundStarted = Date.now();
    const netSeed = settings.seed * 1000 + round;
    const ntkNet = ntkNetwork({ seed: netSeed, numClasses: settings.numClasses, init: settings.init, device: settings.device });
    const thin = thinNetwork({ seed: netSeed, numClasses: settings.numClasses, init: settings.init, device: settings.device });
    const pruneEff = Math.min(settings.pruneNumber, liveOps(alpha, 0).length - 1);
    const candidates: (CandidateScore & { edgeIndex: number; opIndex: number })[] = [];
    for (let e = 0; e < NB201_NUM_EDGES; e++) {
      const live = liveOps(alpha, e);
      if (live.length <= 1) continue;
      for (const op of live) {
        if (signal?.aborted) throw new TorchnasError('TE-NAS search was cancelled', 'CANCELLED');
        const candidate = alpha.slice();
        candidate[e * NB201_NUM_OPS + op] = PRUNED;
        const deltasKappa: number[] = [];
        const deltasRegions: number[] = [];
        const perRepeat: [number, number, number, number][] = [];
        for (let r = 0; r < settings.repeats; r++) {
          const batch = source.ntkBatch(settings.ntkBatchSize);
          const ntkOptions = { mode: settings.ntkMode, singularEps: settings.singularEps, workers: settings.ntkWorkers ?? 1 };
          const kOrigin = (await ntkNet.ntk(batch, { ...ntkOptions, alpha })).kappa;
          const kCandidate = (await ntkNet.ntk(batch, { ...ntkOptions, alpha: candidate })).kappa;
          batch.dispose();
          const patches = source.patches(settings.lrSamples, settings.lrInputSize);
          const rOrigin = (await thin.linearRegions(patches, { alpha, batchSize: settings.lrBatchSize })).regions;
          const rCandidate = (await thin.linearRegions(patches, { alpha: candidate, batchSize: settings.lrBatchSize })).regions;
          patches.dispose();
          ntkEvaluations += 2;
          lrEvaluations += 2;
          deltasKappa.push(numpyRound(relativeChange(kOrigin, kCandidate), settings.precision));
          deltasRegions.push(pythonRound(relativeChange(rOrigin, rCandidate), settings.precision));
          perRepeat.push([kOrigin, kCandidate, rOrigin, rCandidate]);
        }
        const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        const edgeName = `${NB201_EDGES[e].to}<-${NB201_EDGES[e].from}`;
        candidates.push({
          edge: edgeName,
          op: NB201_OPS[op],
          edgeIndex: e,
          opIndex: op,
          deltaKappa: mean(deltasKappa),
          deltaRegions: mean(deltasRegions),
          kappaRank: 0,
          regionsRank: 0,
          rankSum: 0,
          pruned: false,
          repeats: perRepeat,
        });
        done++;
        onProgress?.(done, total, { round, candidate: `${edgeName} ${NB201_OPS[op]}` });
      }
    }
    // §4: dense ranks (Δκ descending, ΔR ascending), rank sums over all candidates, stable sort from the
    // NTK order, then per edge the first pruneEff entries are pruned.
    const kappaRanking = denseRank(candidates.map((c) => c.deltaKappa), { descending: true, precision: settings.precision });
    const regionRanking = denseRank(candidates.map((c) => c.deltaRegions), { descending: false, precision: settings.precision });
    candidates.forEach((c, i) => {
      c.kappaRank = kappaRanking.ranks[i];
      c.regionsRank = regionRanking.ranks[i];
      c.rankSum = c.kappaRank + c.regionsRank;
    });
    const order = [...kappaRanking.order].sort((a, b) => candidates[a].rankSum - candidates[b].rankSum);
    const prunedPerEdge = new Array<number>(NB201_NUM_EDGES).fill(0);
    for (const i of order) {
      const c = candidates[i];
      if (prunedPerEdge[c.edgeIndex] >= pruneEff) continue;
      prunedPerEdge[c.edgeIndex]++;
      c.pruned = true;
      alpha[c.edgeIndex * NB201_NUM_OPS + c.opIndex] = PRUNED;
    }
    rounds.push({
      round,
      liveOpsPerEdge: Array.from({ length: NB201_NUM_EDGES }, (_, e) => liveOps(alpha, e).length),
      candidates: candidates.map(({ edgeIndex: _e, opIndex: _o, ...rest }) => rest),
      seconds: (Date.now() - roundStarted) / 1000,
    });
  }
  const rows = Array.from({ length: NB201_NUM_EDGES }, (_, e) => Array.from(alpha.subarray(e * NB201_NUM_OPS, (e + 1) * NB201_NUM_OPS)));
  const ops = nb201FromAlphaArgmax(rows);
  return { arch: formatNb201String(ops), ops, rounds, ntkEvaluations, lrEvaluations, seconds: (Date.now() - started) / 1000 };
}
