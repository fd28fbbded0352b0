/**
 * NAR's NB201 cell-information file (nar.md §1.2), regenerated from NCP's NB201 table with our own fvcore-style
 * counter (§3, §3.1, §7.1): costs of all three NB201 networks for every one of the 15,625 architectures, the
 * table's ImageNet16-120 accuracy as both ImageNet16 accuracies, and `null` where the table has no data.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../core/atomic-file';
import { TorchnasError } from '../core/errors';
import { formatNb201String, nb201FromTableEmbedding, NB201_EDGES, Nb201Arch, checkNb201Arch } from '../spaces/nb201';
import { NB201_CELL_KEYS, nb201FvcoreCost } from '../spaces/nb201/fvcore-cost';
import { loadNb201Table } from './nb201-table';
import { resolveTablePath } from './table-names';

/** The three NB201 networks of NAR's file: name as in the field names, classes, input resolution (§1.2). */
export const NAR_NB201_NETWORKS = [
  { name: 'cifar10-valid', classes: 10, resolution: 32 },
  { name: 'cifar100', classes: 100, resolution: 32 },
  { name: 'ImageNet16-120', classes: 120, resolution: 16 },
] as const;

/** The 15 cell keys of the per-edge cost fields, in file order: positions in NB201's module list (§1.2). */
export const NAR_NB201_CELL_KEYS: readonly string[] = NB201_CELL_KEYS;

/** The accuracy and latency fields of a record, in file order (numbers or null). */
export const NAR_NB201_MEASURE_FIELDS = [
  'cifar10_val_acc',
  'cifar10_test_acc',
  'cifar100_val_acc',
  'cifar100_test_acc',
  'imagenet16_val_acc',
  'imagenet16_test_acc',
  'cifar10_latency',
  'cifar100_latency',
  'imagenet16_latency',
] as const;

/** One of `cifar10-valid`, `cifar100`, `ImageNet16-120`. */
export type NarNb201Network = (typeof NAR_NB201_NETWORKS)[number]['name'];

/** Per-cell 6-lists keyed `cells0`…`cells16` (15 cells, §1.2). */
export type Nb201CellCosts = Record<string, number[]>;

/**
 * One architecture of NAR's NB201 file, with the file's own field names, in the file's field order (§1.2).
 * Accuracies are in percent; `null` where the source has no value (§7.1).
 */
export interface Nb201CellInfoRecord {
  /** [from][to] = NAR op code of edge from→to (none 0, skip 1, conv1x1 2, conv3x3 3, avg_pool 4); lower triangle 0. */
  cell_adjacency: number[][];
  cifar10_val_acc: number | null;
  cifar10_test_acc: number | null;
  cifar100_val_acc: number | null;
  cifar100_test_acc: number | null;
  imagenet16_val_acc: number | null;
  imagenet16_test_acc: number | null;
  cifar10_latency: number | null;
  cifar100_latency: number | null;
  imagenet16_latency: number | null;
  'cifar10-valid_total_flops': number;
  'cifar10-valid_total_params': number;
  'cifar10-valid_opt_flops': Nb201CellCosts;
  'cifar10-valid_opt_params': Nb201CellCosts;
  cifar100_total_flops: number;
  cifar100_total_params: number;
  cifar100_opt_flops: Nb201CellCosts;
  cifar100_opt_params: Nb201CellCosts;
  'ImageNet16-120_total_flops': number;
  'ImageNet16-120_total_params': number;
  'ImageNet16-120_opt_flops': Nb201CellCosts;
  'ImageNet16-120_opt_params': Nb201CellCosts;
  arch_str: string;
}

/** Accuracies and latencies of one record; any left out is `null`. */
export interface Nb201CellInfoMeasures {
  cifar10_val_acc?: number | null;
  cifar10_test_acc?: number | null;
  cifar100_val_acc?: number | null;
  cifar100_test_acc?: number | null;
  imagenet16_val_acc?: number | null;
  imagenet16_test_acc?: number | null;
  cifar10_latency?: number | null;
  cifar100_latency?: number | null;
  imagenet16_latency?: number | null;
}

/**
 * `cell_adjacency` of an architecture: entry [from][to] = the edge's op index. NAR's op codes equal the indices of
 * NB201_OPS (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3), so `none` reads as "no edge" (§1.2).
 */
