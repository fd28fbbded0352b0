/**
 * What the TE-NAS pruning loop needs from a search space: its cell types, edges and ops, the edge groups
 * for DARTS's edge pruning, and how to score an α assignment with the two TE-NAS networks.
 */
import { DARTS_EDGES, DARTS_NUM_EDGES, DARTS_OPS } from '../../spaces/darts';
import { NB201_EDGES, NB201_NUM_EDGES, NB201_OPS } from '../../spaces/nb201';
import { Tensor } from '../../core/tensor';
import { NativeCancelToken } from '../../native';
import { dartsNtkNetwork, dartsThinNetwork } from './darts-networks';
import { Init, ntkNetwork, NtkMode, thinNetwork } from './networks';

export interface ScoringSettings {
  numClasses: number;
  init: Init;
  device: string;
  ntkMode: NtkMode;
  singularEps: number;
  ntkWorkers: number;
  linearRegionBatchSize: number;
  /** Stops a running NTK or linear-region job between rows/batches (CANCELLED). */
  cancel?: NativeCancelToken;
}

/** κ_N or R_N of an α assignment on one network (origin and candidate share its weights; only α differs). */
export type Scorer = (inputs: Tensor, alphas: Float32Array[]) => Promise<number>;

export interface PruningSpace {
  name: 'nb201' | 'darts';
  cellTypes: readonly string[];
  numEdges: number;
  opNames: readonly string[];
  noneIndex: number;
  edgeName(edge: number): string;
  /** DARTS: each node's incoming edges [from, to) for edge pruning to two inputs (§4.3). */
  edgeGroups?: readonly [number, number][];
  /** The round's NTK network (built once per round, §1.3). */
  ntkScorer(seed: number, settings: ScoringSettings): Scorer;
  /** A freshly initialised thin linear-region network (one per candidate, §4). */
  regionScorer(seed: number, settings: ScoringSettings): Scorer;
}

export const NB201_PRUNING_SPACE: PruningSpace = {
  name: 'nb201',
  cellTypes: ['cell'],
  numEdges: NB201_NUM_EDGES,
  opNames: NB201_OPS,
  noneIndex: NB201_OPS.indexOf('none'),
  edgeName: (e) => `${NB201_EDGES[e].to}<-${NB201_EDGES[e].from}`,
  ntkScorer(seed, s) {
    const net = ntkNetwork({ seed, numClasses: s.numClasses, init: s.init, device: s.device });
    return async (batch, [alpha]) => (await net.ntk(batch, { alpha, mode: s.ntkMode, singularEps: s.singularEps, workers: s.ntkWorkers, cancel: s.cancel })).kappa;
  },
  regionScorer(seed, s) {
    const thin = thinNetwork({ seed, numClasses: s.numClasses, init: s.init, device: s.device });
    return async (patches, [alpha]) => (await thin.linearRegions(patches, { alpha, batchSize: s.linearRegionBatchSize, cancel: s.cancel })).regions;
  },
};

export const DARTS_PRUNING_SPACE: PruningSpace = {
  name: 'darts',
  cellTypes: ['normal', 'reduce'],
  numEdges: DARTS_NUM_EDGES,
  opNames: DARTS_OPS,
  noneIndex: DARTS_OPS.indexOf('none'),
  edgeName: (e) => DARTS_EDGES[e].key,
  edgeGroups: [
    [0, 2],
    [2, 5],
    [5, 9],
    [9, 14],
  ],
  ntkScorer(seed, s) {
    const net = dartsNtkNetwork({ seed, numClasses: s.numClasses, init: s.init, device: s.device });
    return async (batch, [alphaNormal, alphaReduce]) =>
      (await net.ntk(batch, { alphaNormal, alphaReduce, mode: s.ntkMode, singularEps: s.singularEps, workers: s.ntkWorkers, cancel: s.cancel })).kappa;
  },
  regionScorer(seed, s) {
    const thin = dartsThinNetwork({ seed, numClasses: s.numClasses, init: s.init, device: s.device });
    return async (patches, [alphaNormal, alphaReduce]) =>
      (await thin.linearRegions(patches, { alphaNormal, alphaReduce, batchSize: s.linearRegionBatchSize, cancel: s.cancel })).regions;
  },
};
