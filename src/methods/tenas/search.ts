/**
 * TE-NAS pruning search (specs/tenas.md §4) on any PruningSpace (NB201, DARTS): start from the supernet with
 * every op but `none` live, and each round remove, per edge, the ops whose removal hurts trainability (κ_N)
 * and expressivity (R_N) least, judged by the sum of their dense ranks over all candidates, until one op is
 * left per edge; on DARTS then prune each node's incoming edges to two (§4.3).
 *
 * Faithful to the original: Δκ and ΔR are relative changes rounded to `precision` decimals and averaged over
 * repeats (Δκ with numpy's rounding, as the original rounds an np.float64; ΔR with Python's round); ranks are
 * dense over the `round_to` sort key; origin and candidate share weights and inputs within a repeat, every
 * NTK call draws a new batch; the NTK network is built once per round and the thin linear-region network
 * afresh for every candidate; the edge-pruning origin keeps its α from before the group loop (the quirk of
 * §4.3, fixable with `fixEdgeOriginQuirk`). Deterministic by seed: round k's NTK network is seeded
 * seed·1000 + k, the i-th candidate's thin network seed·10⁶ + i, and its NTK batches and patches come from the
 * input source's fork i (the original's global-RNG order is not reproduced). So a candidate's scores depend on
 * nothing but (seed, round, i, origin α, candidate α): candidates can be scored concurrently, or on queue
 * workers (`remote`), with the same result as one after the other.
 */
import { isCancelled, linkCancelToken, throwIfAborted } from '../../core/cancel';
import { NativeCancelToken } from '../../native';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { denseRank, numpyRound, pythonRound } from '../../core/stats';
import { DartsGenotype, dartsEdgeOpsToCell, formatDartsGenotype } from '../../spaces/darts';
import { formatNb201String, nb201FromAlphaArgmax } from '../../spaces/nb201';
import { InputSource } from '../../data/input-source';
import { Init, NtkMode } from './networks';
import { DARTS_PRUNING_SPACE, NB201_PRUNING_SPACE, PruningSpace, Scorer, ScoringSettings } from './pruning-space';

const PRUNED = -1000;

export interface SearchSettings {
  /** Ops removed per edge and round (NB201: 1, DARTS-CIFAR-10: 3, DARTS-ImageNet: 2). */
  pruneNumber: number;
  repeats: number;
  /** Decimal places of the rounded relative changes and significant figures of the sort key. */
  precision: number;
  ntkBatchSize: number;
  ntkMode: NtkMode;
  init: Init;
  singularEps: number;
  /** Linear-region samples per repeat, the BN batch they are split into, and the side of the square patches. */
  linearRegionSamples: number;
  linearRegionBatchSize: number;
  linearRegionInputSize: number;
  numClasses: number;
  seed: number;
  device: string;
  /** Threads computing NTK Jacobian rows concurrently on the autograd-loop path (same κ for any count). */
  ntkWorkers?: number;
  /** Candidates of a round scored at once, each on its own copy of the round's NTK network (default 1); the
   * results are the same for any count. */
  candidateConcurrency?: number;
  /** DARTS edge pruning: compare each group's candidates with the current α instead of the stale origin. */
  fixEdgeOriginQuirk?: boolean;
}

export interface CandidateScore {
  cell: string;
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
  /** 'ops': per-edge op pruning; 'edges': DARTS edge pruning of one node's inputs. */
  phase: 'ops' | 'edges';
  /** Live ops per edge after the round, per cell type. */
  liveOpsPerEdge: number[];
  candidates: CandidateScore[];
  seconds: number;
}

export interface SearchResult {
  space: 'nb201' | 'darts';
  /** NB201: the arch string; DARTS: the genotype in DARTS text form. */
  arch: string;
  /** NB201 only: op index per edge. */
  ops: number[];
  genotype?: DartsGenotype;
  rounds: RoundReport[];
  ntkEvaluations: number;
  linearRegionEvaluations: number;
  seconds: number;
}

