/**
 * Reader of NAR's NB201 cell-information files (nar.md §1.2): a JSON object keyed by NB201 index. The file is read
 * record by record (streamJsonElements), and every record is checked field by field.
 */
import { TorchnasError } from '../core/errors';
import { NB201_EDGES, NB201_NUM_ARCHS, parseNb201String } from '../spaces/nb201';
import { streamJsonElements } from './json-stream';
import { NAR_NB201_CELL_KEYS, NAR_NB201_MEASURE_FIELDS, NAR_NB201_NETWORKS, Nb201CellInfoRecord } from './nar-nb201-dataset';
import { RecordChecker, quoted } from './nar-fields';

/** One record of the file with its NB201 index. */
export interface Nb201CellInfoEntry {
  index: number;
  record: Nb201CellInfoRecord;
}

/**
 * Checks one decoded record of an NB201 cell-information file and returns it with the §1.2 fields only, in file
 * order (other fields, e.g. ranks a tool added, are dropped). `cell_adjacency` must agree with `arch_str`.
 * @throws TorchnasError FILE_CORRUPT naming `file`, the record and the field.
 */
export function checkNb201CellInfoRecord(value: unknown, file: string, which: string): Nb201CellInfoRecord {
  const c = new RecordChecker(file, which);
  const r = c.object(value);
  const adjacency = c.list(c.field(r, 'cell_adjacency'), quoted('cell_adjacency'), 4).map((row, i) => c.integers(row, `'cell_adjacency'[${i}]`, 4, 0, 4));
  adjacency.forEach((row, i) =>
    row.forEach((v, j) => {
      if (j <= i && v !== 0) c.fail(`field 'cell_adjacency'[${i}][${j}] is ${v}; entries on and below the diagonal must be 0`);
    }),
  );
  const out: Record<string, unknown> = { cell_adjacency: adjacency };
  for (const name of NAR_NB201_MEASURE_FIELDS) out[name] = c.numberOrNull(c.field(r, name), quoted(name));
  const costs = (v: unknown, name: string) => c.keyed(v, name, NAR_NB201_CELL_KEYS, (list, at) => c.integers(list, at, NB201_EDGES.length));
  for (const net of NAR_NB201_NETWORKS) {
    for (const kind of ['total_flops', 'total_params']) out[`${net.name}_${kind}`] = c.integer(c.field(r, `${net.name}_${kind}`), quoted(`${net.name}_${kind}`));
    for (const kind of ['opt_flops', 'opt_params']) out[`${net.name}_${kind}`] = costs(c.field(r, `${net.name}_${kind}`), quoted(`${net.name}_${kind}`));
  }
  const archStr = c.string(c.field(r, 'arch_str'), quoted('arch_str'));
  let ops: number[];
  try {
    ops = parseNb201String(archStr);
  } catch (e) {
    return c.fail(`field 'arch_str': ${(e as Error).message}`);
  }
  NB201_EDGES.forEach((edge, e) => {
    if (adjacency[edge.from][edge.to] !== ops[e]) {
      c.fail(`field 'cell_adjacency'[${edge.from}][${edge.to}] is ${adjacency[edge.from][edge.to]} but 'arch_str' has op code ${ops[e]} on edge ${edge.key}`);
    }
  });
  out.arch_str = archStr;
  return out as unknown as Nb201CellInfoRecord;
}

/**
 * Streams the records of an NB201 cell-information file (a path; `.gz` is gunzipped) in file order.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT for malformed JSON, a truncated file, a key that is not an
 * NB201 index (0..15624) or occurs twice, a missing field or a field of the wrong type, naming record and field.
 */
export async function* streamNb201CellInfo(file: string): AsyncGenerator<Nb201CellInfoEntry> {
  const seen = new Set<number>();
  for await (const element of streamJsonElements(file, { top: 'object' })) {
    const key = element.key as string;
    const index = Number(key);
    if (!/^(0|[1-9]\d*)$/.test(key) || index >= NB201_NUM_ARCHS) {
      throw new TorchnasError(`${file}: record ${JSON.stringify(key)}: the key must be an NB201 index "0".."${NB201_NUM_ARCHS - 1}"`, 'FILE_CORRUPT');
    }
    if (seen.has(index)) throw new TorchnasError(`${file}: record "${key}" occurs twice`, 'FILE_CORRUPT');
    seen.add(index);
    yield { index, record: checkNb201CellInfoRecord(element.value, file, `"${key}"`) };
  }
}

/**
 * Reads a whole NB201 cell-information file into a map keyed by NB201 index (file order). See
 * {@link streamNb201CellInfo} for the checks.
 */
export async function readNb201CellInfo(file: string): Promise<Map<number, Nb201CellInfoRecord>> {
  const out = new Map<number, Nb201CellInfoRecord>();
  for await (const { index, record } of streamNb201CellInfo(file)) out.set(index, record);
  if (out.size === 0) throw new TorchnasError(`${file}: the file holds no records`, 'FILE_CORRUPT');
  return out;
}

/** 1-based ranks by test accuracy, as NAR's loader adds them (§1.2); `null` for a record without that accuracy. */
export interface Nb201CellInfoRanks {
  cifar10_rank: number | null;
  cifar100_rank: number | null;
  imagenet16_rank: number | null;
}

/**
 * Ranks every record by each dataset's `*_test_acc`, descending: rank 1 = best. Ties keep file (index) order
 * and get distinct ranks, as the original's stable sort gives them; records whose accuracy is null are not ranked.
 */
export function rankNb201CellInfo(records: ReadonlyMap<number, Nb201CellInfoRecord>): Map<number, Nb201CellInfoRanks> {
  const out = new Map<number, Nb201CellInfoRanks>();
  for (const index of records.keys()) out.set(index, { cifar10_rank: null, cifar100_rank: null, imagenet16_rank: null });
  for (const dataset of ['cifar10', 'cifar100', 'imagenet16'] as const) {
    const scored: [number, number][] = [];
    for (const [index, r] of records) {
      const acc = r[`${dataset}_test_acc`];
      if (acc !== null) scored.push([index, acc]);
    }
    scored.sort((a, b) => b[1] - a[1]); // Array.prototype.sort is stable
    scored.forEach(([index], position) => {
      (out.get(index) as Nb201CellInfoRanks)[`${dataset}_rank`] = position + 1;
    });
  }
  return out;
}
