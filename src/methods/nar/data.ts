/**
 * NAR's training data (nar.md §4.6): per architecture its feature tensor (§2), validation accuracy (the ranking
 * label), test accuracy, total FLOPs and params, an id (NB201 arch string, NB101 hash) and its benchmark index. Built
 * from an NB201 or NB101 cell-information file, the NB201 data regenerated from the bundled table, or a user's own
 * list of (architecture, accuracy) records, whose costs our counters compute.
 */
import { buildNb201CellDataset, nb201CellInfoRecord, Nb201CellInfoRecord, Nb201CellInfoRecords } from '../../benchmarks/nar-nb201-dataset';
import { readNb201CellInfo } from '../../benchmarks/nar-nb201-reader';
import { Nb101CellInfoRecord, readNb101CellInfo } from '../../benchmarks/nar-nb101-reader';
import { TorchnasError, showValue } from '../../core/errors';
import { nb101FeatureTensor, nb201RecordFeatureTensor, Nb201EncodingNetwork, NB101_FEATURE_SHAPE, NB201_FEATURE_SHAPE } from '../../spaces/nar/feature-tensor';
import { parseNb201String } from '../../spaces/nb201/arch-string';
import { checkNb201Arch } from '../../spaces/nb201/ops';
import { checkNb101Cell } from '../../spaces/nb101/cell';
import { nb101NetworkCost } from '../../spaces/nb101/cost';

export type NarSpace = 'nb201' | 'nb101';
export type NarNetworkType = 'cifar10' | 'cifar100' | 'imagenet16';

export interface NarDataset {
  space: NarSpace;
  /** Where the records came from (a file, 'nb201 table', 'records'). */
  source: string;
  count: number;
  /** [C, H, W] of one feature tensor (NB201 31×4×4, NB101 19×7×7). */
  featureShape: [number, number, number];
  /** count × C·H·W values. */
  features: Float32Array;
  /** The ranking label (validation accuracy, as in the file: NB201 %, NB101 fraction). */
  valAccuracy: Float64Array;
  testAccuracy: Float64Array;
  flops: Float64Array;
  params: Float64Array;
  /** NB201 arch string / NB101 unique hash (or the record's position for user records without one). */
  ids: string[];
  /** Benchmark index of each item: the NB201 file's key, the NB101 file's position, the user record's position. */
  benchmarkIndex: Int32Array;
}

const NB201_NETWORK: Record<NarNetworkType, Nb201EncodingNetwork> = { cifar10: 'cifar10-valid', cifar100: 'cifar100', imagenet16: 'ImageNet16-120' };

function allocate(space: NarSpace, source: string, count: number): NarDataset {
  const shape = [...(space === 'nb201' ? NB201_FEATURE_SHAPE : NB101_FEATURE_SHAPE)] as [number, number, number];
  const size = shape[0] * shape[1] * shape[2];
  return {
    space,
    source,
    count,
    featureShape: shape,
    features: new Float32Array(count * size),
    valAccuracy: new Float64Array(count),
    testAccuracy: new Float64Array(count),
    flops: new Float64Array(count),
    params: new Float64Array(count),
    ids: new Array<string>(count),
    benchmarkIndex: new Int32Array(count),
  };
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TorchnasError(`${what} must be a finite number, got ${showValue(value)}`, 'INVALID_ARGUMENT');
  return value;
}

