/**
 * The predictor's data (ncp.md §5.1): inputs are the 27-number embeddings, outputs the configured
 * metric columns; both normalised with the mean and population std over all records, computed before
 * the split in float32 exactly as numpy does; then sklearn's 80/20 split from numpy's legacy RNG.
 */
import { TorchnasError } from '../../core/errors';
import { trainTestSplit } from '../../core/numpy-random';
import { loadNasBenchMrTableInThread, NasBenchMrTable, tableTask } from '../../benchmarks/nasbench-mr';
import { ownRealm, runInWorker, Transferred, transferred } from '../../core/worker-pool';

export interface PredictorDataset {
  /** Metric columns in config order, flattened over groups (seg: mIoU, mAcc, aAcc, flops, params). */
  metrics: string[];
  /** Outputs per metric group, e.g. [1, 2, 2]. */
  groups: number[];
  count: number;
  inputDim: number;
  /** Raw float32 codes [count × inputDim] and raw float32 metrics [count × metrics]. */
  inputs: Float32Array;
  outputs: Float32Array;
  /** The table's own float64 metric values [count × metrics], for rank statistics. */
  truth: Float64Array;
  inputMean: Float32Array;
  inputStd: Float32Array;
  outputMean: Float32Array;
  outputStd: Float32Array;
  normalizedInputs: Float32Array;
  normalizedOutputs: Float32Array;
  /** Validation = the first ceil(0.2·n) indices of the permutation, train = the rest (permutation order). */
  validationIndices: Int32Array;
  trainIndices: Int32Array;
}

/** A metric of a record: its own metric keys plus the common `flops` and `params`. */
export function recordMetric(table: NasBenchMrTable, index: number, name: string): number {
  const r = table.records[index];
  if (name === 'flops') return r.flops;
  if (name === 'params') return r.params;
  const v = r.metrics[name];
  if (v === undefined) {
    throw new TorchnasError(
      `metric '${name}' is not in ${table.source} (its keys: ${[...table.metricKeys, 'flops', 'params'].join(', ')})`,
      'CONFIG_INVALID',
    );
  }
  return v;
}

/**
 * Column mean and population std of a row-major float32 matrix as numpy computes them for a C-ordered
 * float32 array along axis 0: float32 sums accumulated row by row, mean = sum/n, then the sum of float32
 * squared deviations divided by n, then sqrt, each rounded to float32.
 */
export function float32ColumnStats(values: Float32Array, rows: number, cols: number): { mean: Float32Array; std: Float32Array } {
  const f = Math.fround;
  const sum = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sum[c] = f(sum[c] + values[r * cols + c]);
  const mean = sum.map((s) => f(s / rows));
  const squares = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const d = f(values[r * cols + c] - mean[c]);
      squares[c] = f(squares[c] + f(d * d));
    }
  }
  const std = squares.map((s) => f(Math.sqrt(f(s / rows))));
  return { mean, std };
}

/** (v − mean) / std per column, in float32 like numpy. */
export function normalizeColumns(values: Float32Array, cols: number, mean: Float32Array, std: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.fround(Math.fround(values[i] - mean[i % cols]) / std[i % cols]);
  return out;
}

/**
 * Builds the normalised data and the split.
 * @param metricGroups the config's `data.metrics`, e.g. [[mIoU], [mAcc, aAcc], [flops, params]]
 * @param seed numpy's seed before the split (the config's SEED, 233)
 */
export function buildPredictorDataset(table: NasBenchMrTable, metricGroups: string[][], seed: number): PredictorDataset {
  const metrics = metricGroups.flat();
  const count = table.records.length;
  const inputDim = table.records[0]?.embedding.length ?? 0;
  if (count < 2 || inputDim === 0) throw new TorchnasError(`${table.source}: too few records to train a predictor`, 'INVALID_ARGUMENT');
  const inputs = new Float32Array(count * inputDim);
  const truth = new Float64Array(count * metrics.length);
  table.records.forEach((r, i) => {
    inputs.set(r.embedding, i * inputDim);
    metrics.forEach((m, k) => (truth[i * metrics.length + k] = recordMetric(table, i, m)));
  });
  const outputs = Float32Array.from(truth);
  const inStats = float32ColumnStats(inputs, count, inputDim);
  const outStats = float32ColumnStats(outputs, count, metrics.length);
  const constant = [...inStats.std, ...outStats.std].findIndex((s) => s === 0);
  if (constant >= 0) {
    const name = constant < inputDim ? `embedding[${constant}]` : metrics[constant - inputDim];
    throw new TorchnasError(`${table.source}: ${name} is constant over the table, so it cannot be normalised`, 'INVALID_ARGUMENT');
  }
  const split = trainTestSplit(count, 0.2, seed);
  return {
    metrics,
    groups: metricGroups.map((g) => g.length),
    count,
    inputDim,
    inputs,
    outputs,
    truth,
    inputMean: inStats.mean,
    inputStd: inStats.std,
    outputMean: outStats.mean,
    outputStd: outStats.std,
    normalizedInputs: normalizeColumns(inputs, inputDim, inStats.mean, inStats.std),
    normalizedOutputs: normalizeColumns(outputs, metrics.length, outStats.mean, outStats.std),
    validationIndices: split.test,
    trainIndices: split.train,
  };
}

/** Rows `indices` of a row-major matrix with `cols` columns. */
export function takeRows(values: Float32Array, cols: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) out.set(values.subarray(indices[i] * cols, (indices[i] + 1) * cols), i * cols);
  return out;
}

/** A table's task (as loadNasBenchMrTable infers it) and the predictor data built from it. */
export interface LoadedPredictorDataset {
  task: string | undefined;
  data: PredictorDataset;
}

/**
 * Loads a NAS-Bench-MR table and builds the predictor data from it on a worker thread, so the event
 * loop keeps running; the typed arrays come back moved, not copied.
 * @throws TorchnasError as loadNasBenchMrTable and buildPredictorDataset.
 */
export async function loadPredictorDataset(tableFile: string, metricGroups: string[][], seed: number): Promise<LoadedPredictorDataset> {
  const loaded = await runInWorker<LoadedPredictorDataset>(__filename, 'loadPredictorDatasetInThread', [tableFile, metricGroups, seed]);
  const data = loaded.data as unknown as Record<string, unknown>;
  for (const [key, v] of Object.entries(data)) if (ArrayBuffer.isView(v)) data[key] = ownRealm(v);
  return loaded;
}

/** The worker half of {@link loadPredictorDataset}; not part of the public API. */
export async function loadPredictorDatasetInThread(tableFile: string, metricGroups: string[][], seed: number): Promise<Transferred<LoadedPredictorDataset>> {
  const table = await loadNasBenchMrTableInThread(tableFile, tableTask(tableFile));
  const data = buildPredictorDataset(table, metricGroups, seed);
  const buffers = Object.values(data)
    .filter((v): v is Float32Array | Float64Array | Int32Array => ArrayBuffer.isView(v))
    .map((v) => v.buffer as ArrayBuffer);
  return transferred({ task: table.task, data }, buffers);
}
