/**
 * The sequences NAR's samplers build architectures from (nar.md §2.4) and back: NB101's flat
 * [n_nodes, pred_1, op_1, …, pred_{n−2}, op_{n−2}, pred_{n−1}, begin, end, …] and NB201's per-node (op, source) lists.
 */
import { TorchnasError, showValue } from '../../core/errors';
import { checkNb101Cell, Nb101Cell, Nb101Op, NB101_CONV_1X1, NB101_CONV_3X3, NB101_INPUT, NB101_MAX_VERTICES, NB101_MAXPOOL_3X3, NB101_OUTPUT } from '../nb101';
import { formatNb201String, NB201_OPS, Nb201Op, parseNb201String } from '../nb201';

/** NB101 op of each sequence op code: 1 input, 2 conv1x1, 3 conv3x3, 4 maxpool, 5 output (0 is a placeholder). */
export const NB101_SEQUENCE_OPS: readonly (Nb101Op | null)[] = [null, NB101_INPUT, NB101_CONV_1X1, NB101_CONV_3X3, NB101_MAXPOOL_3X3, NB101_OUTPUT];

/** One NB101 sequence entry: a vertex number or op code; `null` marks an unused extra-edge slot. */
export type Nb101SequenceEntry = number | null;

function invalid(what: string): never {
  throw new TorchnasError(`invalid NB101 sequence: ${what}`, 'INVALID_CODE');
}

/**
 * Decodes an NB101 sampler sequence (§2.4): vertex k = 1..n−2 gets the edge pred_k→k and op NB101_SEQUENCE_OPS[op_k],
 * the output gets pred_{n−1}→n−1, and each following (begin, end) pair adds an edge; pairs with a `null` are skipped.
 * Stricter than the original, which trusts its sampler: predecessors must precede their vertex, interior op codes
 * must be 2..4, extra edges must go forward, and the extra entries must come in pairs.
 * @throws TorchnasError INVALID_CODE naming the entry that is wrong.
 */
export function nb101SequenceToCell(sequence: readonly Nb101SequenceEntry[]): Nb101Cell {
  if (!Array.isArray(sequence) || sequence.length === 0) invalid(`expected a list starting with the vertex count, got ${showValue(sequence)}`);
  const n = sequence[0];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > NB101_MAX_VERTICES) invalid(`the vertex count (entry 0) must be 2..${NB101_MAX_VERTICES}, got ${showValue(n)}`);
  const fixed = 2 * (n - 2) + 2; // n_nodes, (pred, op) per interior vertex, pred of the output
  if (sequence.length < fixed) invalid(`${n} vertices need at least ${fixed} entries, got ${sequence.length}`);
  if ((sequence.length - fixed) % 2 !== 0) invalid(`the extra edges after entry ${fixed - 1} must come as (begin, end) pairs, found ${sequence.length - fixed} entries`);
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const ops: Nb101Op[] = [NB101_INPUT];
  const predecessor = (at: number, vertex: number) => {
    const p = sequence[at];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= vertex) invalid(`entry ${at} (predecessor of vertex ${vertex}) must be a vertex 0..${vertex - 1}, got ${showValue(p)}`);
    matrix[p][vertex] = 1;
  };
  for (let k = 1; k <= n - 2; k++) {
    predecessor(2 * k - 1, k);
    const code = sequence[2 * k];
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 2 || code > 4) invalid(`entry ${2 * k} (op of vertex ${k}) must be 2 (conv1x1), 3 (conv3x3) or 4 (maxpool3x3), got ${showValue(code)}`);
    ops.push(NB101_SEQUENCE_OPS[code] as Nb101Op);
  }
  ops.push(NB101_OUTPUT);
  predecessor(fixed - 1, n - 1);
  for (let at = fixed; at < sequence.length; at += 2) {
    const [begin, end] = [sequence[at], sequence[at + 1]];
    if (begin === null || end === null) continue;
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end >= n || begin >= end) {
      invalid(`entries ${at}, ${at + 1} (extra edge ${showValue(begin)}→${showValue(end)}) must be vertices with 0 ≤ begin < end < ${n}`);
    }
    matrix[begin][end] = 1;
  }
  return checkNb101Cell(matrix, ops);
}

/**
 * A sequence that decodes to `cell` ({@link nb101SequenceToCell}): each vertex's lowest-numbered predecessor is its
 * pred entry, the remaining edges follow as (begin, end) pairs in row-major order, without `null` padding.
 * @throws TorchnasError INVALID_CODE when a vertex other than the input has no incoming edge.
 */
export function nb101CellToSequence(cell: Nb101Cell): number[] {
  const { matrix, ops } = checkNb101Cell(cell.matrix, cell.ops);
  const n = matrix.length;
  const sequence: number[] = [n];
  const used = matrix.map((row) => row.map(() => false));
  const firstPredecessor = (k: number): number => {
    for (let s = 0; s < k; s++) if (matrix[s][k]) return s;
    throw new TorchnasError(`cannot write NB101 cell as a sequence: vertex ${k} has no incoming edge`, 'INVALID_CODE');
  };
  for (let k = 1; k < n; k++) {
    const p = firstPredecessor(k);
    used[p][k] = true;
    sequence.push(p);
    if (k < n - 1) sequence.push(NB101_SEQUENCE_OPS.indexOf(ops[k]));
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (matrix[i][j] && !used[i][j]) sequence.push(i, j);
  return sequence;
}

/** One incoming edge of an NB201 node: its op name and source node. */
export type Nb201NodeEdge = readonly [op: Nb201Op | string, source: number];

/**
 * The NB201 arch string of per-node edge lists (nodes 1, 2, 3; §2.4 `edges_to_str`), e.g.
 * [[['nor_conv_3x3', 0]], [['skip_connect', 0], ['none', 1]], …]. The result is checked as an arch string.
 * @throws TorchnasError INVALID_CODE for an unknown op, a wrong source or a wrong number of edges.
 */
export function nb201EdgesToString(nodes: readonly (readonly Nb201NodeEdge[])[]): string {
  if (!Array.isArray(nodes)) throw new TorchnasError(`NB201 edges: expected a list of per-node edge lists, got ${showValue(nodes)}`, 'INVALID_CODE');
  const text = nodes.map((edges) => `|${(Array.isArray(edges) ? edges : []).map(([op, source]) => `${op}~${source}`).join('|')}|`).join('+');
  return formatNb201String(parseNb201String(text));
}

/** The per-node (op, source) lists of an NB201 arch string (the inverse of {@link nb201EdgesToString}). */
export function nb201StringToEdges(archStr: string): [Nb201Op, number][][] {
  const ops = parseNb201String(archStr);
  const nodes: [Nb201Op, number][][] = [];
  let e = 0;
  for (let node = 1; node <= 3; node++) {
    const edges: [Nb201Op, number][] = [];
    for (let source = 0; source < node; source++) edges.push([NB201_OPS[ops[e++]], source]);
    nodes.push(edges);
  }
  return nodes;
}
