/**
 * DARTS (NASNet-like) cell space as TE-NAS uses it (tenas.md §1.4): the 8 ops, the 14 edges `'{i}<-{j}'`, the
 * genotype (two (op, input) pairs per intermediate node) and its per-edge form.
 */
import { TorchnasError, showValue } from '../../core/errors';

/** The 8 ops of `DARTS_SPACE`, in α column order (tenas.md §1.4). */
export const DARTS_OPS = [
  'none',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
  'avg_pool_3x3',
  'max_pool_3x3',
] as const;

/** One DARTS op name. */
export type DartsOp = (typeof DARTS_OPS)[number];

/** Intermediate nodes per cell. Node i (0-based) is state i+2; states 0 and 1 are the cell inputs. */
export const DARTS_STEPS = 4;
/** Inputs kept per intermediate node in a genotype. */
export const DARTS_INPUTS_PER_NODE = 2;

/** One (op, input state) pair of a genotype. */
export type DartsPair = readonly [DartsOp, number];

/** A DARTS genotype, the Python `Genotype(normal, normal_concat, reduce, reduce_concat)` namedtuple. */
export interface DartsGenotype {
  /** Normal cell: 8 pairs, two per node; pairs 2i and 2i+1 feed node i (state i+2). */
  readonly normal: readonly DartsPair[];
  /** States concatenated into the normal cell's output, e.g. [2, 3, 4, 5]. */
  readonly normalConcat: readonly number[];
  /** Reduction cell, same layout as `normal`. */
  readonly reduce: readonly DartsPair[];
  /** States concatenated into the reduction cell's output. */
  readonly reduceConcat: readonly number[];
}

/** Which cell of a genotype. */
export type DartsCellType = 'normal' | 'reduce';

/** One edge `i<-j`: into search node i (0..3) from state j (0..i+1). */
export interface DartsEdge {
  readonly key: string;
  readonly node: number;
  readonly from: number;
}

/** The 14 edges in the original's sorted-key order (`0<-0, 0<-1, 1<-0, …, 3<-4`; tenas.md §1.4). */
export const DARTS_EDGES: readonly DartsEdge[] = Object.freeze(
  Array.from({ length: DARTS_STEPS }, (_, node) =>
    Array.from({ length: node + 2 }, (_, from) => Object.freeze({ key: `${node}<-${from}`, node, from })),
  ).flat(),
);

/** Number of edges per cell (2+3+4+5). */
export const DARTS_NUM_EDGES = 14;

/**
 * TE-NAS's searched ImageNet genotype `TENAS_imagenet_110` (chenwydj/DARTS_evaluation `genotypes.py`,
 * tenas.md §1.4).
 */
