/**
 * DenseNAS cost lists (densenas.md §5.2): the positional layout of the original's `lat_list` files and
 * FLOPs lists, fitted to a space, and the chained (expected) cost of §3.5 computed from plain numbers.
 */
import { PythonLiteral, formatPythonLiteral, parsePythonLiteral } from '../../config/python-literal';
import { TorchnasError, TorchnasErrorCode } from '../../core/errors';
import { DenseArchParameters, checkArchParameters, softmax } from './arch';
import type { DenseSpace } from './space';

/** One cost per candidate op, positionally as §5.2 (ms per batch for a LUT, MMAdds for a FLOPs list). */
export interface DenseCostList {
  /** Stem (MBV2: with the head_block). */
  stem: number;
  /** blocks[j−1] for routing block j: head[h][k] per head branch (predecessors nearest first) and P_head op; stack[l][k] per stack layer and P_stack op. */
  blocks: { head: number[][]; stack: number[][] }[];
  /** One per conv1_1 branch, nearest predecessor first. */
  conv1x1: number[];
  classifier: number;
}

export interface PositionalOptions {
  /** Names the list in messages (e.g. its file). */
  source?: string;
  /** Error code of a mismatch (default INVALID_ARGUMENT; FILE_CORRUPT for files). */
  code?: TorchnasErrorCode;
}

/**
 * Fits a positional value `[stem, [[head, stack] per routing block], [conv1_1...], classifier]` to `space`.
 * Surplus stack-layer entries are ignored, as the original does (its shipped MBV2 LUT has 3 stack layers
 * for blocks whose YAML has 0); anything missing, and any other surplus, is refused.
 * @throws TorchnasError (`options.code`) naming the block, branch or layer.
 */
export function costListFromPositional(value: unknown, space: DenseSpace, options: PositionalOptions = {}): DenseCostList {
  const source = options.source ?? 'cost list';
  const code = options.code ?? 'INVALID_ARGUMENT';
  const fail = (where: string, problem: string): never => {
    throw new TorchnasError(`${source}: ${where}: ${problem}`, code);
  };
  const num = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `expected a finite number, got ${Array.isArray(v) ? 'a list' : String(v)}`);
    return v as number;
  };
  const list = (v: unknown, where: string): unknown[] => {
    if (!Array.isArray(v)) fail(where, `expected a list, got ${String(v)}`);
    return v as unknown[];
  };
  const row = (v: unknown, length: number, where: string, what: string): number[] => {
    const r = list(v, where);
    if (r.length !== length) fail(where, `expected ${length} entries (one per ${what} op), got ${r.length}`);
    return r.map((x, k) => num(x, `${where}, op ${k}`));
  };

  const top = list(value, 'top level');
  if (top.length !== 4) fail('top level', `expected [stem, blocks, conv1_1, classifier] (4 entries), got ${top.length}`);
  const N = space.blocks.length - 1;
  const blocksIn = list(top[1], 'blocks');
  if (blocksIn.length < N - 1) fail('blocks', `expected ${N - 1} routing blocks (1..${N - 1}), got ${blocksIn.length}: block ${blocksIn.length + 1} is missing`);
  if (blocksIn.length > N - 1) fail('blocks', `expected ${N - 1} routing blocks (1..${N - 1}), got ${blocksIn.length}`);
  const blocks = space.blocks.slice(1, -1).map((block, b) => {
    const where = `block ${block.index}`;
    const pair = list(blocksIn[b], where);
    if (pair.length !== 2) fail(where, `expected [head, stack] (2 entries), got ${pair.length}`);
    const headIn = list(pair[0], `${where} head`);
    if (headIn.length !== block.predecessors.length) {
      fail(`${where} head`, `expected ${block.predecessors.length} branches (from blocks ${block.predecessors.map((p) => p.from).join(', ')}), got ${headIn.length}`);
    }
    const head = block.predecessors.map((p, h) => row(headIn[h], space.headOps.length, `${where} head branch ${h} (from block ${p.from})`, 'P_head'));
    const stackIn = list(pair[1], `${where} stack`);
    if (stackIn.length < block.numLayers) fail(`${where} stack`, `expected ${block.numLayers} stack layers, got ${stackIn.length}: layer ${stackIn.length} is missing`);
    const stack = stackIn.slice(0, block.numLayers).map((r, l) => row(r, space.stackOps.length, `${where} stack layer ${l}`, 'P_stack'));
    return { head, stack };
  });
  const last = space.blocks[N];
  const conv = list(top[2], 'conv1_1');
  if (conv.length !== last.predecessors.length) {
    fail('conv1_1', `expected ${last.predecessors.length} branches (from blocks ${last.predecessors.map((p) => p.from).join(', ')}), got ${conv.length}`);
  }
  return {
    stem: num(top[0], 'stem'),
    blocks,
    conv1x1: conv.map((v, h) => num(v, `conv1_1 branch ${h}`)),
    classifier: num(top[3], 'classifier'),
  };
}

/** The positional nested-list form of a cost list (what `lat_list` files hold). */
export function costListToPositional(costs: DenseCostList): PythonLiteral {
  return [costs.stem, costs.blocks.map((b) => [b.head, b.stack]), costs.conv1x1, costs.classifier];
}