export function nb201CellAdjacency(ops: Nb201Arch): number[][] {
  const cell = checkNb201Arch(ops);
  const matrix = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
  NB201_EDGES.forEach((edge, e) => {
    matrix[edge.from][edge.to] = cell[e];
  });
  return matrix;
}

/**
 * The record of one architecture: adjacency, arch string and the fvcore costs of all three networks (§3),
 * with the given accuracies and latencies (`null` for those not given).
 * @throws TorchnasError INVALID_CODE for a bad architecture.
 */
export function nb201CellInfoRecord(ops: Nb201Arch, measures: Nb201CellInfoMeasures = {}): Nb201CellInfoRecord {
  const cell = checkNb201Arch(ops);
  const record: Record<string, unknown> = {
    cell_adjacency: nb201CellAdjacency(cell),
    cifar10_val_acc: measures.cifar10_val_acc ?? null,
    cifar10_test_acc: measures.cifar10_test_acc ?? null,
    cifar100_val_acc: measures.cifar100_val_acc ?? null,
    cifar100_test_acc: measures.cifar100_test_acc ?? null,
    imagenet16_val_acc: measures.imagenet16_val_acc ?? null,
    imagenet16_test_acc: measures.imagenet16_test_acc ?? null,
    cifar10_latency: measures.cifar10_latency ?? null,
    cifar100_latency: measures.cifar100_latency ?? null,
    imagenet16_latency: measures.imagenet16_latency ?? null,
  };
  // Field order matters for the byte-exact file (§7.1): per network total_flops, total_params, opt_flops, opt_params.
  for (const net of NAR_NB201_NETWORKS) {
    const cost = nb201FvcoreCost(cell, { numClasses: net.classes, resolution: net.resolution });
    record[`${net.name}_total_flops`] = cost.totalFlops;
    record[`${net.name}_total_params`] = cost.totalParams;
    record[`${net.name}_opt_flops`] = Object.fromEntries(cost.cells.map((c) => [c.key, c.flops]));
    record[`${net.name}_opt_params`] = Object.fromEntries(cost.cells.map((c) => [c.key, c.params]));
  }
  record.arch_str = formatNb201String(cell);
  return record as unknown as Nb201CellInfoRecord;
}

export interface BuildNb201CellDatasetOptions {
  /** NCP's NB201 table: the name `nb201` (the bundled copy) or a path to `ncp-trainval.pkl|json` (gzipped or not). */
  table?: string;
}

/**
 * Builds NAR's NB201 cell-information records for all 15,625 architectures from NCP's NB201 table (§7.1):
 * record i is NB201 index i (the table is in NB201 index order, §3.1). The table's `Acc` (ImageNet16-120, %)
 * is copied unchanged into `imagenet16_val_acc` and `imagenet16_test_acc`; CIFAR accuracies and latencies are
 * `null` (the table has none). §7.1 says `edges_type_counts` also follows from the embedding, but it is not a field of
 * the §1.2 format (NAR computes it while encoding, see nb201EdgesTypeCounts); the records leave it out, which is what
 * reproduces §7.1's byte count and sha256.
 * @throws TorchnasError FILE_NOT_FOUND / FILE_CORRUPT from reading the table, naming the record.
 */