/** One candidate of a round as a self-contained job: what `scoreCandidateRepeats` needs besides the settings. */
export interface CandidateJobSpec {
  /** 0-based round (seeds the round's NTK network: seed·1000 + round). */
  round: number;
  /** The candidate's number in the whole search (seeds its thin network, keys its input fork). */
  index: number;
  origin: number[][];
  alphas: number[][];
}

/** Per repeat: [κ origin, κ candidate, R origin, R candidate]. */
export type CandidateRepeats = [number, number, number, number][];

export interface SearchOptions {
  /** Candidates scored so far of the expected total; fields: round (1-based) and the candidate. */
  onProgress?: ProgressCallback;
  /** Called with each finished round (the search so far, e.g. for a partial result file). */
  onRound?: (round: RoundReport) => void;
  /** Checked between native jobs: an abort ends the search with CANCELLED within one NTK or region count. */
  signal?: AbortSignal;
  /**
   * Scores a round's candidates elsewhere (e.g. `torchnas worker` processes through a queue) instead of here:
   * resolves with each candidate's repeats, in order, or rejects. Called once per round with all its candidates.
   */
  remote?: (jobs: CandidateJobSpec[]) => Promise<CandidateRepeats[]>;
}

type Alphas = Float32Array[];

interface Candidate extends CandidateScore {
  index: number;
  cellIndex: number;
  edgeIndex: number;
  opIndex: number;
  alphas: Alphas;
}

class PruningState {
  constructor(readonly space: PruningSpace, readonly alphas: Alphas) {}
  static initial(space: PruningSpace): PruningState {
    const alphas = space.cellTypes.map(() => {
      const a = new Float32Array(space.numEdges * space.opNames.length);
      for (let e = 0; e < space.numEdges; e++) a[e * space.opNames.length + space.noneIndex] = PRUNED; // §4.1
      return a;
    });
    return new PruningState(space, alphas);
  }
  live(cell: number, edge: number, alphas: Alphas = this.alphas): number[] {
    const n = this.space.opNames.length;
    const out: number[] = [];
    for (let op = 0; op < n; op++) if (alphas[cell][edge * n + op] > PRUNED) out.push(op);
    return out;
  }
  singlePath(): boolean {
    for (let c = 0; c < this.alphas.length; c++) for (let e = 0; e < this.space.numEdges; e++) if (this.live(c, e).length > 1) return false;
    return true;
  }
  without(cell: number, edge: number, ops: number[]): Alphas {
    const copy = this.alphas.map((a) => a.slice());
    for (const op of ops) copy[cell][edge * this.space.opNames.length + op] = PRUNED;
    return copy;
  }
  prune(cell: number, edge: number, ops: number[]): void {
    for (const op of ops) this.alphas[cell][edge * this.space.opNames.length + op] = PRUNED;
  }
}

function relativeChange(origin: number, candidate: number): number {
  const d = (origin - candidate) / origin;
  // round_to crashes on NaN/∞ in the original (§4.5); a candidate that cannot be compared ranks as "no change".
  return Number.isFinite(d) ? d : 0;
}

function expectedEvaluations(space: PruningSpace, pruneNumber: number): number {
  let live = space.opNames.length - 1;
  let total = 0;
  while (live > 1) {
    total += space.cellTypes.length * space.numEdges * live;
    live -= Math.min(pruneNumber, live - 1);
  }
  for (const [lo, hi] of space.edgeGroups ?? []) if (hi - lo > 2) total += space.cellTypes.length * (hi - lo);
  return total;
}

/**
 * A candidate's κ and R, origin and candidate, per repeat: the NTK network `kappa` is the round's; the thin
 * network is seeded seed·10⁶ + index; each repeat draws one NTK batch and one set of patches from `inputs`
 * (the search source's fork `index`), shared by origin and candidate.
 */
