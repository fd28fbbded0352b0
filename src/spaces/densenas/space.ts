/**
 * The DenseNAS densely connected space (densenas.md §1.2–§1.3): blocks 0..N (0 = stem output, 1..N−1 =
 * routing blocks, N = the conv1_1 block) and their connectivity, derived from a config exactly as the
 * original does: the successor scan stops at the first failing block; predecessors are nearest first.
 */
import { validateConfig } from '../../config/load';
import { TorchnasError } from '../../core/errors';
import { DenseNasConfig, denseNasConfigSchema } from './config-schema';
import { convOutSize, parseDenseOp } from './ops';

export interface DenseBlock {
  /** 0..N; block N is the conv1_1 block. */
  index: number;
  /** chs[i]; block N: last_dim. */
  channels: number;
  /** The connectivity group (`net_scale.stage`), not a resolution. */
  stage: number;
  /** Actual spatial size of this block's output for the configured input (stem stride, then each edge stride, ceil for odd sizes). */
  fmSize: number;
  /** Stack layers (blocks 0 and N: 0). */
  numLayers: number;
  /** Nearest first (§1.3): this order is the head-branch order, alpha_head row order and LUT order. Block 0: []. */
  predecessors: { from: number; stride: number }[];
  /** Ascending (= beta order of this block); block N: []. */
  successors: number[];
}

export interface DenseSpace {
  netType: 'mbv2' | 'res';
  inChannels: number;
  inputSize: number;
  numClasses: number;
  stemStride: number;
  initDim: number;
  headDim: number;
  lastDim: number;
  /** null = PyTorch defaults (the ResNet super net, §1.2). */
  bn: { momentum: number; eps: number } | null;
  /** P_head in config order. */
  headOps: string[];
  /** P_stack in config order. */
  stackOps: string[];
  /** Length N+1. */
  blocks: DenseBlock[];
}

const invalid = (message: string): never => {
  throw new TorchnasError(message, 'CONFIG_INVALID');
};

/**
 * Builds the space of a (merged) DenseNAS config and checks what the original leaves to crash later:
 * coupled list lengths, init/head widths, stage ids covered by adjoin_connect_nums, known ops, every block
 * reachable and continuing, stride-1 edges where an op cannot change the size.
 * @throws TorchnasError CONFIG_INVALID naming the key and what is wrong.
 */