export async function buildNb201CellDataset(options: BuildNb201CellDatasetOptions = {}): Promise<Nb201CellInfoRecord[]> {
  const file = resolveTablePath(options.table ?? 'nb201', { kind: 'nb201' });
  const table = await loadNb201Table(file);
  if (table.length !== 15625) throw new TorchnasError(`${file}: expected the 15625 NB201 architectures, found ${table.length} records`, 'FILE_CORRUPT');
  const seen = new Set<string>();
  return table.map((row, index) => {
    let ops: number[];
    try {
      ops = nb201FromTableEmbedding(row.embedding);
    } catch (e) {
      throw new TorchnasError(`${file}: record ${index}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
    }
    const record = nb201CellInfoRecord(ops, { imagenet16_val_acc: row.acc, imagenet16_test_acc: row.acc });
    if (seen.has(record.arch_str)) throw new TorchnasError(`${file}: record ${index} repeats architecture ${record.arch_str}`, 'FILE_CORRUPT');
    seen.add(record.arch_str);
    return record;
  });
}

/** Records keyed by NB201 index: an array (position = index) or a map. */
export type Nb201CellInfoRecords = readonly Nb201CellInfoRecord[] | ReadonlyMap<number, Nb201CellInfoRecord>;

/** How floats are written: `js` as JSON.stringify does (`43`), `python` as Python's json module does (`43.0`). */
export type FloatStyle = 'js' | 'python';

export interface SerializeOptions {
  /** Default `js`: §7.1's `JSON.stringify` form. */
  floatStyle?: FloatStyle;
}

/**
 * A float as Python's `repr` writes it (what `json.dump` emits): the same shortest round-trip digits as JavaScript,
 * but integral values keep `.0`, and exponent notation is used below 1e-4 and from 1e16 on, with a signed exponent
 * of at least two digits (`1e-05`, `1e+16`).
 */
export function pythonFloatText(x: number): string {
  if (!Number.isFinite(x)) throw new TorchnasError(`cannot write ${x} as JSON`, 'INVALID_ARGUMENT');
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = x.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const text = String(x); // fixed notation in this range, the same digits
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** The record's float fields (accuracies and latencies) in Python's float text. */
function pythonRecordText(record: Nb201CellInfoRecord): string {
  const text = JSON.stringify(record);
  const fields = record as unknown as Record<string, number | null>;
  return text.replace(MEASURE_VALUE, (match, name: string) => {
    const value = fields[name];
    return value === null ? match : `"${name}":${pythonFloatText(value)}`;
  });
}
const MEASURE_VALUE = new RegExp(`"(${NAR_NB201_MEASURE_FIELDS.join('|')})":[^,}]+`, 'g');

/**
 * The file's text: one compact JSON object keyed "0", "1", … in index order. By default as JavaScript writes it
 * (§7.1's `JSON.stringify` form: integer-valued accuracies as `43`); `floatStyle: 'python'` writes the accuracies and
 * latencies as Python does (`43.0`), §7.1's byte-exact reference form.
 */
export function serializeNb201CellDataset(records: Nb201CellInfoRecords, options: SerializeOptions = {}): string {
  const entries = records instanceof Map ? [...records.entries()].sort((a, b) => a[0] - b[0]) : (records as readonly Nb201CellInfoRecord[]).map((r, i) => [i, r] as const);
  if ((options.floatStyle ?? 'js') === 'js') {
    const object: Record<string, Nb201CellInfoRecord> = {};
    for (const [index, record] of entries) object[String(index)] = record;
    return JSON.stringify(object);
  }
  if (options.floatStyle !== 'python') throw new TorchnasError(`floatStyle must be 'js' or 'python', got ${String(options.floatStyle)}`, 'INVALID_ARGUMENT');
  return `{${entries.map(([index, record]) => `"${index}":${pythonRecordText(record)}`).join(',')}}`;
}

/** What {@link writeNb201CellDataset} wrote. */
export interface WrittenNb201CellDataset {
  file: string;
  records: number;
  bytes: number;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
}

/** Writes the records as NAR's NB201 file (compact JSON, {@link serializeNb201CellDataset}), atomically. */
export async function writeNb201CellDataset(file: string, records: Nb201CellInfoRecords, options: SerializeOptions = {}): Promise<WrittenNb201CellDataset> {
  const bytes = Buffer.from(serializeNb201CellDataset(records, options), 'utf8');
  await writeFileAtomic(file, bytes);
  const count = records instanceof Map ? records.size : (records as readonly Nb201CellInfoRecord[]).length;
  return { file, records: count, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** What {@link regenerateNb201CellDataset} did. */
export interface RegeneratedNb201CellDataset extends WrittenNb201CellDataset {
  /** The NCP table read (a name resolved to its path). */
  table: string;
  /** Wall time of building and writing, seconds. */
  seconds: number;
}

/**
 * Builds the NB201 cell-information records from NCP's table ({@link buildNb201CellDataset}) and writes them to
 * `out` ({@link writeNb201CellDataset}): what `torchnas nar dataset --space nb201` does.
 */
export async function regenerateNb201CellDataset(options: BuildNb201CellDatasetOptions & SerializeOptions & { out: string }): Promise<RegeneratedNb201CellDataset> {
  const started = process.hrtime.bigint();
  const table = resolveTablePath(options.table ?? 'nb201', { kind: 'nb201' });
  const records = await buildNb201CellDataset({ table });
  const written = await writeNb201CellDataset(options.out, records, { floatStyle: options.floatStyle });
  return { ...written, table, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
