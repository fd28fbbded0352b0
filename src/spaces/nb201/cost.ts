/**
 * Closed-form parameter count and MACs ("FLOPs" in NB201's convention) of the benchmark network
 * `TinyNetwork(C, N)` (tenas.md §1.2, ncp.md §6). Counting rules that reproduce the NB201 numbers: conv and
 * Linear weights plus BN affine parameters (2 per channel); MACs of conv and Linear only (no BN, pooling,
 * additions or Linear bias). `none`, `skip_connect` and `avg_pool_3x3` cost nothing in an NB201 cell.
 */
import { TorchnasError } from '../../core/errors';
import { pythonRound } from '../../core/stats';
import { Nb201Arch, checkNb201Arch } from './ops';

const CONV_1X1 = 2;
const CONV_3X3 = 3;

/** Options of {@link nb201Cost}; the defaults are the benchmark network on CIFAR-100. */
export interface Nb201CostOptions {
  /** Classifier classes K. Default 100 (the NCP table's Params/Flops are CIFAR-100's, ncp.md §6). */
  numClasses?: number;
  /** Stem channels C. Default 16. */
  channels?: number;
  /** Cells per stage N. Default 5. */
  cellsPerStage?: number;
  /** Input height = width. Default 32. Must be divisible by 4. */
  resolution?: number;
}

/** Exact parameter count and MACs of one network. */
export interface Nb201Cost {
  /** Trainable parameters. */
  params: number;
  /** Multiply-accumulates of one forward pass on one image. */
  macs: number;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TorchnasError(`nb201Cost: ${name} must be a positive integer, got ${value}`, 'INVALID_ARGUMENT');
  }
  return value;
}

/**
 * Parameters and MACs of TinyNetwork(C, N) with the given cell in every one of its 3N cells.
 * With the defaults the all-`none` cell gives 72,656 + 65·K parameters and 7,782,400 + 64·K MACs; each
 * `nor_conv_1x1` edge adds 28,000 parameters and 3,932,160 MACs, each `nor_conv_3x3` 243,040 and 35,389,440.
 * @throws TorchnasError INVALID_CODE for a bad architecture, INVALID_ARGUMENT for bad options.
 */
export function nb201Cost(ops: Nb201Arch, options: Nb201CostOptions = {}): Nb201Cost {
  const cell = checkNb201Arch(ops);
  const K = positiveInteger(options.numClasses ?? 100, 'numClasses');
  const C = positiveInteger(options.channels ?? 16, 'channels');
  const N = positiveInteger(options.cellsPerStage ?? 5, 'cellsPerStage');
  const R = positiveInteger(options.resolution ?? 32, 'resolution');
  if (R % 4 !== 0) throw new TorchnasError(`nb201Cost: resolution must be divisible by 4, got ${R}`, 'INVALID_ARGUMENT');
  const n1x1 = cell.filter((op) => op === CONV_1X1).length;
  const n3x3 = cell.filter((op) => op === CONV_3X3).length;

  // Stem: Conv(3→C, 3×3) + BN(C) at R×R.
  let params = 27 * C + 2 * C;
  let macs = 27 * C * R * R;
  for (let stage = 0; stage < 3; stage++) {
    const c = C << stage;
    const hw = (R >> stage) ** 2;
    if (stage > 0) {
      // ResNetBasicblock(c/2 → c, stride 2): conv_a 3×3 s2 + BN, conv_b 3×3 + BN, residual AvgPool + 1×1 conv.
      const cin = c / 2;
      params += 9 * cin * c + 2 * c + 9 * c * c + 2 * c + cin * c;
      macs += (9 * cin * c + 9 * c * c + cin * c) * hw;
    }
    // N cells; each ReLUConvBN edge = conv k×k (c→c) + BN(c).
    params += N * (n1x1 * (c * c + 2 * c) + n3x3 * (9 * c * c + 2 * c));
    macs += N * (n1x1 * c * c + n3x3 * 9 * c * c) * hw;
  }
  const last = 4 * C;
  params += 2 * last + last * K + K; // lastact BN + Linear(4C → K)
  macs += last * K;
  return { params, macs };
}

/** Cost in the NCP table's units: `Params` in millions to 3 decimals, `Flops` in MFLOPs (MACs) to 2 decimals. */
export interface Nb201TableCost {
  paramsM: number;
  flopsM: number;
}

/** {@link nb201Cost} rounded the way the NCP NB201 table stores it (Python round, ncp.md §6). */
export function nb201TableCost(ops: Nb201Arch, options: Nb201CostOptions = {}): Nb201TableCost {
  const { params, macs } = nb201Cost(ops, options);
  return { paramsM: pythonRound(params / 1e6, 3), flopsM: pythonRound(macs / 1e6, 2) };
}
