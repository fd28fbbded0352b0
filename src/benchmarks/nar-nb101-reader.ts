/**
 * Reader of NAR's NB101 cell-information file (nar.md §1.1): a JSON list of 423,624 records, 717 MB, so it is
 * streamed record by record (streamJsonElements), never held as one string; each record is checked field by field.
 */
import { TorchnasError } from '../core/errors';
import { checkNb101Cell, Nb101Op, NB101_CELL_KEYS } from '../spaces/nb101';
import { streamJsonElements } from './json-stream';
import { RecordChecker, quoted } from './nar-fields';

/** One architecture of NAR's NB101 file, with the file's field names (§1.1). Accuracies are fractions 0..1. */
export interface Nb101CellInfoRecord {
  /** [from][to] 0/1, upper-triangular; vertex 0 the input, V−1 the output; V ≤ 7. */
  module_adjacency: number[][];
  module_operations: Nb101Op[];
  trainable_parameters: number;
  avg_training_time: number;
  avg_train_accuracy: number;
  avg_validation_accuracy: number;
  avg_test_accuracy: number;
  /** NB101 module hash, 32 hex digits. */
  unique_hash: string;
  /** Per-vertex FLOPs of each of the 9 modules, keyed `stack{s}/module{m}`, each V values. */
  vertex_flops: Record<string, number[]>;
  vertex_params: Record<string, number[]>;
  flops: number;
}

/** One record with its position in the file. */
export interface Nb101CellInfoEntry {
  index: number;
  record: Nb101CellInfoRecord;
}

const NUMBER_FIELDS = ['avg_training_time', 'avg_train_accuracy', 'avg_validation_accuracy', 'avg_test_accuracy'] as const;

/**
 * Checks one decoded record of an NB101 cell-information file and returns its §1.1 fields (others are dropped).
 * @throws TorchnasError FILE_CORRUPT naming `file`, the record (position and hash) and the field.
 */
export function checkNb101CellInfoRecord(value: unknown, file: string, index: number): Nb101CellInfoRecord {
  let c = new RecordChecker(file, String(index));
  const r = c.object(value);
  // Name the record by its hash too once it is known to be one.
  const hash = r.unique_hash;
  if (typeof hash === 'string' && /^[0-9a-f]{32}$/.test(hash)) c = new RecordChecker(file, `${index} (unique_hash ${hash})`);
  const adjacency = c.list(c.field(r, 'module_adjacency'), quoted('module_adjacency'));
  const operations = c.list(c.field(r, 'module_operations'), quoted('module_operations'));
  let cell;
  try {
    cell = checkNb101Cell(adjacency, operations);
  } catch (e) {
    return c.fail(`fields 'module_adjacency'/'module_operations': ${(e as Error).message}`);
  }
  const v = cell.matrix.length;
  const out: Record<string, unknown> = { module_adjacency: cell.matrix, module_operations: cell.ops };
  out.trainable_parameters = c.integer(c.field(r, 'trainable_parameters'), quoted('trainable_parameters'));
  for (const name of NUMBER_FIELDS) out[name] = c.number(c.field(r, name), quoted(name));
  const uniqueHash = c.string(c.field(r, 'unique_hash'), quoted('unique_hash'));
  if (!/^[0-9a-f]{32}$/.test(uniqueHash)) c.fail(`field 'unique_hash' is ${JSON.stringify(uniqueHash)}, expected 32 lowercase hex digits`);
  out.unique_hash = uniqueHash;
  for (const name of ['vertex_flops', 'vertex_params']) {
    out[name] = c.keyed(c.field(r, name), quoted(name), NB101_CELL_KEYS, (list, at) => c.integers(list, at, v));
  }
  out.flops = c.integer(c.field(r, 'flops'), quoted('flops'));
  return out as unknown as Nb101CellInfoRecord;
}

/**
 * Streams the records of an NB101 cell-information file (a path; `.gz` is gunzipped) in file order, holding one
 * record at a time.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT for malformed JSON, a truncated file, a missing field or a
 * field of the wrong type, naming the record and the field.
 */
export async function* streamNb101CellInfo(file: string): AsyncGenerator<Nb101CellInfoEntry> {
  for await (const element of streamJsonElements(file, { top: 'list' })) {
    yield { index: element.position, record: checkNb101CellInfoRecord(element.value, file, element.position) };
  }
}

export interface ReadNb101CellInfoOptions {
  /** Stop after this many records (default all). */
  limit?: number;
}

/**
 * Reads an NB101 cell-information file into a map keyed by `unique_hash` (file order), as NAR's loader keys it.
 * The full file has 423,624 records; {@link streamNb101CellInfo} visits them without keeping them all.
 * @throws TorchnasError as {@link streamNb101CellInfo}, and FILE_CORRUPT when a hash occurs twice.
 */
export async function readNb101CellInfo(file: string, options: ReadNb101CellInfoOptions = {}): Promise<Map<string, Nb101CellInfoRecord>> {
  const limit = options.limit ?? Infinity;
  const out = new Map<string, Nb101CellInfoRecord>();
  const first = new Map<string, number>();
  if (limit <= 0) return out;
  for await (const { index, record } of streamNb101CellInfo(file)) {
    const earlier = first.get(record.unique_hash);
    if (earlier !== undefined) throw new TorchnasError(`${file}: record ${index} repeats unique_hash ${record.unique_hash} of record ${earlier}`, 'FILE_CORRUPT');
    first.set(record.unique_hash, index);
    out.set(record.unique_hash, record);
    if (out.size >= limit) break;
  }
  if (out.size === 0) throw new TorchnasError(`${file}: the file holds no records`, 'FILE_CORRUPT');
  return out;
}
