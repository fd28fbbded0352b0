/**
 * DenseNAS architecture parameters as plain numbers (densenas.md §3.2): betas per source block, alpha_head
 * and alpha_stack per routing block; shape checks, the flat layout (arch_parameters order) and softmax.
 */
import { TorchnasError } from '../../core/errors';
import { archParameterShapes } from './counts';
import type { DenseSpace } from './space';

export interface DenseArchParameters {
  /** betas[i] over the successors of block i (ascending), i = 0..N−1. */
  betas: number[][];
  /** alphaHead[j−1][h][k]: routing block j, head branch h (predecessors nearest first), P_head op k. */
  alphaHead: number[][][];
  /** alphaStack[j−1][l][k]: routing block j, stack layer l, P_stack op k. */
  alphaStack: number[][][];
}

const fail = (message: string): never => {
  throw new TorchnasError(message, 'INVALID_ARGUMENT');
};

function checkRow(row: unknown, length: number, where: string): void {
  if (!Array.isArray(row)) fail(`${where}: expected an array of ${length} numbers`);
  const values = row as unknown[];
  if (values.length !== length) fail(`${where}: expected ${length} values, got ${values.length}`);
  values.forEach((v, k) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}[${k}]: expected a finite number, got ${String(v)}`);
  });
}

function checkMatrix(matrix: unknown, rows: number, cols: number, where: string): void {
  if (!Array.isArray(matrix)) fail(`${where}: expected ${rows} rows of ${cols} numbers`);
  if ((matrix as unknown[]).length !== rows) fail(`${where}: expected ${rows} rows, got ${(matrix as unknown[]).length}`);
  (matrix as unknown[]).forEach((row, r) => checkRow(row, cols, `${where}[${r}]`));
}

/**
 * Checks every group has the space's shapes (see {@link archParameterShapes}) and finite values.
 * @throws TorchnasError INVALID_ARGUMENT naming the first wrong entry, e.g. `alphaHead[3][1]: expected 6 values, got 5`.
 */
export function checkArchParameters(space: DenseSpace, arch: DenseArchParameters): void {
  const shapes = archParameterShapes(space);
  if (typeof arch !== 'object' || arch === null) fail('architecture parameters must be an object { betas, alphaHead, alphaStack }');
  for (const key of ['betas', 'alphaHead', 'alphaStack'] as const) {
    const want = shapes[key].length;
    if (!Array.isArray(arch[key])) fail(`${key}: expected an array of ${want} entries`);
    if (arch[key].length !== want) fail(`${key}: expected ${want} entries (${key === 'betas' ? 'blocks 0..N−1' : 'routing blocks 1..N−1'}), got ${arch[key].length}`);
  }
  shapes.betas.forEach((n, i) => checkRow(arch.betas[i], n, `betas[${i}]`));
  shapes.alphaHead.forEach(([r, c], i) => checkMatrix(arch.alphaHead[i], r, c, `alphaHead[${i}]`));
  shapes.alphaStack.forEach(([r, c], i) => checkMatrix(arch.alphaStack[i], r, c, `alphaStack[${i}]`));
}

/** All values in the original's `arch_parameters` order: betas, then alpha_head, then alpha_stack, row-major. */
export function flattenArchParameters(space: DenseSpace, arch: DenseArchParameters): Float64Array {
  checkArchParameters(space, arch);
  return Float64Array.from([...arch.betas.flat(), ...arch.alphaHead.flat(2), ...arch.alphaStack.flat(2)]);
}

/** The inverse of {@link flattenArchParameters}. */
export function unflattenArchParameters(space: DenseSpace, values: ArrayLike<number>): DenseArchParameters {
  const shapes = archParameterShapes(space);
  const total = shapes.betas.reduce((a, b) => a + b, 0) + [...shapes.alphaHead, ...shapes.alphaStack].reduce((a, [r, c]) => a + r * c, 0);
  if (values.length !== total) fail(`expected ${total} architecture parameters for this space, got ${values.length}`);
  let at = 0;
  const take = (n: number): number[] => Array.from({ length: n }, () => values[at++]);
  const betas = shapes.betas.map((n) => take(n));
  const matrix = ([r, c]: [number, number]) => Array.from({ length: r }, () => take(c));
  const alphaHead = shapes.alphaHead.map(matrix);
  const alphaStack = shapes.alphaStack.map(matrix);
  const arch = { betas, alphaHead, alphaStack };
  checkArchParameters(space, arch);
  return arch;
}

/** softmax(x / temperature), computed stably in float64. */
export function softmax(x: readonly number[], temperature = 1): number[] {
  if (!(temperature > 0)) fail(`temperature must be positive, got ${temperature}`);
  const scaled = x.map((v) => v / temperature);
  const max = Math.max(...scaled);
  const e = scaled.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
