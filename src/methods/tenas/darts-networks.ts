/**
 * The DARTS networks TE-NAS scores (specs/tenas.md §1.4): `NASNetworkDARTS(C=1, N=1, steps=4, multiplier=4,
 * stem_multiplier=1, depth=2)`, i.e. stem → one normal cell → one reduction cell → BN+ReLU → GAP → Linear, every
 * edge holding all eight ops. The NTK network takes 3×H×W images; the thin linear-region network is the same
 * without the stem and takes 1×3×3 patches. Both are driven by two α (normal and reduction cells, 14×8 each).
 */
import { DartsNetworkOptions, native, NativeDartsNetwork } from '../../native';
import { DARTS_NUM_EDGES, DARTS_OPS, DartsGenotype, dartsCellToEdgeOps } from '../../spaces/darts';
import type { Init, ScoringNetworkOptions } from './networks';

export type { DartsNetworkOptions, NativeDartsNetwork };

/** Number of α entries per cell type: 14 edges × 8 ops. */
export const DARTS_ALPHA_LENGTH = DARTS_NUM_EDGES * DARTS_OPS.length;

/** α of both cell types, each a Float32Array of 112 (row-major [edge][op], edges in sorted-key order). */
export interface DartsAlpha {
  normal?: Float32Array;
  reduce?: Float32Array;
}



function ctor() {
  return native().DartsNetwork;
}

/** Any DARTS cell network (the raw constructor, typed). */
export function dartsNetwork(options: DartsNetworkOptions = {}): NativeDartsNetwork {
  return new (ctor())(options);
}

// TE-NAS's DARTS model_config (prune_tenas.py): C=1, N=1, 4 steps, multiplier 4, stem multiplier 1, depth 2.
const TENAS_DARTS = { channels: 1, cellsPerStage: 1, steps: 4, multiplier: 4, stemMultiplier: 1, depth: 2 } as const;

function init(value: Init | undefined, fanOut: boolean): DartsNetworkOptions['init'] {
  // The paper intended kaiming-normal (fan_out for the NTK network, fan_in for the linear-region network); the original code applies none (§2).
  if (value !== 'kaiming_normal') return 'default';
  return fanOut ? 'kaiming_normal_fanout' : 'kaiming_normal_fanin';
}

/** TE-NAS's DARTS NTK network: stem Conv(3→1)+BN → normal cell (4 ch) → reduction cell (8 ch) → head. */
export function dartsNtkNetwork(options: ScoringNetworkOptions): NativeDartsNetwork {
  return dartsNetwork({
    ...TENAS_DARTS,
    numClasses: options.numClasses ?? 10,
    inChannels: 3,
    useStem: true,
    seed: options.seed,
    device: options.device ?? 'cpu',
    init: init(options.init, true),
  });
}

/**
 * TE-NAS's thin DARTS linear-region network: the same without the stem (still constructed), on 1×3×3 inputs;
 * the reduction cell turns 3×3 into 2×2.
 */
export function dartsThinNetwork(options: ScoringNetworkOptions): NativeDartsNetwork {
  return dartsNetwork({
    ...TENAS_DARTS,
    numClasses: options.numClasses ?? 10,
    useStem: false,
    seed: options.seed,
    device: options.device ?? 'cpu',
    init: init(options.init, false),
  });
}

/**
 * A network holding only a genotype's ops on its kept edges (for MAC and parameter counts), with the macro
 * structure of the search network (NB201-codebase ops, §1.4), not the DARTS evaluation network.
 */
export function dartsGenotypeNetwork(
  genotype: DartsGenotype,
  options: Omit<DartsNetworkOptions, 'normalOps' | 'reduceOps'> = {},
): NativeDartsNetwork {
  const indices = (cell: 'normal' | 'reduce') => dartsCellToEdgeOps(genotype, cell).map((op) => (op === null ? null : DARTS_OPS.indexOf(op)));
  return dartsNetwork({ ...options, normalOps: indices('normal'), reduceOps: indices('reduce') });
}

/** The initial TE-NAS α of one cell type: 0 everywhere except `none` at −1000 (§1.3). */
export function initialDartsAlpha(): Float32Array {
  const a = new Float32Array(DARTS_ALPHA_LENGTH);
  for (let e = 0; e < DARTS_NUM_EDGES; e++) a[e * DARTS_OPS.length + DARTS_OPS.indexOf('none')] = -1000;
  return a;
}

/** α of one cell type for a genotype: 0 on each kept edge's op, −1000 elsewhere (dropped edges all −1000). */
export function genotypeDartsAlpha(genotype: DartsGenotype, cell: 'normal' | 'reduce'): Float32Array {
  const a = new Float32Array(DARTS_ALPHA_LENGTH).fill(-1000);
  dartsCellToEdgeOps(genotype, cell).forEach((op, e) => {
    if (op !== null) a[e * DARTS_OPS.length + DARTS_OPS.indexOf(op)] = 0;
  });
  return a;
}
