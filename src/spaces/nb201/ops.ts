/**
 * NAS-Bench-201 cell vocabulary: op names, edges and the op-index representation of an architecture
 * (tenas.md §1.1).
 */
import { TorchnasError, showValue } from '../../core/errors';

/** The five NB201 ops in the original order (the column order of α; tenas.md §1.1). */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;

/** One NB201 op name. */
export type Nb201Op = (typeof NB201_OPS)[number];

/** One edge `to<-from` of the NB201 cell. */
export interface Nb201Edge {
  /** The key as the original writes it, e.g. `'2<-1'`. */
  readonly key: string;
  /** Destination node (1..3). */
  readonly to: number;
  /** Source node (0..to−1). */
  readonly from: number;
}

/** The six edges in `edge2index` order = the rows of α (tenas.md §1.1). */
export const NB201_EDGES: readonly Nb201Edge[] = Object.freeze(
  [
    [1, 0],
    [2, 0],
    [2, 1],
    [3, 0],
    [3, 1],
    [3, 2],
  ].map(([to, from]) => Object.freeze({ key: `${to}<-${from}`, to, from })),
);

/** Number of edges of the cell. */
export const NB201_NUM_EDGES = 6;
/** Number of candidate ops per edge. */
export const NB201_NUM_OPS = 5;
/** Number of architectures, 5^6. */
export const NB201_NUM_ARCHS = 15625;
/** Number of intermediate nodes plus output (nodes 1, 2, 3): the '+'-separated groups of the arch string. */
export const NB201_NUM_NODES = 3;

/**
 * The op order inside each 5-slot block of the NCP table's 30-number embedding (tenas.md §1.5, ncp.md §6).
 * This is NOT {@link NB201_OPS}' order.
 */
export const NB201_TABLE_OP_ORDER = ['avg_pool_3x3', 'none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3'] as const;

/**
 * An NB201 architecture as 6 op indices into {@link NB201_OPS}, one per edge in {@link NB201_EDGES} order.
 * Index 0 (`none`) removes the edge.
 */
export type Nb201Arch = readonly number[];

const OP_INDEX: ReadonlyMap<string, number> = new Map(NB201_OPS.map((op, i) => [op, i]));

/** Index of an op name in {@link NB201_OPS}, or -1 when it is not an NB201 op. */
export function nb201OpIndex(name: string): number {
  return OP_INDEX.get(name) ?? -1;
}

/**
 * Checks that `ops` is a valid architecture (6 integers in 0..4) and returns it as a plain array.
 * @throws TorchnasError INVALID_CODE naming the first problem.
 */
export function checkNb201Arch(ops: ArrayLike<number>): number[] {
  if (!Array.isArray(ops) && !ArrayBuffer.isView(ops)) {
    throw new TorchnasError(`invalid NB201 architecture: expected ${NB201_NUM_EDGES} op indices, got ${showValue(ops)}`, 'INVALID_CODE');
  }
  if (ops.length !== NB201_NUM_EDGES) {
    throw new TorchnasError(`invalid NB201 architecture: expected ${NB201_NUM_EDGES} op indices (one per edge), got ${ops.length}`, 'INVALID_CODE');
  }
  const out = Array.from(ops as ArrayLike<unknown>) as number[];
  out.forEach((v, e) => {
    if (!Number.isInteger(v) || v < 0 || v >= NB201_NUM_OPS) {
      throw new TorchnasError(
        `invalid NB201 architecture: op index on edge ${NB201_EDGES[e].key} must be an integer in 0..${NB201_NUM_OPS - 1}, got ${showValue(v)}`,
        'INVALID_CODE',
      );
    }
  });
  return out;
}

/** Op names of an architecture, edge by edge. */
export function nb201OpNames(ops: Nb201Arch): Nb201Op[] {
  return checkNb201Arch(ops).map((i) => NB201_OPS[i]);
}
