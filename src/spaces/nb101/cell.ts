/**
 * The NAS-Bench-101 cell (module) as NAR's files store it (nar.md §1.1): a pruned DAG of V ≤ 7 vertices given by an
 * upper-triangular 0/1 adjacency matrix and one op name per vertex, vertex 0 the input, V−1 the output.
 */
import { TorchnasError, showValue } from '../../core/errors';

/** The op names of NB101 vertices. */
export const NB101_INPUT = 'input';
export const NB101_OUTPUT = 'output';
export const NB101_CONV_1X1 = 'conv1x1-bn-relu';
export const NB101_CONV_3X3 = 'conv3x3-bn-relu';
export const NB101_MAXPOOL_3X3 = 'maxpool3x3';

/** Ops an interior vertex may have. */
export const NB101_INTERIOR_OPS = [NB101_CONV_1X1, NB101_CONV_3X3, NB101_MAXPOOL_3X3] as const;

/** One NB101 vertex op name. */
export type Nb101Op = typeof NB101_INPUT | typeof NB101_OUTPUT | (typeof NB101_INTERIOR_OPS)[number];

/** Most vertices of an NB101 cell. */
export const NB101_MAX_VERTICES = 7;
/** Most edges of an NB101 cell. */
export const NB101_MAX_EDGES = 9;

/** A cell: adjacency [from][to] (0/1, upper-triangular) and one op per vertex. */
export interface Nb101Cell {
  matrix: number[][];
  ops: Nb101Op[];
}

const INTERIOR: ReadonlySet<string> = new Set(NB101_INTERIOR_OPS);

/**
 * Checks a cell's shape and values: 2..7 vertices, a square 0/1 matrix with nothing on or below the diagonal, ops
 * `input` … interior ops … `output`. (Pruning — every vertex on an input→output path — is not required.)
 * @throws TorchnasError INVALID_CODE naming the entry that is wrong.
 */
export function checkNb101Cell(matrix: unknown, ops: unknown): Nb101Cell {
  const fail = (what: string): never => {
    throw new TorchnasError(`invalid NB101 cell: ${what}`, 'INVALID_CODE');
  };
  if (!Array.isArray(matrix)) return fail(`the adjacency matrix must be a list of rows, got ${showValue(matrix)}`);
  const v = matrix.length;
  if (v < 2 || v > NB101_MAX_VERTICES) fail(`expected 2..${NB101_MAX_VERTICES} vertices, the matrix has ${v} rows`);
  const rows = matrix.map((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== v) fail(`row ${i} of the adjacency matrix must have ${v} entries, got ${showValue(row)}`);
    return (row as unknown[]).map((x, j) => {
      if (x !== 0 && x !== 1) fail(`adjacency [${i}][${j}] is ${showValue(x)}, expected 0 or 1`);
      if (x === 1 && j <= i) fail(`adjacency [${i}][${j}] is 1: edges must go from a lower to a higher vertex (upper triangle)`);
      return x as number;
    });
  });
  if (!Array.isArray(ops) || ops.length !== v) fail(`expected ${v} op names (one per vertex), got ${showValue(ops)}`);
  (ops as unknown[]).forEach((op, i) => {
    const expected = i === 0 ? NB101_INPUT : i === v - 1 ? NB101_OUTPUT : undefined;
    if (expected !== undefined ? op !== expected : typeof op !== 'string' || !INTERIOR.has(op)) {
      fail(`op of vertex ${i} is ${showValue(op)}, expected ${expected ?? NB101_INTERIOR_OPS.join(', ')}`);
    }
  });
  return { matrix: rows, ops: [...(ops as Nb101Op[])] };
}