export async function scoreCandidateRepeats(
  space: PruningSpace,
  kappa: Scorer,
  inputs: InputSource,
  settings: SearchSettings,
  scoring: ScoringSettings,
  job: { index: number; origin: Float32Array[]; alphas: Float32Array[] },
  checkCancelled: () => void = () => undefined,
): Promise<CandidateRepeats> {
  const regions = space.regionScorer(settings.seed * 1_000_000 + job.index, scoring);
  const out: CandidateRepeats = [];
  for (let r = 0; r < settings.repeats; r++) {
    const batch = inputs.ntkBatch(settings.ntkBatchSize);
    const patches = inputs.patches(settings.linearRegionSamples, settings.linearRegionInputSize);
    try {
      // An abort stops a running native job through the cancel token; these checks skip the jobs not yet started.
      checkCancelled();
      const kOrigin = await kappa(batch, job.origin);
      checkCancelled();
      const kCandidate = await kappa(batch, job.alphas);
      checkCancelled();
      const rOrigin = await regions(patches, job.origin);
      checkCancelled();
      const rCandidate = await regions(patches, job.alphas);
      out.push([kOrigin, kCandidate, rOrigin, rCandidate]);
    } finally {
      batch.dispose();
      patches.dispose();
    }
  }
  return out;
}

/** The scoring settings of a search's networks (shared by the local loop and queue jobs). */
export function scoringSettingsOf(settings: SearchSettings, cancel?: NativeCancelToken): ScoringSettings {
  return {
    numClasses: settings.numClasses,
    init: settings.init,
    device: settings.device,
    ntkMode: settings.ntkMode,
    singularEps: settings.singularEps,
    ntkWorkers: settings.ntkWorkers ?? 1,
    linearRegionBatchSize: settings.linearRegionBatchSize,
    cancel,
  };
}

/** Runs the pruning search on `space`. `source` supplies NTK batches and linear-region patches. */
export async function searchPruning(
  space: PruningSpace,
  source: InputSource,
  settings: SearchSettings,
  options: SearchOptions = {},
): Promise<SearchResult> {
  // The native NTK and linear-region jobs poll this token, so an abort stops a running job within one
  // Jacobian row or region batch (well under a second), not at its end.
  const cancel = linkCancelToken(options.signal);
  try {
    return await runPruning(space, source, settings, options, cancel.token);
  } catch (e) {
    // A native job stopped by the token says where it stopped; the caller sees one message per run.
    if (isCancelled(e)) throw new TorchnasError('TE-NAS search was cancelled', 'CANCELLED', { cause: e });
    throw e;
  } finally {
    cancel.release();
  }
}

