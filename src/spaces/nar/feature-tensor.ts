/**
 * NAR's ReNAS-style feature tensors (nar.md §2.1, §2.2): NB101 cells as 19×7×7, NB201 cells as 31×4×4, as a plain
 * Float32Array in C×H×W order with its shape. Every edge carries the value of its *destination* vertex (NB101) or
 * its own per-edge cost (NB201); NB101 FLOPs/params are scaled by 1e7/1e5, NB201's are raw.
 */
import { TorchnasError, showValue } from '../../core/errors';
import { checkNb101Cell, NB101_CELL_KEYS, NB101_MAX_VERTICES, Nb101Op } from '../nb101';
import { NB201_CELL_KEYS, NB201_EDGES, NB201_NUM_OPS, parseNb201String } from '../nb201';

/** A feature tensor: values in C×H×W order and the shape [C, H, W]. */
export interface FeatureTensor {
  data: Float32Array;
  shape: [number, number, number];
}

/** [19, 7, 7]: 1 op channel + FLOPs and params of 9 modules. */
export const NB101_FEATURE_SHAPE: readonly [number, number, number] = [1 + 2 * NB101_CELL_KEYS.length, NB101_MAX_VERTICES, NB101_MAX_VERTICES];
/** [31, 4, 4]: 1 adjacency channel + FLOPs and params of 15 cells. */
export const NB201_FEATURE_SHAPE: readonly [number, number, number] = [1 + 2 * NB201_CELL_KEYS.length, 4, 4];

/** Op-type codes of the NB101 encoding (§2.1). */
export const NB101_OP_CODES: Readonly<Record<Nb101Op, number>> = Object.freeze({
  input: 1,
  'conv1x1-bn-relu': 2,
  'conv3x3-bn-relu': 3,
  maxpool3x3: 4,
  output: 5,
});

/** The fields of an NB101 cell-information record the encoding reads (§1.1). */
export interface Nb101EncodingInput {
  module_adjacency: readonly (readonly number[])[];
  module_operations: readonly string[];
  vertex_flops: Readonly<Record<string, readonly number[]>>;
  vertex_params: Readonly<Record<string, readonly number[]>>;
}

const FLOPS_SCALE = 1e7;
const PARAMS_SCALE = 1e5;

/**
 * Where vertex i of a V-vertex cell sits in the 7×7 grid: zero rows/columns are inserted just before the output
 * vertex, so the input stays at 0, interior vertices keep their index and the output moves to 6 (§2.1).
 */
export function nb101PaddedPosition(vertex: number, vertices: number): number {
  return vertex === vertices - 1 ? NB101_MAX_VERTICES - 1 : vertex;
}

/**
 * The 19×7×7 NB101 feature tensor (§2.1). Channel 0: [i][j] = A[i][j] · code(op of j). Channels 1..18: for each
 * module in `stack0/module0 … stack2/module2` order, [i][j] = A[i][j] · flops(j) / 1e7, then A[i][j] · params(j) / 1e5.
 * The division is done in float32, as the original's float32 tensors do it (x rounded to float32, then divided).
 * The module order is the canonical one, which is the key order of NAR's file (the original follows the file's order).
 * @throws TorchnasError INVALID_CODE for a malformed cell or cost lists of the wrong length.
 */
export function nb101FeatureTensor(record: Nb101EncodingInput): FeatureTensor {
  const cell = checkNb101Cell(record.module_adjacency, record.module_operations);
  const v = cell.matrix.length;
  const [channels, size] = [NB101_FEATURE_SHAPE[0], NB101_FEATURE_SHAPE[1]];
  const data = new Float32Array(channels * size * size);
  const put = (channel: number, vertexValue: (j: number) => number) => {
    for (let i = 0; i < v; i++) {
      for (let j = 0; j < v; j++) {
        if (cell.matrix[i][j]) data[channel * size * size + nb101PaddedPosition(i, v) * size + nb101PaddedPosition(j, v)] = vertexValue(j);
      }
    }
  };
  put(0, (j) => NB101_OP_CODES[cell.ops[j]]);
  NB101_CELL_KEYS.forEach((key, m) => {
    const flops = vertexValues(record.vertex_flops, 'vertex_flops', key, v);
    const params = vertexValues(record.vertex_params, 'vertex_params', key, v);
    put(1 + 2 * m, (j) => Math.fround(Math.fround(flops[j]) / FLOPS_SCALE));
    put(2 + 2 * m, (j) => Math.fround(Math.fround(params[j]) / PARAMS_SCALE));
  });
  return { data, shape: [...NB101_FEATURE_SHAPE] as [number, number, number] };
}

