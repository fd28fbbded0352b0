/**
 * NAS-Bench-101's pruning and module hash, as NAR's NB101 sampler uses them to look a sampled cell up in the
 * cell-information file (nar.md §5: "the spec is pruned/hashed like NB101 and looked up"). Pruning drops every vertex
 * that is not on some input→output path; the hash is NB101's iterated MD5 fingerprint of the labelled DAG (invariant
 * under vertex renumbering), which is the `unique_hash` field of NAR's file (§1.1).
 */
import { createHash } from 'node:crypto';
import { checkNb101Cell, Nb101Cell, Nb101Op, NB101_CONV_1X1, NB101_CONV_3X3, NB101_MAX_EDGES, NB101_MAX_VERTICES, NB101_MAXPOOL_3X3 } from './cell';

/** Vertex labels of the hash: NB101's op indices (conv3x3 0, conv1x1 1, maxpool 2), input −1, output −2. */
const HASH_LABEL: Readonly<Record<string, number>> = { [NB101_CONV_3X3]: 0, [NB101_CONV_1X1]: 1, [NB101_MAXPOOL_3X3]: 2 };

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/**
 * Prunes a cell: keeps the vertices that are reachable from the input and reach the output, in their order.
 * Returns null when the output is not reachable from the input (NB101 calls such a spec invalid).
 * The cell is checked first ({@link checkNb101Cell}).
 */
export function pruneNb101Cell(matrix: readonly (readonly number[])[], ops: readonly string[]): Nb101Cell | null {
  const cell = checkNb101Cell(matrix, ops);
  const v = cell.matrix.length;
  const fromInput = new Array<boolean>(v).fill(false);
  fromInput[0] = true;
  for (let i = 0; i < v; i++) if (fromInput[i]) for (let j = i + 1; j < v; j++) if (cell.matrix[i][j]) fromInput[j] = true;
  const toOutput = new Array<boolean>(v).fill(false);
  toOutput[v - 1] = true;
  for (let j = v - 1; j >= 0; j--) if (toOutput[j]) for (let i = 0; i < j; i++) if (cell.matrix[i][j]) toOutput[i] = true;
  if (!fromInput[v - 1]) return null;
  const keep: number[] = [];
  for (let i = 0; i < v; i++) if (fromInput[i] && toOutput[i]) keep.push(i);
  return { matrix: keep.map((i) => keep.map((j) => cell.matrix[i][j])), ops: keep.map((i) => cell.ops[i]) };
}

/** Whether a pruned cell is inside NB101's space: at most 7 vertices and 9 edges. */
export function isNb101CellInSpace(cell: Nb101Cell): boolean {
  const edges = cell.matrix.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  return cell.matrix.length <= NB101_MAX_VERTICES && edges <= NB101_MAX_EDGES;
}

/**
 * NB101's module hash of a (pruned) cell: per vertex MD5 of "(out-degree, in-degree, label)", then as many rounds as
 * vertices of MD5(sorted in-neighbour hashes | sorted out-neighbour hashes | own hash), then MD5 of the sorted list.
 */
export function nb101CellHash(cell: Nb101Cell): string {
  const { matrix, ops } = checkNb101Cell(cell.matrix, cell.ops);
  const v = matrix.length;
  const label = (op: Nb101Op, i: number) => (i === 0 ? -1 : i === v - 1 ? -2 : HASH_LABEL[op]);
  let hashes = ops.map((op, i) => {
    let outDegree = 0;
    let inDegree = 0;
    for (let k = 0; k < v; k++) {
      outDegree += matrix[i][k];
      inDegree += matrix[k][i];
    }
    return md5(`(${outDegree}, ${inDegree}, ${label(op, i)})`);
  });
  for (let round = 0; round < v; round++) {
    hashes = hashes.map((own, i) => {
      const incoming: string[] = [];
      const outgoing: string[] = [];
      for (let k = 0; k < v; k++) {
        if (matrix[k][i]) incoming.push(hashes[k]);
        if (matrix[i][k]) outgoing.push(hashes[k]);
      }
      return md5(`${incoming.sort().join('')}|${outgoing.sort().join('')}|${own}`);
    });
  }
  return md5(`[${[...hashes].sort().map((h) => `'${h}'`).join(', ')}]`);
}