async function runPruning(
  space: PruningSpace,
  source: InputSource,
  settings: SearchSettings,
  options: SearchOptions,
  cancel: NativeCancelToken,
): Promise<SearchResult> {
  const { onProgress, signal } = options;
  const checkCancelled = () => throwIfAborted(signal, 'TE-NAS search');
  const started = Date.now();
  if (!Number.isInteger(settings.pruneNumber) || settings.pruneNumber < 1) {
    throw new TorchnasError(`pruneNumber must be an integer >= 1, got ${settings.pruneNumber}`, 'CONFIG_INVALID');
  }
  const state = PruningState.initial(space);
  const rounds: RoundReport[] = [];
  const counts = { ntk: 0, linearRegions: 0, done: 0 };
  const total = expectedEvaluations(space, settings.pruneNumber);
  const scoring = scoringSettingsOf(settings, cancel);
  // Per repeat, the relative changes (rounded as the original) from the four scores.
  const settle = (c: Candidate, round: number, repeats: CandidateRepeats) => {
    c.repeats = repeats;
    counts.ntk += 2 * repeats.length;
    counts.linearRegions += 2 * repeats.length;
    const dk = repeats.map(([kO, kC]) => numpyRound(relativeChange(kO, kC), settings.precision));
    const dr = repeats.map(([, , rO, rC]) => pythonRound(relativeChange(rO, rC), settings.precision));
    c.deltaKappa = dk.reduce((a, b) => a + b, 0) / dk.length;
    c.deltaRegions = dr.reduce((a, b) => a + b, 0) / dr.length;
    // with concurrent lanes another lane's candidate may finish just after an abort: it is not counted or reported
    checkCancelled();
    counts.done++;
    onProgress?.(counts.done, total, { round: round + 1, candidate: `${c.cell} ${c.edge} ${c.op}`, deltaKappa: c.deltaKappa, deltaRegions: c.deltaRegions });
  };
  const scoreCandidate = async (kappa: Scorer, origin: Alphas, c: Candidate, round: number) =>
    settle(c, round, await scoreCandidateRepeats(space, kappa, source.fork(c.index), settings, scoring, { index: c.index, origin, alphas: c.alphas }, checkCancelled));
  // `kappas`: one NTK scorer (network) per concurrent lane, all with the round's weights. Each lane takes the
  // next candidate in list order; a failure stops the others from starting new candidates and is rethrown
  // once every lane has finished its running one.
  const evaluate = async (kappas: () => Scorer[], origin: Alphas, candidates: Candidate[], round: number) => {
    if (options.remote) {
      checkCancelled();
      const plain = (a: Alphas) => a.map((x) => Array.from(x));
      const results = await options.remote(candidates.map((c) => ({ round, index: c.index, origin: plain(origin), alphas: plain(c.alphas) })));
      candidates.forEach((c, i) => settle(c, round, results[i]));
    } else {
      let next = 0;
      let failure: { error: unknown } | undefined;
      const lane = async (kappa: Scorer) => {
        while (!failure && next < candidates.length) {
          const c = candidates[next++];
          try {
            checkCancelled();
            await scoreCandidate(kappa, origin, c, round);
          } catch (error) {
            failure ??= { error };
          }
        }
      };
      await Promise.all(kappas().map(lane));
      if (failure) throw failure.error;
    }
    // §4: dense ranks (Δκ descending, ΔR ascending) and rank sums; the stable ascending sort starts from the
    // NTK order, so ties keep it.
    const kappaRanking = denseRank(candidates.map((c) => c.deltaKappa), { descending: true, precision: settings.precision });
    const regionRanking = denseRank(candidates.map((c) => c.deltaRegions), { descending: false, precision: settings.precision });
    candidates.forEach((c, i) => {
      c.kappaRank = kappaRanking.ranks[i];
      c.regionsRank = regionRanking.ranks[i];
      c.rankSum = c.kappaRank + c.regionsRank;
    });
    return [...kappaRanking.order].sort((a, b) => candidates[a].rankSum - candidates[b].rankSum).map((i) => candidates[i]);
  };

  let candidates = 0; // numbers the candidates of the whole search in list order
  const candidate = (cell: number, edge: number, ops: number[], alphas: Alphas): Candidate => ({
    index: candidates++,
    cell: space.cellTypes[cell],
    edge: space.edgeName(edge),
    op: ops.map((o) => space.opNames[o]).join('+'),
    cellIndex: cell,
    edgeIndex: edge,
    opIndex: ops[0],
    alphas,
    deltaKappa: 0,
    deltaRegions: 0,
    kappaRank: 0,
    regionsRank: 0,
    rankSum: 0,
    pruned: false,
    repeats: [],
  });
  const report = (round: number, phase: RoundReport['phase'], list: Candidate[], t0: number): RoundReport => ({
    round,
    phase,
    liveOpsPerEdge: space.cellTypes.flatMap((_, c) => Array.from({ length: space.numEdges }, (_, e) => state.live(c, e).length)),
    candidates: list.map(({ index: _i, cellIndex: _c, edgeIndex: _e, opIndex: _o, alphas: _a, ...rest }) => rest),
    seconds: (Date.now() - t0) / 1000,
  });

  const lanes = settings.candidateConcurrency ?? 1;
  if (!Number.isInteger(lanes) || lanes < 1) {
    throw new TorchnasError(`candidateConcurrency must be an integer >= 1, got ${lanes}`, 'CONFIG_INVALID');
  }
  // The round's NTK network, once per concurrent lane: same seed, so the same weights (§1.3). Built on first
  // use (a remote search builds none here).
  const ntkScorers = (round: number): (() => Scorer[]) => {
    let built: Scorer[] | undefined;
    return () => (built ??= Array.from({ length: lanes }, () => space.ntkScorer(settings.seed * 1000 + round, scoring)));
  };

  let round = 0;
  // Op pruning rounds.
  for (; !state.singlePath(); round++) {
    const t0 = Date.now();
    const kappa = ntkScorers(round);
    const pruneEff = Math.min(settings.pruneNumber, state.live(0, 0).length - 1);
    const list: Candidate[] = [];
    for (let c = 0; c < space.cellTypes.length; c++) {
      for (let e = 0; e < space.numEdges; e++) {
        const live = state.live(c, e);
        if (live.length <= 1) continue;
        for (const op of live) list.push(candidate(c, e, [op], state.without(c, e, [op])));
      }
    }
    const origin = state.alphas.map((a) => a.slice());
    const order = await evaluate(kappa, origin, list, round);
    const prunedPerEdge = new Map<string, number>();
    for (const c of order) {
      const key = `${c.cellIndex}:${c.edgeIndex}`;
      if ((prunedPerEdge.get(key) ?? 0) >= pruneEff) continue;
      prunedPerEdge.set(key, (prunedPerEdge.get(key) ?? 0) + 1);
      c.pruned = true;
      state.prune(c.cellIndex, c.edgeIndex, [c.opIndex]);
    }
    rounds.push(report(round, 'ops', list, t0));
    options.onRound?.(rounds[rounds.length - 1]);
  }

  // DARTS edge pruning: keep two inputs per node.
  if (space.edgeGroups) {
    const kappa = ntkScorers(round);
    const staleOrigin = state.alphas.map((a) => a.slice());
    for (let c = 0; c < space.cellTypes.length; c++) {
      for (const [lo, hi] of space.edgeGroups) {
        if (hi - lo <= 2) continue;
        const t1 = Date.now();
        const list: Candidate[] = [];
        for (let e = lo; e < hi; e++) {
          const live = state.live(c, e);
          if (live.length === 0) continue;
          list.push(candidate(c, e, [live[live.length - 1]], state.without(c, e, [live[live.length - 1]])));
        }
        const origin = settings.fixEdgeOriginQuirk ? state.alphas.map((a) => a.slice()) : staleOrigin;
        const order = await evaluate(kappa, origin, list, round);
        for (const x of order.slice(0, Math.max(0, order.length - 2))) {
          x.pruned = true;
          state.prune(x.cellIndex, x.edgeIndex, state.live(x.cellIndex, x.edgeIndex));
        }
        rounds.push(report(round, 'edges', list, t1));
        options.onRound?.(rounds[rounds.length - 1]);
      }
    }
  }

  const base = { rounds, ntkEvaluations: counts.ntk, linearRegionEvaluations: counts.linearRegions, seconds: (Date.now() - started) / 1000 };
  const n = space.opNames.length;
  if (space.name === 'nb201') {
    const rows = Array.from({ length: space.numEdges }, (_, e) => Array.from(state.alphas[0].subarray(e * n, (e + 1) * n)));
    const ops = nb201FromAlphaArgmax(rows);
    return { space: 'nb201', arch: formatNb201String(ops), ops, ...base };
  }
  const edgeOps = (c: number) => Array.from({ length: space.numEdges }, (_, e) => {
    const live = state.live(c, e);
    return live.length ? space.opNames[live[0]] : null;
  });
  const genotype: DartsGenotype = {
    normal: dartsEdgeOpsToCell(edgeOps(0)),
    normalConcat: [2, 3, 4, 5],
    reduce: dartsEdgeOpsToCell(edgeOps(1)),
    reduceConcat: [2, 3, 4, 5],
  };
  return { space: 'darts', arch: formatDartsGenotype(genotype), ops: [], genotype, ...base };
}

/** The NB201 search (one cell type, 3 rounds with pruneNumber 1). */
export function searchNb201(source: InputSource, settings: SearchSettings, options: SearchOptions = {}): Promise<SearchResult> {
  return searchPruning(NB201_PRUNING_SPACE, source, settings, options);
}

/** The DARTS search (normal and reduction cells, op rounds then edge pruning). */
export function searchDarts(source: InputSource, settings: SearchSettings, options: SearchOptions = {}): Promise<SearchResult> {
  return searchPruning(DARTS_PRUNING_SPACE, source, settings, options);
}
