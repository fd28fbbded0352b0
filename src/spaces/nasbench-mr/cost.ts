/**
 * Closed-form FLOPs and parameters of a MultiResolutionNet (ncp.md §3, §3.5, §4) without building it.
 * Counting follows the 2020-era thop rules that reproduce the stored tables: conv = out·cin·k²
 * (+out when it has a bias, only the classifier), BatchNorm = 2·elements, everything else 0.
 */
import { TorchnasError } from '../../core/errors';
import type { NetworkSetting } from './codec';

/** Options of {@link networkCost}. */
export interface CostOptions {
  /** 'cls' resizes every branch to the lowest resolution; 'seg' to the highest (§3.3). */
  head?: 'cls' | 'seg';
  /** K, the classifier's outputs. */
  numClasses?: number;
  /** Input height and width (one number for a square input). */
  inputSize?: number | [number, number];
}

/** The table convention (§4): classification head, 50 classes, 128×128; stored flops/params use it for every task. */
export const TABLE_COST_OPTIONS: Readonly<Required<CostOptions>> = Object.freeze({ head: 'cls', numClasses: 50, inputSize: 128 });

/** What `tools/ncp.py`'s net2flops logs (§4, §5.4 step 7): the model defaults, seg head with 19 classes, at 128×128. */
export const NCP_LOG_COST_OPTIONS: Readonly<Required<CostOptions>> = Object.freeze({ head: 'seg', numClasses: 19, inputSize: 128 });

/** Counts of one network; `flops`/`params` are scaled like the table fields. */
export interface NetworkCost {
  /** Operations counted by the thop rules (multiply-accumulates plus BN and bias terms). */
  flopsCount: number;
  /** Trainable parameters (BN running statistics excluded). */
  paramCount: number;
  /** flopsCount / 1e9, comparable with a table's `flops` (G). */
  flops: number;
  /** paramCount / 1e6, comparable with a table's `params` (M). */
  params: number;
}

interface Size {
  h: number;
  w: number;
}

// Output size of a k×k convolution with padding (k−1)/2: ⌊(n + 2p − k)/stride⌋ + 1.
const convOut = (s: Size, k: number, stride: number): Size => {
  const pad = (k - 1) >> 1;
  return { h: Math.floor((s.h + 2 * pad - k) / stride) + 1, w: Math.floor((s.w + 2 * pad - k) / stride) + 1 };
};

/**
 * FLOPs and parameters of the network a setting describes, in closed form (exact: integer counts
 * below 2^53). Defaults to {@link TABLE_COST_OPTIONS}.
 * @throws TorchnasError INVALID_CODE when the setting is not a buildable network (branch counts that
 *   do not grow by 0 or 1 per module, mismatched list lengths, non-positive channels);
 *   INVALID_ARGUMENT for bad options.
 */