function vertexValues(dict: Readonly<Record<string, readonly number[]>>, field: string, key: string, v: number): readonly number[] {
  const values = dict?.[key];
  if (!Array.isArray(values) || values.length !== v || values.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new TorchnasError(`NB101 encoding: ${field}['${key}'] must be ${v} finite numbers (one per vertex), got ${showValue(values)}`, 'INVALID_CODE');
  }
  return values;
}

/** The fields of an NB201 cell-information record the encoding reads (§1.2), for one network's costs. */
export interface Nb201EncodingInput {
  cell_adjacency: readonly (readonly number[])[];
  arch_str: string;
}

/**
 * The 31×4×4 NB201 feature tensor for one network (§2.2). Channel 0: `cell_adjacency` as stored (op codes at
 * [from][to], none = 0). Channels 1..30: for each of the 15 cells (cells0 … cells16) a FLOPs patch then a params patch,
 * edge k's raw value at [from_k][to_k] for the edges (0,1),(0,2),(1,2),(0,3),(1,3),(2,3). No scaling.
 * @param optFlops / optParams the record's `<net>_opt_flops` / `<net>_opt_params`.
 * @throws TorchnasError INVALID_CODE for a malformed adjacency, arch string or cost lists.
 */
export function nb201FeatureTensor(
  record: Nb201EncodingInput,
  optFlops: Readonly<Record<string, readonly number[]>>,
  optParams: Readonly<Record<string, readonly number[]>>,
): FeatureTensor {
  const [channels, size] = [NB201_FEATURE_SHAPE[0], NB201_FEATURE_SHAPE[1]];
  const data = new Float32Array(channels * size * size);
  const adjacency = record.cell_adjacency;
  if (!Array.isArray(adjacency) || adjacency.length !== size || adjacency.some((row) => !Array.isArray(row) || row.length !== size)) {
    throw new TorchnasError(`NB201 encoding: cell_adjacency must be 4×4, got ${showValue(adjacency)}`, 'INVALID_CODE');
  }
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const code = adjacency[i][j];
      if (!Number.isInteger(code) || code < 0 || code >= NB201_NUM_OPS) throw new TorchnasError(`NB201 encoding: cell_adjacency[${i}][${j}] is ${showValue(code)}, expected an op code 0..4`, 'INVALID_CODE');
      data[i * size + j] = code;
    }
  }
  // The edge coordinates come from the edge order of the arch string, as in the original; checking the string
  // rejects a record whose arch_str is not an NB201 cell.
  parseNb201String(record.arch_str);
  NB201_CELL_KEYS.forEach((key, c) => {
    const flops = edgeValues(optFlops, 'opt_flops', key);
    const params = edgeValues(optParams, 'opt_params', key);
    NB201_EDGES.forEach((edge, e) => {
      data[(1 + 2 * c) * size * size + edge.from * size + edge.to] = flops[e];
      data[(2 + 2 * c) * size * size + edge.from * size + edge.to] = params[e];
    });
  });
  return { data, shape: [...NB201_FEATURE_SHAPE] as [number, number, number] };
}

function edgeValues(dict: Readonly<Record<string, readonly number[]>>, field: string, key: string): readonly number[] {
  const values = dict?.[key];
  if (!Array.isArray(values) || values.length !== NB201_EDGES.length || values.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new TorchnasError(`NB201 encoding: ${field}['${key}'] must be ${NB201_EDGES.length} finite numbers (one per edge), got ${showValue(values)}`, 'INVALID_CODE');
  }
  return values;
}

/** Networks of NAR's NB201 records and the prefix of their cost fields. */
export type Nb201EncodingNetwork = 'cifar10-valid' | 'cifar100' | 'ImageNet16-120';

/**
 * The feature tensor of a whole NB201 cell-information record for one network (reads `<network>_opt_flops` and
 * `<network>_opt_params`).
 */
export function nb201RecordFeatureTensor(record: Nb201EncodingInput & Readonly<Record<string, unknown>>, network: Nb201EncodingNetwork): FeatureTensor {
  const flops = record[`${network}_opt_flops`] as Record<string, number[]>;
  const params = record[`${network}_opt_params`] as Record<string, number[]>;
  if (flops === undefined || params === undefined) throw new TorchnasError(`NB201 encoding: the record has no ${network}_opt_flops / ${network}_opt_params`, 'INVALID_CODE');
  return nb201FeatureTensor(record, flops, params);
}

/**
 * `edges_type_counts` (§2.2): how many of the 6 edges use each op, in NAR code order
 * (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3). Index 0 → [0, 3, 2, 0, 1].
 */
export function nb201EdgesTypeCounts(archStr: string): number[] {
  const counts = new Array<number>(NB201_NUM_OPS).fill(0);
  for (const op of parseNb201String(archStr)) counts[op]++;
  return counts;
}