/** Checks a cost-list object has the space's shape (by converting it through the positional form). */
export function checkCostList(space: DenseSpace, costs: DenseCostList): void {
  if (typeof costs !== 'object' || costs === null || !Array.isArray(costs.blocks)) {
    throw new TorchnasError('a cost list must be an object { stem, blocks, conv1x1, classifier }', 'INVALID_ARGUMENT');
  }
  const fitted = costListFromPositional(costListToPositional(costs), space);
  costs.blocks.forEach((b, i) => {
    if (b.stack.length !== fitted.blocks[i].stack.length) {
      throw new TorchnasError(`cost list: block ${i + 1} stack: expected ${fitted.blocks[i].stack.length} stack layers, got ${b.stack.length}`, 'INVALID_ARGUMENT');
    }
  });
}

/** Parses `lat_list` text (one Python literal, §5.2) and fits it to `space`. @throws TorchnasError FILE_CORRUPT. */
export function parseLatList(text: string, space: DenseSpace, source = 'lat_list'): DenseCostList {
  const value = parsePythonLiteral(text.split('\n')[0], { source, code: 'FILE_CORRUPT', maxDepth: 8 });
  return costListFromPositional(value, space, { source, code: 'FILE_CORRUPT' });
}

/** `lat_list` text: Python's `str()` of the nested list of floats, one line, no trailing newline (§5.2). */
export function formatLatList(costs: DenseCostList): string {
  return formatPythonLiteral(costListToPositional(costs), true);
}

/** Sum of every entry (the original logs it as the total cost of all candidate ops). */
export function costListSum(costs: DenseCostList): number {
  let sum = costs.stem + costs.classifier;
  for (const b of costs.blocks) for (const r of [...b.head, ...b.stack]) for (const v of r) sum += v;
  for (const v of costs.conv1x1) sum += v;
  return sum;
}

/** Options of {@link chainedCost}. */
export interface ChainedCostOptions {
  /** T: alphas (over the sampled subset) and betas are divided by it before softmax (§3.3); default 1. */
  temperature?: number;
  /** Sampled op indices S per head row: headIndices[j−1][h] (ascending); default all ops. */
  headIndices?: number[][][];
  /** Sampled op indices S per stack row: stackIndices[j−1][l]; default all ops. */
  stackIndices?: number[][][];
}

/**
 * The chained cost estimate of §3.5: cost = c_stem + E(0) + c_classifier with
 * E(i) = Σ_{j∈succ(i)} softmax(β_i/T)[pos(j)]·(H(i→j) + S(j) + E(j)), E(N) = 0, the expected cost of a path
 * drawn as a Markov chain from block 0 with every mixed op weighted by softmax(α[S]/T).
 * @throws TorchnasError INVALID_ARGUMENT for parameters, cost lists or index sets of the wrong shape.
 */
export function chainedCost(space: DenseSpace, costs: DenseCostList, arch: DenseArchParameters, options: ChainedCostOptions = {}): number {
  checkArchParameters(space, arch);
  checkCostList(space, costs);
  const T = options.temperature ?? 1;
  const mixed = (alpha: number[], cost: number[], indices: number[] | undefined, where: string): number => {
    const S = indices ?? alpha.map((_, k) => k);
    if (S.length === 0 || S.some((k, n) => !Number.isInteger(k) || k < 0 || k >= alpha.length || (n > 0 && k <= S[n - 1]))) {
      throw new TorchnasError(`${where}: sampled indices must be distinct ascending integers in 0..${alpha.length - 1}, got [${S.join(', ')}]`, 'INVALID_ARGUMENT');
    }
    const w = softmax(
      S.map((k) => alpha[k]),
      T,
    );
    return S.reduce((sum, k, n) => sum + w[n] * cost[k], 0);
  };
  const N = space.blocks.length - 1;
  // H(i→j) per routing block j and head branch h; S(j) per routing block.
  const head: number[][] = [];
  const stack: number[] = [0];
  for (let j = 1; j < N; j++) {
    const b = costs.blocks[j - 1];
    head[j] = b.head.map((c, h) => mixed(arch.alphaHead[j - 1][h], c, options.headIndices?.[j - 1]?.[h], `headIndices[${j - 1}][${h}]`));
    stack[j] = b.stack.reduce((s, c, l) => s + mixed(arch.alphaStack[j - 1][l], c, options.stackIndices?.[j - 1]?.[l], `stackIndices[${j - 1}][${l}]`), 0);
  }
  head[N] = [...costs.conv1x1];
  stack[N] = 0;
  const E = new Array<number>(N + 1).fill(0);
  for (let i = N - 1; i >= 0; i--) {
    const P = softmax(arch.betas[i], T);
    E[i] = space.blocks[i].successors.reduce((sum, j, pos) => {
      const h = space.blocks[j].predecessors.findIndex((p) => p.from === i);
      return sum + P[pos] * (head[j][h] + stack[j] + E[j]);
    }, 0);
  }
  return costs.stem + E[0] + costs.classifier;
}