export function buildDenseSpace(input: DenseNasConfig): DenseSpace {
  // Configs built in code get the loader's type checks too (CONFIG_INVALID naming the key).
  const config = validateConfig(denseNasConfigSchema, input, 'DenseNAS config');
  const sp = config.search_params;
  const { chs, fm_sizes: fm, stage, num_layers: layers } = sp.net_scale;
  const N = chs.length;
  const key = (k: string) => `search_params.net_scale.${k}`;

  if (N < 2) invalid(`${key('chs')}: expected at least 2 entries (block 0 and one routing block), got ${N}`);
  if (fm.length !== N) invalid(`${key('fm_sizes')}: expected ${N} entries (one per block 0..${N - 1}, as ${key('chs')}), got ${fm.length}`);
  if (layers.length !== N) invalid(`${key('num_layers')}: expected ${N} entries (one per block 0..${N - 1}, as ${key('chs')}), got ${layers.length}`);
  if (stage.length !== N + 1) invalid(`${key('stage')}: expected ${N + 1} entries (len(chs)+1: blocks 0..${N}, the last for the conv1_1 block), got ${stage.length}`);
  const maxSourceStage = Math.max(...stage.slice(0, N));
  if (sp.adjoin_connect_nums.length <= maxSourceStage) {
    invalid(
      `search_params.adjoin_connect_nums: expected at least ${maxSourceStage + 1} entries (indexed by the stage id of a source block; the largest is ${maxSourceStage}), got ${sp.adjoin_connect_nums.length}`,
    );
  }
  if (config.optim.init_dim !== chs[0]) invalid(`optim.init_dim: must equal ${key('chs')}[0] = ${chs[0]}, got ${config.optim.init_dim}`);
  if (config.net_type === 'mbv2' && config.optim.head_dim !== chs[0]) {
    invalid(`optim.head_dim: must equal ${key('chs')}[0] = ${chs[0]} (the head_block's output is block 0), got ${config.optim.head_dim}`);
  }
  for (const [name, ops] of [['PRIMITIVES_head', sp.PRIMITIVES_head], ['PRIMITIVES_stack', sp.PRIMITIVES_stack]] as const) {
    ops.forEach((op, k) => {
      const parsed = parseDenseOp(op);
      if (typeof parsed === 'string') invalid(`search_params.${name}[${k}]: ${parsed}`);
    });
  }
  const [inChannels, height, width] = config.data.input_size;
  if (height !== width) invalid(`data.input_size: DenseNAS spaces take square inputs, got H=${height}, W=${width}`);

  // Block N shares the last fm entry and has no stack layers (§1.2).
  const fmAll = [...fm, fm[N - 1]];
  const successors: number[][] = [];
  const strides: number[][] = [];
  for (let i = 0; i < N; i++) {
    const succ: number[] = [];
    const str: number[] = [];
    for (let k = 0; k < sp.adjoin_connect_nums[stage[i]]; k++) {
      const j = i + k + 1;
      if (j > N || stage[j] - stage[i] > 1) break;
      const ratio = fmAll[i] / fmAll[j];
      if (ratio !== 1 && ratio !== 2) break;
      succ.push(j);
      str.push(ratio);
    }
    if (succ.length === 0) {
      invalid(
        `block ${i} has no successor: block ${i + 1} fails the scan (stage ${stage[i]}→${stage[i + 1]}, fm ${fmAll[i]}→${fmAll[i + 1]}, adjoin_connect_nums[${stage[i]}] = ${sp.adjoin_connect_nums[stage[i]]}); check ${key('fm_sizes')} (ratios must be 1 or 2), ${key('stage')} and search_params.adjoin_connect_nums`,
      );
    }
    successors.push(succ);
    strides.push(str);
  }
  const predecessors: { from: number; stride: number }[][] = Array.from({ length: N + 1 }, () => []);
  for (let j = 1; j <= N; j++) {
    for (let i = j - 1; i >= 0; i--) {
      const pos = successors[i].indexOf(j);
      if (pos >= 0) predecessors[j].push({ from: i, stride: strides[i][pos] });
    }
    if (predecessors[j].length === 0) {
      invalid(`block ${j} has no predecessor (no block lists it as a successor); check ${key('fm_sizes')}, ${key('stage')} and search_params.adjoin_connect_nums`);
    }
  }
  if (predecessors[N].some((p) => p.stride !== 1)) {
    invalid(`${key('fm_sizes')}: the conv1_1 block's inputs must all have its size (its 1×1 convs have stride 1); block ${predecessors[N].find((p) => p.stride !== 1)!.from} is twice as large`);
  }
  if (sp.PRIMITIVES_head.includes('skip_connect') && predecessors.some((ps) => ps.some((p) => p.stride !== 1))) {
    invalid("search_params.PRIMITIVES_head: 'skip_connect' ignores its stride (§2), so it cannot be a head op of a space with stride-2 edges");
  }

  const fmSize: number[] = [convOutSize(height, 3, config.stem_stride)];
  for (let j = 1; j <= N; j++) {
    const sizes = predecessors[j].map((p) => convOutSize(fmSize[p.from], 3, p.stride));
    if (sizes.some((s) => s !== sizes[0])) {
      invalid(`${key('fm_sizes')}: the inputs of block ${j} would have different sizes (${sizes.join(', ')}) at input size ${height}`);
    }
    fmSize.push(sizes[0]);
  }

  const blocks: DenseBlock[] = [];
  for (let i = 0; i <= N; i++) {
    blocks.push({
      index: i,
      channels: i < N ? chs[i] : config.optim.last_dim,
      stage: stage[i],
      fmSize: fmSize[i],
      numLayers: i === 0 || i === N ? 0 : layers[i],
      predecessors: predecessors[i],
      successors: i < N ? successors[i] : [],
    });
  }
  return {
    netType: config.net_type,
    inChannels,
    inputSize: height,
    numClasses: config.num_classes,
    stemStride: config.stem_stride,
    initDim: config.optim.init_dim,
    headDim: config.optim.head_dim,
    lastDim: config.optim.last_dim,
    bn: config.net_type === 'mbv2' ? { momentum: config.optim.bn_momentum, eps: config.optim.bn_eps } : null,
    headOps: [...sp.PRIMITIVES_head],
    stackOps: [...sp.PRIMITIVES_stack],
    blocks,
  };
}

/** N, the index of the conv1_1 block. */
export const lastBlockIndex = (space: DenseSpace): number => space.blocks.length - 1;

/** The position of `to` among the successors of `from` (its beta index), or −1. */
export function successorPosition(space: DenseSpace, from: number, to: number): number {
  return space.blocks[from]?.successors.indexOf(to) ?? -1;
}