/** NB201 cell-information records (§1.2) → a dataset for `networkType`'s costs and accuracies. */
export function narDatasetFromNb201(records: Nb201CellInfoRecords, networkType: NarNetworkType, source = 'nb201 records'): NarDataset {
  const net = NB201_NETWORK[networkType];
  if (net === undefined) throw new TorchnasError(`network_type must be cifar10, cifar100 or imagenet16, got ${showValue(networkType)}`, 'INVALID_ARGUMENT');
  const entries: [number, Nb201CellInfoRecord][] = Array.isArray(records) ? records.map((r, i) => [i, r]) : [...(records as ReadonlyMap<number, Nb201CellInfoRecord>).entries()];
  const d = allocate('nb201', source, entries.length);
  const size = d.features.length / Math.max(1, d.count);
  entries.forEach(([index, r], i) => {
    const where = `${source}: record ${index}`;
    const val = r[`${networkType}_val_acc` as keyof Nb201CellInfoRecord];
    const test = r[`${networkType}_test_acc` as keyof Nb201CellInfoRecord];
    if (typeof val !== 'number') throw new TorchnasError(`${where} has no ${networkType}_val_acc (got ${showValue(val)}); choose a network_type the data has accuracies for`, 'FILE_CORRUPT');
    let tensor;
    try {
      tensor = nb201RecordFeatureTensor(r as never, net);
    } catch (e) {
      throw new TorchnasError(`${where}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
    }
    d.features.set(tensor.data, i * size);
    d.valAccuracy[i] = val;
    d.testAccuracy[i] = typeof test === 'number' ? test : val;
    d.flops[i] = r[`${net}_total_flops` as keyof Nb201CellInfoRecord] as number;
    d.params[i] = r[`${net}_total_params` as keyof Nb201CellInfoRecord] as number;
    d.ids[i] = r.arch_str;
    d.benchmarkIndex[i] = index;
  });
  return d;
}

/** NB101 cell-information records (§1.1) → a dataset (labels: avg_validation_accuracy). */
export function narDatasetFromNb101(records: Iterable<Nb101CellInfoRecord>, source = 'nb101 records'): NarDataset {
  const list = [...records];
  const d = allocate('nb101', source, list.length);
  const size = d.features.length / Math.max(1, d.count);
  list.forEach((r, i) => {
    let tensor;
    try {
      tensor = nb101FeatureTensor(r);
    } catch (e) {
      throw new TorchnasError(`${source}: record ${i} (${r.unique_hash}): ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
    }
    d.features.set(tensor.data, i * size);
    d.valAccuracy[i] = r.avg_validation_accuracy;
    d.testAccuracy[i] = r.avg_test_accuracy;
    d.flops[i] = r.flops;
    d.params[i] = r.trainable_parameters;
    d.ids[i] = r.unique_hash;
    d.benchmarkIndex[i] = i;
  });
  return d;
}

/** A user's architecture: NB201 as an arch string or 6 op indices; NB101 as adjacency matrix + op names. */
export type NarArchitecture = string | readonly number[] | { matrix: readonly (readonly number[])[]; ops: readonly string[] };

export interface NarUserRecord {
  arch: NarArchitecture;
  /** The ranking label (validation accuracy, any monotone scale). */
  accuracy: number;
  /** Reported next to it; defaults to `accuracy`. */
  testAccuracy?: number;
}

/**
 * A user's own (architecture, accuracy) list → a dataset: NB201 costs from our fvcore counter (§3) for
 * `networkType`'s network, NB101 costs from our NB101 counter; INVALID_ARGUMENT naming the record otherwise.
 */
export function narDatasetFromRecords(space: NarSpace, records: readonly NarUserRecord[], networkType: NarNetworkType = 'imagenet16'): NarDataset {
  if (!Array.isArray(records) || records.length === 0) throw new TorchnasError('records must be a non-empty list of {arch, accuracy}', 'INVALID_ARGUMENT');
  if (space === 'nb201') {
    const cells = records.map((r, i) => {
      const what = `records[${i}]`;
      const accuracy = finite(r?.accuracy, `${what}.accuracy`);
      const test = r.testAccuracy === undefined ? accuracy : finite(r.testAccuracy, `${what}.testAccuracy`);
      let ops: number[];
      try {
        ops = typeof r.arch === 'string' ? parseNb201String(r.arch) : checkNb201Arch(r.arch as number[]);
      } catch (e) {
        throw new TorchnasError(`${what}.arch: ${(e as Error).message}`, 'INVALID_ARGUMENT', { cause: e });
      }
      const key = `${networkType}`;
      return nb201CellInfoRecord(ops, { [`${key}_val_acc`]: accuracy, [`${key}_test_acc`]: test });
    });
    return narDatasetFromNb201(cells, networkType, 'records');
  }
  const cells: Nb101CellInfoRecord[] = records.map((r, i) => {
    const what = `records[${i}]`;
    const accuracy = finite(r?.accuracy, `${what}.accuracy`);
    const test = r.testAccuracy === undefined ? accuracy : finite(r.testAccuracy, `${what}.testAccuracy`);
    const arch = r.arch as { matrix: number[][]; ops: string[] };
    if (typeof arch !== 'object' || arch === null || Array.isArray(arch)) throw new TorchnasError(`${what}.arch must be {matrix, ops} for NB101, got ${showValue(r.arch)}`, 'INVALID_ARGUMENT');
    let cell;
    try {
      cell = checkNb101Cell(arch.matrix, arch.ops);
    } catch (e) {
      throw new TorchnasError(`${what}.arch: ${(e as Error).message}`, 'INVALID_ARGUMENT', { cause: e });
    }
    const cost = nb101NetworkCost(cell);
    return {
      module_adjacency: cell.matrix.map((row) => [...row]),
      module_operations: [...cell.ops],
      trainable_parameters: cost.trainableParameters,
      avg_training_time: 0,
      avg_train_accuracy: accuracy,
      avg_validation_accuracy: accuracy,
      avg_test_accuracy: test,
      unique_hash: `record-${i}`,
      vertex_flops: cost.vertexFlops,
      vertex_params: cost.vertexParams,
      flops: cost.flops,
    } as Nb101CellInfoRecord;
  });
  return narDatasetFromNb101(cells, 'records');
}

/**
 * The dataset of a run: `file` (an NB201 cell-information object or an NB101 list, by `space`), or without a file
 * for NB201 the data regenerated from the bundled NCP NB201 table (§7.1; ImageNet16-120 accuracies only).
 */
export async function loadNarDataset(space: NarSpace, networkType: NarNetworkType | undefined, file?: string): Promise<NarDataset> {
  if (space === 'nb201') {
    const net = networkType ?? 'imagenet16';
    if (file === undefined) return narDatasetFromNb201(await buildNb201CellDataset(), net, 'nb201 table (regenerated, §7.1)');
    return narDatasetFromNb201(await readNb201CellInfo(file), net, file);
  }
  if (file === undefined) {
    throw new TorchnasError('NB101 needs its cell-information file (the 717 MB nasbench101 JSON, a user download): pass --data FILE or set `data` in the config', 'INVALID_ARGUMENT');
  }
  return narDatasetFromNb101((await readNb101CellInfo(file)).values(), file);
}

/** Rows `indices` of the dataset's features, back to back. */
export function takeFeatures(d: NarDataset, indices: ArrayLike<number>): Float32Array {
  const size = d.featureShape[0] * d.featureShape[1] * d.featureShape[2];
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) out.set(d.features.subarray(indices[k] * size, (indices[k] + 1) * size), k * size);
  return out;
}
