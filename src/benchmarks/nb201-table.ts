/**
 * NCP's copy of NAS-Bench-201 (ncp.md §1.2, §6): 15625 records of a 30-number one-hot embedding
 * with one accuracy and two cost numbers. Only the table is read here; what the embedding's op
 * order means is the NB201 space's business (src/spaces/nb201).
 */
import { TorchnasError, showValue } from '../core/errors';
import { ownRealm, runInWorker, Transferred, transferred } from '../core/worker-pool';
import { readTableFile } from './table-file';
import { resolveTablePath } from './table-names';

/** Numbers in one embedding: 6 edges × 5 ops (§6). */
export const NB201_EMBEDDING_LENGTH = 30;

/** One cell of the table. */
export interface Nb201TableRecord {
  /** Position in the file (0-based); the records appear to be in NB201 API index order (§6). */
  index: number;
  /** 6 one-hot blocks of 5, in NCP's op order (§6); float32 as pickled. */
  embedding: Float32Array;
  /** ImageNet16-120 top-1 accuracy in %, one run on a 3000-image split (§6). */
  acc: number;
  /** MFLOPs of the CIFAR-100 network (not the dataset `acc` comes from, §6). */
  flops: number;
  /** Parameters in M of the CIFAR-100 network. */
  params: number;
}

const KEYS = ['embedding', 'Acc', 'Flops', 'Params'];

/**
 * Loads `ncp-trainval.pkl` or its JSON copy (either may be gzipped), or the table named `nb201`.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT naming the record and field that is wrong.
 */
export async function loadNb201Table(table: string): Promise<Nb201TableRecord[]> {
  const file = resolveTablePath(table, { kind: 'nb201' });
  // Decoding and checking run on a worker thread; the 15625 records come back as four columns in moved
  // buffers, and each record's embedding is a view into the one embeddings buffer.
  const received = await runInWorker<Nb201Columns>(__filename, 'loadNb201Columns', [file]);
  const columns: Nb201Columns = {
    embeddings: ownRealm(received.embeddings),
    acc: ownRealm(received.acc),
    flops: ownRealm(received.flops),
    params: ownRealm(received.params),
  };
  const records = new Array<Nb201TableRecord>(columns.acc.length);
  for (let i = 0; i < records.length; i++) {
    records[i] = {
      index: i,
      embedding: columns.embeddings.subarray(i * NB201_EMBEDDING_LENGTH, (i + 1) * NB201_EMBEDDING_LENGTH),
      acc: columns.acc[i],
      flops: columns.flops[i],
      params: columns.params[i],
    };
  }
  return records;
}

/** A checked table as columns: embeddings [count × 30] and one value per record. */
export interface Nb201Columns {
  embeddings: Float32Array;
  acc: Float64Array;
  flops: Float64Array;
  params: Float64Array;
}

/** The worker half of {@link loadNb201Table}; not part of the public API. */
export async function loadNb201Columns(file: string): Promise<Transferred<Nb201Columns>> {
  const records = parseNb201Table(await readTableFile(file), file);
  const n = records.length;
  const columns: Nb201Columns = {
    embeddings: new Float32Array(n * NB201_EMBEDDING_LENGTH),
    acc: new Float64Array(n),
    flops: new Float64Array(n),
    params: new Float64Array(n),
  };
  records.forEach((r, i) => {
    columns.embeddings.set(r.embedding, i * NB201_EMBEDDING_LENGTH);
    columns.acc[i] = r.acc;
    columns.flops[i] = r.flops;
    columns.params[i] = r.params;
  });
  return transferred(columns, [columns.embeddings.buffer, columns.acc.buffer, columns.flops.buffer, columns.params.buffer] as ArrayBuffer[]);
}

/**
 * Checks an already decoded table (list of dicts) and types it.
 * @throws TorchnasError FILE_CORRUPT naming `source`, the record and the field.
 */
export function parseNb201Table(raw: unknown, source: string): Nb201TableRecord[] {
  const fail = (what: string): never => {
    throw new TorchnasError(`${source}: ${what}`, 'FILE_CORRUPT');
  };
  if (!Array.isArray(raw)) return fail('expected a list of records');
  if (raw.length === 0) return fail('the table has no records');
  return raw.map((item: unknown, index): Nb201TableRecord => {
    const where = (what: string): never => fail(`record ${index}: ${what}`);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return where('not a dict');
    const r = item as Record<string, unknown>;
    const keys = Object.keys(r);
    if ([...keys].sort().join() !== [...KEYS].sort().join()) where(`keys [${keys.join(', ')}], expected [${KEYS.join(', ')}]`);
    return {
      index,
      embedding: embeddingOf(r.embedding, where),
      acc: finite(r.Acc, 'Acc', where),
      flops: finite(r.Flops, 'Flops', where),
      params: finite(r.Params, 'Params', where),
    };
  });
}

function finite(v: unknown, key: string, where: (what: string) => never): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return where(`${key} is ${showValue(v)}, not a finite number`);
  return v;
}

/** The pickle holds a float32 numpy array, the JSON copy plain numbers of equal value (§1): both become a Float32Array. */
function embeddingOf(v: unknown, where: (what: string) => never): Float32Array {
  const values = v instanceof Float32Array || v instanceof Float64Array || Array.isArray(v) ? (v as ArrayLike<unknown>) : undefined;
  if (values === undefined) return where('embedding is not a list or float array');
  if (values.length !== NB201_EMBEDDING_LENGTH) return where(`embedding has ${values.length} numbers, expected ${NB201_EMBEDDING_LENGTH}`);
  const out = new Float32Array(NB201_EMBEDDING_LENGTH);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return where(`embedding[${i}] is ${showValue(x)}, not a finite number`);
    out[i] = x;
  }
  return out;
}
