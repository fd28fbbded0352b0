/**
 * Per-edge and whole-network FLOPs/params of the NB201 network in the fvcore convention NAR's cell-information
 * files use (nar.md §3): conv MACs without bias, BN (eval) 2 × its input elements, Linear in × out, global
 * average pool its input elements, ReLU/pooling/identity/zero 0; params = trainable parameters. This differs from
 * NB201's own convention ({@link nb201Cost}: no BN, no pooling, Linear bias counted), which the NCP table carries.
 */
import { TorchnasError } from '../../core/errors';
import { Nb201Arch, checkNb201Arch } from './ops';

const CONV_1X1 = 2;
const CONV_3X3 = 3;

/**
 * Keys of the 15 cells of the default network (N = 5) in NB201's module list order: positions 0–4, 6–10, 12–16
 * (5 and 11 are the residual reduction blocks; nar.md §1.2).
 */
export const NB201_CELL_KEYS: readonly string[] = Object.freeze([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16].map((p) => `cells${p}`));

/** Options of {@link nb201FvcoreCost}; the defaults are the benchmark network on CIFAR-10/100 input (32×32). */
export interface Nb201FvcoreOptions {
  /** Classifier classes. Default 10. */
  numClasses?: number;
  /** Input height = width. Default 32 (16 for ImageNet16-120). Must be divisible by 4. */
  resolution?: number;
  /** Stem channels C. Default 16. */
  channels?: number;
  /** Cells per stage N. Default 5. */
  cellsPerStage?: number;
}

/** The costs of one cell: one value per edge in arch-string order (1←0, 2←0, 2←1, 3←0, 3←1, 3←2). */
export interface Nb201CellCost {
  /** The cell's key in NAR's files: `cells<position>`, its place in NB201's module list (nar.md §1.2). */
  key: string;
  flops: number[];
  params: number[];
}

/** Whole-network totals and the per-edge costs of every cell (15 with the defaults). */
export interface Nb201FvcoreCost {
  totalFlops: number;
  totalParams: number;
  cells: Nb201CellCost[];
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TorchnasError(`nb201FvcoreCost: ${name} must be a positive integer, got ${value}`, 'INVALID_ARGUMENT');
  }
  return value;
}

/** FLOPs and params of one ReLU→Conv(k×k, c→c)→BN edge at hw output elements per channel. */
function convEdge(k: number, c: number, hw: number): { flops: number; params: number } {
  return { flops: k * k * c * c * hw + 2 * c * hw, params: k * k * c * c + 2 * c };
}

/**
 * Costs of TinyNetwork(C, N) with the cell `ops` in all 3N cells, counted as fvcore counts the model in eval mode
 * (nar.md §3). With the defaults and 10 classes the all-`none` cell gives 7,877,248 FLOPs / 73,306 params; each
 * `nor_conv_1x1` edge adds 4,218,880 / 28,000 and each `nor_conv_3x3` edge 35,676,160 / 243,040.
 * @throws TorchnasError INVALID_CODE for a bad architecture, INVALID_ARGUMENT for bad options.
 */
export function nb201FvcoreCost(ops: Nb201Arch, options: Nb201FvcoreOptions = {}): Nb201FvcoreCost {
  const cell = checkNb201Arch(ops);
  const K = positiveInteger(options.numClasses ?? 10, 'numClasses');
  const R = positiveInteger(options.resolution ?? 32, 'resolution');
  const C = positiveInteger(options.channels ?? 16, 'channels');
  const N = positiveInteger(options.cellsPerStage ?? 5, 'cellsPerStage');
  if (R % 4 !== 0) throw new TorchnasError(`nb201FvcoreCost: resolution must be divisible by 4, got ${R}`, 'INVALID_ARGUMENT');

  // Stem: Conv(3→C, 3×3, no bias) + BN(C) at R×R.
  let totalFlops = 27 * C * R * R + 2 * C * R * R;
  let totalParams = 27 * C + 2 * C;
  const cells: Nb201CellCost[] = [];
  let position = 0;
  for (let stage = 0; stage < 3; stage++) {
    const c = C << stage;
    const hw = (R >> stage) ** 2;
    if (stage > 0) {
      // Residual block (c/2 → c, stride 2): ReLU→conv3x3 s2→BN, ReLU→conv3x3→BN, shortcut AvgPool(2)→conv1x1 (no BN).
      const cin = c / 2;
      totalFlops += 9 * cin * c * hw + 2 * c * hw + 9 * c * c * hw + 2 * c * hw + cin * c * hw;
      totalParams += 9 * cin * c + 2 * c + 9 * c * c + 2 * c + cin * c;
      position++; // the residual block takes one place in NB201's module list
    }
    const edgeCost = cell.map((op) => (op === CONV_1X1 ? convEdge(1, c, hw) : op === CONV_3X3 ? convEdge(3, c, hw) : { flops: 0, params: 0 }));
    for (let n = 0; n < N; n++) {
      const flops = edgeCost.map((e) => e.flops);
      const params = edgeCost.map((e) => e.params);
      cells.push({ key: `cells${position}`, flops, params });
      totalFlops += flops.reduce((a, b) => a + b, 0);
      totalParams += params.reduce((a, b) => a + b, 0);
      position++;
    }
  }
  const last = 4 * C;
  const lastHw = (R >> 2) ** 2;
  totalFlops += 2 * last * lastHw; // final BN (the ReLU after it counts 0)
  totalFlops += last * lastHw; // global average pool
  totalFlops += last * K; // classifier, bias not counted
  totalParams += 2 * last + last * K + K;
  return { totalFlops, totalParams, cells };
}