export function networkCost(setting: NetworkSetting, options: CostOptions = {}): NetworkCost {
  const head = options.head ?? TABLE_COST_OPTIONS.head;
  const numClasses = options.numClasses ?? TABLE_COST_OPTIONS.numClasses;
  const inputSize = options.inputSize ?? TABLE_COST_OPTIONS.inputSize;
  const input = parseInputSize(inputSize);
  if (head !== 'cls' && head !== 'seg') throw new TorchnasError(`head must be 'cls' or 'seg', got ${String(head)}`, 'INVALID_ARGUMENT');
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) {
    throw new TorchnasError(`numClasses must be a positive integer, got ${numClasses}`, 'INVALID_ARGUMENT');
  }
  checkBuildable(setting);

  let ops = 0;
  let params = 0;
  // ConvBNReLU (no bias) producing `out`: conv out·cin·k² plus BN 2·out elements; params k²·cin·cout + 2·cout.
  const convBn = (cin: number, cout: number, k: number, out: Size): void => {
    const elems = out.h * out.w * cout;
    ops += elems * cin * k * k + 2 * elems;
    params += k * k * cin * cout + 2 * cout;
  };

  const [c0, c1] = setting.inputChannel;
  const stem1 = convOut(input, 3, 2);
  convBn(3, c0, 3, stem1);
  const stem2 = convOut(stem1, 3, 2);
  convBn(c0, c1, 3, stem2);

  // Branch i sits at the stem size halved i times (each new branch is a stride-2 conv of the one above).
  const sizes: Size[] = [stem2];
  const sizeOf = (i: number): Size => {
    while (sizes.length <= i) sizes.push(convOut(sizes[sizes.length - 1], 3, 2));
    return sizes[i];
  };

  let inc = [c1];
  for (const [nb, blocks, outc] of setting.networkSetting) {
    const nin = inc.length;
    // Fuse (§3.2): row i sums paths from neighbours j = i−1 (3×3 stride 2), i (3×3, always present), i+1 (1×1 then upsample).
    for (let i = 0; i < nin; i++) {
      if (i - 1 >= 0) convBn(inc[i - 1], outc[i], 3, sizeOf(i));
      convBn(inc[i], outc[i], 3, sizeOf(i));
      if (i + 1 < nin) convBn(inc[i + 1], outc[i], 1, sizeOf(i + 1));
    }
    // New branch at a stage transition, from the fused row above it.
    if (nb > nin) convBn(outc[nin - 1], outc[nin], 3, sizeOf(nin));
    // Parallel: BasicBlock(C) = two 3×3 ConvBN (the ReLUs and the add count 0).
    for (let i = 0; i < nb; i++) {
      for (let b = 0; b < blocks[i]; b++) {
        convBn(outc[i], outc[i], 3, sizeOf(i));
        convBn(outc[i], outc[i], 3, sizeOf(i));
      }
    }
    inc = outc;
  }

  // Head (§3.3): resize all branches to one size, concatenate, 1×1 ConvBNReLU to L, classifier 1×1 with bias.
  const L = setting.lastChannel;
  const concat = inc.reduce((a, b) => a + b, 0);
  const K = numClasses;
  const headSize = head === 'cls' ? sizeOf(inc.length - 1) : sizeOf(0);
  convBn(concat, L, 1, headSize);
  // cls: global average pool first, so the classifier runs at 1×1; seg: at the highest resolution.
  const classifierPixels = head === 'cls' ? 1 : headSize.h * headSize.w;
  ops += classifierPixels * K * (L + 1);
  params += L * K + K;

  return { flopsCount: ops, paramCount: params, flops: ops / 1e9, params: params / 1e6 };
}

function parseInputSize(inputSize: number | [number, number]): Size {
  const [h, w] = typeof inputSize === 'number' ? [inputSize, inputSize] : inputSize;
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 1 || w < 1) {
    throw new TorchnasError(`inputSize must be positive integers, got ${JSON.stringify(inputSize)}`, 'INVALID_ARGUMENT');
  }
  return { h, w };
}

/** The network builds for any positive channels (§2.2), but branch counts must follow the fuse rules (§3.2). */
function checkBuildable(setting: NetworkSetting): void {
  const bad = (what: string): never => {
    throw new TorchnasError(`network setting cannot be built: ${what}`, 'INVALID_CODE');
  };
  const positive = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  const { inputChannel, networkSetting, lastChannel } = setting;
  if (!Array.isArray(inputChannel) || inputChannel.length !== 2 || !inputChannel.every(positive)) {
    bad('inputChannel must be 2 positive integers');
  }
  if (!positive(lastChannel)) bad(`lastChannel ${String(lastChannel)} is not a positive integer`);
  if (!Array.isArray(networkSetting) || networkSetting.length === 0) bad('networkSetting has no modules');
  let nin = 1;
  networkSetting.forEach((entry, k) => {
    const [nb, blocks, channels] = entry;
    if (!positive(nb) || (nb !== nin && nb !== nin + 1)) {
      bad(`networkSetting[${k}] has ${String(nb)} branches after ${nin}; a module keeps or adds one branch`);
    }
    if (!Array.isArray(blocks) || blocks.length !== nb || !blocks.every((b) => Number.isSafeInteger(b) && b >= 0)) {
      bad(`networkSetting[${k}] blocks ${JSON.stringify(blocks)} are not ${nb} non-negative integers`);
    }
    if (!Array.isArray(channels) || channels.length !== nb || !channels.every(positive)) {
      bad(`networkSetting[${k}] channels ${JSON.stringify(channels)} are not ${nb} positive integers`);
    }
    nin = nb;
  });
}
