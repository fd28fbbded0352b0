/**
 * Numeric encodings of an NB201 architecture: the α-style 6×5 one-hot (original column order, tenas.md §1.1),
 * the NCP table's 30-number embedding (op order of tenas.md §1.5 / ncp.md §6) and the lexicographic ordinal
 * used for enumeration and sampling (NOT the NB201 index: see index-map.ts).
 */
import { TorchnasError, showValue } from '../../core/errors';
import {
  NB201_EDGES,
  NB201_NUM_ARCHS,
  NB201_NUM_EDGES,
  NB201_NUM_OPS,
  NB201_OPS,
  NB201_TABLE_OP_ORDER,
  Nb201Arch,
  checkNb201Arch,
} from './ops';

/** TABLE_TO_OP[slot] = index in NB201_OPS of the op at that slot of a table block. */
const TABLE_TO_OP: readonly number[] = NB201_TABLE_OP_ORDER.map((name) => NB201_OPS.indexOf(name));
/** OP_TO_TABLE[op] = slot of that op in a table block. */
const OP_TO_TABLE: readonly number[] = NB201_OPS.map((name) => (NB201_TABLE_OP_ORDER as readonly string[]).indexOf(name));

/** Index of the single 1 in a block of exact 0/1 values, or a description of why the block is not one-hot. */
function oneHotPosition(block: ArrayLike<number>, start: number, width: number): number | string {
  let position = -1;
  for (let k = 0; k < width; k++) {
    const v = block[start + k];
    if (v === 1) {
      if (position >= 0) return `has more than one 1 (slots ${position} and ${k})`;
      position = k;
    } else if (v !== 0) {
      return `has value ${showValue(v)} at slot ${k}; only 0 and 1 are allowed`;
    }
  }
  return position >= 0 ? position : 'has no 1';
}

/** α-style one-hot: 6 rows (edges) × 5 columns (NB201_OPS order). */
export function nb201ToAlphaOneHot(ops: Nb201Arch): number[][] {
  return checkNb201Arch(ops).map((op) => Array.from({ length: NB201_NUM_OPS }, (_, k) => (k === op ? 1 : 0)));
}

function checkAlphaShape(alpha: ArrayLike<ArrayLike<number>>, what: string): void {
  if (alpha == null || alpha.length !== NB201_NUM_EDGES) {
    throw new TorchnasError(`${what}: expected ${NB201_NUM_EDGES} rows (one per edge), got ${alpha == null ? alpha : showValue(alpha.length)}`, 'INVALID_CODE');
  }
  for (let e = 0; e < NB201_NUM_EDGES; e++) {
    if (alpha[e] == null || alpha[e].length !== NB201_NUM_OPS) {
      throw new TorchnasError(`${what}: row ${e} (edge ${NB201_EDGES[e].key}) must have ${NB201_NUM_OPS} columns, got ${showValue(alpha[e]?.length)}`, 'INVALID_CODE');
    }
  }
}

/**
 * Decodes an exact α-style one-hot (6×5, NB201_OPS column order).
 * @throws TorchnasError INVALID_CODE when the shape is wrong or a row is not one-hot.
 */
export function nb201FromAlphaOneHot(alpha: ArrayLike<ArrayLike<number>>): number[] {
  checkAlphaShape(alpha, 'invalid NB201 one-hot');
  return Array.from({ length: NB201_NUM_EDGES }, (_, e) => {
    const position = oneHotPosition(alpha[e], 0, NB201_NUM_OPS);
    if (typeof position === 'string') {
      throw new TorchnasError(`invalid NB201 one-hot: row ${e} (edge ${NB201_EDGES[e].key}) ${position}`, 'INVALID_CODE');
    }
    return position;
  });
}

/**
 * The architecture an α matrix selects: the argmax op per edge, the first one on ties, as the original's
 * `genotype()` does (tenas.md §1.1).
 * @throws TorchnasError INVALID_CODE when the shape is wrong or a row contains NaN.
 */
export function nb201FromAlphaArgmax(alpha: ArrayLike<ArrayLike<number>>): number[] {
  checkAlphaShape(alpha, 'invalid NB201 α');
  return Array.from({ length: NB201_NUM_EDGES }, (_, e) => {
    let best = 0;
    for (let k = 0; k < NB201_NUM_OPS; k++) {
      const v: unknown = alpha[e][k];
      if (typeof v !== 'number') {
        throw new TorchnasError(`invalid NB201 α: row ${e} (edge ${NB201_EDGES[e].key}) has ${showValue(v)} at column ${k}, not a number`, 'INVALID_CODE');
      }
      if (Number.isNaN(v)) throw new TorchnasError(`invalid NB201 α: row ${e} (edge ${NB201_EDGES[e].key}) contains NaN`, 'INVALID_CODE');
      if (alpha[e][k] > alpha[e][best]) best = k;
    }
    return best;
  });
}

/** The NCP table's 30-number embedding: 6 blocks (edge order) of 5 slots in NB201_TABLE_OP_ORDER. */
export function nb201ToTableEmbedding(ops: Nb201Arch): number[] {
  const out = new Array<number>(NB201_NUM_EDGES * NB201_NUM_OPS).fill(0);
  checkNb201Arch(ops).forEach((op, e) => {
    out[e * NB201_NUM_OPS + OP_TO_TABLE[op]] = 1;
  });
  return out;
}

/**
 * Decodes the NCP table's 30-number embedding (float32 0/1 values are accepted as read).
 * @throws TorchnasError INVALID_CODE when the length is not 30 or a block is not one-hot.
 */
export function nb201FromTableEmbedding(embedding: ArrayLike<number>): number[] {
  const size = NB201_NUM_EDGES * NB201_NUM_OPS;
  if (embedding == null || embedding.length !== size) {
    throw new TorchnasError(`invalid NB201 table embedding: expected ${size} numbers, got ${embedding == null ? embedding : showValue(embedding.length)}`, 'INVALID_CODE');
  }
  return Array.from({ length: NB201_NUM_EDGES }, (_, e) => {
    const position = oneHotPosition(embedding, e * NB201_NUM_OPS, NB201_NUM_OPS);
    if (typeof position === 'string') {
      throw new TorchnasError(`invalid NB201 table embedding: block ${e} (edge ${NB201_EDGES[e].key}) ${position}`, 'INVALID_CODE');
    }
    return TABLE_TO_OP[position];
  });
}

/**
 * Lexicographic ordinal 0..15624 of an architecture (base 5, edge 1<-0 most significant, digits = NB201_OPS
 * indices). This is the enumeration order of this package; it is not the NB201 index.
 */
export function nb201Ordinal(ops: Nb201Arch): number {
  return checkNb201Arch(ops).reduce((acc, op) => acc * NB201_NUM_OPS + op, 0);
}

/** Inverse of {@link nb201Ordinal}. @throws TorchnasError INVALID_CODE outside 0..15624. */
export function nb201FromOrdinal(ordinal: number): number[] {
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= NB201_NUM_ARCHS) {
    throw new TorchnasError(`invalid NB201 ordinal ${showValue(ordinal)}: expected an integer in 0..${NB201_NUM_ARCHS - 1}`, 'INVALID_CODE');
  }
  const ops = new Array<number>(NB201_NUM_EDGES);
  let rest = ordinal;
  for (let e = NB201_NUM_EDGES - 1; e >= 0; e--) {
    ops[e] = rest % NB201_NUM_OPS;
    rest = Math.floor(rest / NB201_NUM_OPS);
  }
  return ops;
}