export const TENAS_IMAGENET_GENOTYPE: DartsGenotype = deepFreeze({
  normal: [
    ['dil_conv_5x5', 0],
    ['sep_conv_5x5', 1],
    ['sep_conv_5x5', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_5x5', 0],
    ['skip_connect', 2],
    ['dil_conv_5x5', 1],
    ['dil_conv_5x5', 3],
  ],
  normalConcat: [2, 3, 4, 5],
  reduce: [
    ['dil_conv_5x5', 0],
    ['sep_conv_3x3', 1],
    ['dil_conv_3x3', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_5x5', 1],
    ['sep_conv_5x5', 3],
    ['skip_connect', 3],
    ['sep_conv_5x5', 4],
  ],
  reduceConcat: [2, 3, 4, 5],
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.values(value as object).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

const OPS: ReadonlySet<string> = new Set(DARTS_OPS);

/** Whether `name` is one of the 8 DARTS ops. */
export function isDartsOp(name: string): name is DartsOp {
  return OPS.has(name);
}

function invalid(problem: string): never {
  throw new TorchnasError(`invalid DARTS genotype: ${problem}`, 'INVALID_CODE');
}

/** Checks one cell's pairs; `where` is 'normal' or 'reduce'. Index loops: forEach would skip holes. */
function checkCell(pairs: readonly DartsPair[], where: DartsCellType): void {
  if (!Array.isArray(pairs)) invalid(`${where} must be a list of (op, input) pairs, got ${showValue(pairs)}`);
  const expected = DARTS_STEPS * DARTS_INPUTS_PER_NODE;
  if (pairs.length !== expected) {
    invalid(`${where} has ${pairs.length} (op, input) pairs, expected ${expected} (two inputs for each of ${DARTS_STEPS} nodes)`);
  }
  for (let p = 0; p < pairs.length; p++) {
    const pair: unknown = pairs[p];
    const node = Math.floor(p / DARTS_INPUTS_PER_NODE);
    const state = node + 2;
    if (!Array.isArray(pair) || pair.length !== 2) invalid(`${where}[${p}] must be an (op, input) pair, got ${showValue(pair)}`);
    const [op, input] = pair as unknown[];
    if (typeof op !== 'string' || !isDartsOp(op)) {
      invalid(`${where}[${p}] has unknown op ${showValue(op)}; expected one of ${DARTS_OPS.join(', ')}`);
    }
    if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input >= state) {
      invalid(`${where}[${p}] (node ${state}) takes input ${showValue(input)}; node ${state} can only take states 0..${state - 1}`);
    }
    if (p % 2 === 1 && pairs[p - 1][1] === input) {
      invalid(`${where} node ${state} takes input ${input} twice; its two inputs must differ`);
    }
  }
}

/** `[a, b, …]` as Python prints a list, cut after 16 items. */
function showList(items: readonly unknown[]): string {
  const shown = items.slice(0, 16).map((v) => showValue(v));
  return `[${shown.join(', ')}${items.length > 16 ? ', …' : ''}]`;
}

function checkConcat(concat: readonly number[], where: string): void {
  if (!Array.isArray(concat) || concat.length === 0) invalid(`${where} must be a non-empty list of states, got ${showValue(concat)}`);
  for (let k = 0; k < concat.length; k++) {
    const s: unknown = concat[k];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 2 || s >= DARTS_STEPS + 2) {
      invalid(`${where} contains ${showValue(s)}; only intermediate states 2..${DARTS_STEPS + 1} can be concatenated`);
    }
    if (k > 0 && s <= concat[k - 1]) invalid(`${where} must list distinct states in increasing order, got ${showList(concat)}`);
  }
}

/**
 * Checks a genotype against the TE-NAS DARTS space: each cell has 8 pairs, every op is one of DARTS_OPS,
 * node i (state i+2) takes two different inputs among states 0..i+1, and the concat lists are increasing
 * states in 2..5.
 * @throws TorchnasError INVALID_CODE naming the cell, pair and problem.
 */
export function checkDartsGenotype(genotype: DartsGenotype): void {
  if (genotype == null || typeof genotype !== 'object') invalid(`expected an object, got ${showValue(genotype)}`);
  checkCell(genotype.normal, 'normal');
  checkConcat(genotype.normalConcat, 'normal_concat');
  checkCell(genotype.reduce, 'reduce');
  checkConcat(genotype.reduceConcat, 'reduce_concat');
}

/**
 * One cell of a genotype as a per-edge op choice: 14 entries in DARTS_EDGES order, the op on edges the
 * genotype keeps and null on the others (pruned edges).
 * @throws TorchnasError INVALID_CODE when the genotype is invalid.
 */
export function dartsCellToEdgeOps(genotype: DartsGenotype, cell: DartsCellType): (DartsOp | null)[] {
  checkDartsGenotype(genotype);
  if (cell !== 'normal' && cell !== 'reduce') {
    throw new TorchnasError(`no DARTS cell ${showValue(cell)}: expected 'normal' or 'reduce'`, 'INVALID_ARGUMENT');
  }
  const ops = new Array<DartsOp | null>(DARTS_NUM_EDGES).fill(null);
  genotype[cell].forEach(([op, input], p) => {
    const node = Math.floor(p / DARTS_INPUTS_PER_NODE);
    ops[dartsEdgeIndex(node, input)] = op;
  });
  return ops;
}

/** Position of edge `node<-from` in DARTS_EDGES. */
export function dartsEdgeIndex(node: number, from: number): number {
  if (!Number.isInteger(node) || node < 0 || node >= DARTS_STEPS || !Number.isInteger(from) || from < 0 || from > node + 1) {
    throw new TorchnasError(`no DARTS edge ${showValue(node)}<-${showValue(from)}: node must be 0..${DARTS_STEPS - 1} and source 0..node+1`, 'INVALID_ARGUMENT');
  }
  return (node * (node + 3)) / 2 + from;
}

/**
 * The genotype pairs of one cell from a per-edge op choice (null = no edge). Each node must have exactly two
 * edges; the pairs of a node are written in increasing input order (the original orders them by edge strength,
 * which a per-edge choice does not record).
 * @throws TorchnasError INVALID_CODE when the length is not 14, an op is unknown or a node has ≠ 2 edges.
 */
export function dartsEdgeOpsToCell(edgeOps: readonly (string | null)[]): DartsPair[] {
  if (!Array.isArray(edgeOps) || edgeOps.length !== DARTS_NUM_EDGES) {
    invalid(`a per-edge op choice needs ${DARTS_NUM_EDGES} entries (edges ${DARTS_EDGES.map((e) => e.key).join(', ')}), got ${Array.isArray(edgeOps) ? edgeOps.length : showValue(edgeOps)}`);
  }
  const pairs: DartsPair[] = [];
  for (let node = 0; node < DARTS_STEPS; node++) {
    const kept: DartsPair[] = [];
    for (let from = 0; from <= node + 1; from++) {
      const op: unknown = edgeOps[dartsEdgeIndex(node, from)];
      if (op === null) continue;
      if (typeof op !== 'string' || !isDartsOp(op)) invalid(`edge ${node}<-${from} has unknown op ${showValue(op)}; expected one of ${DARTS_OPS.join(', ')}`);
      kept.push([op, from]);
    }
    if (kept.length !== DARTS_INPUTS_PER_NODE) {
      invalid(`node ${node + 2} has ${kept.length} incoming edges in the per-edge choice, expected ${DARTS_INPUTS_PER_NODE}`);
    }
    pairs.push(...kept);
  }
  return pairs;
}
