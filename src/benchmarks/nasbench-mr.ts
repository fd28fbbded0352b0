/**
 * NAS-Bench-MR tables (ncp.md §1.1) and the benchmark's search_list.txt (§1.3). Tables come as the
 * original pickles or their JSON copies; each record is checked and turned into a typed record
 * whose code, embedding and setting agree.
 */
import * as path from 'node:path';
import { TorchnasError, showValue } from '../core/errors';
import { runInWorker } from '../core/worker-pool';
import { codeToEmbedding, embeddingProblems, embeddingToCode, embeddingToSetting, NetworkSetting } from '../spaces/nasbench-mr';
import { readBenchmarkBytes } from './read-bytes';
import { readTableFile } from './table-file';
import { resolveTablePath } from './table-names';

/** One architecture of a NAS-Bench-MR table. */
export interface NasBenchMrRecord {
  /** Position in the table file (0-based); the same architecture has the same index in every shipped task. */
  index: number;
  /** The 31-integer string code (§2.1). */
  code: string;
  /** The 27-integer embedding (§2.2), the predictor input. */
  embedding: number[];
  /** input_channel, inverted_residual_setting and last_channel of the record. */
  setting: NetworkSetting;
  /** FLOPs in G, for the 50-class classification network at 128×128 in every task (§4). */
  flops: number;
  /** Parameters in M, same convention as `flops`. */
  params: number;
  /** The task's metrics in %, e.g. {mIoU, mAcc, aAcc} or {top1, top5}. */
  metrics: Record<string, number>;
}

/** A loaded table. */
export interface NasBenchMrTable {
  /** The file it came from. */
  source: string;
  /** The task the table was checked against, or undefined when its metric keys were not checked. */
  task: string | undefined;
  /** Metric keys in the file's order. */
  metricKeys: string[];
  records: NasBenchMrRecord[];
}

/** Metric keys per task (§1.1, §5.2): the shipped tables and the ones users may hold. */
export const NASBENCH_MR_TASK_METRICS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  seg: ['mIoU', 'mAcc', 'aAcc'],
  'seg-4x': ['mIoU', 'mAcc', 'aAcc'],
  'cls-10-1000': ['top1', 'top5'],
  'cls-10c': ['top1', 'top5'],
  'cls-50-100': ['top1', 'top5'],
  'cls-50-1000': ['top1', 'top5'],
  video: ['top1', 'top5'],
  'video-p': ['top1', 'top5'],
  '3ddet': ['moderate'],
});

/** Keys every record has besides its metrics (§1.1). */
const COMMON_KEYS = ['flops', 'params', 'input_channel', 'inverted_residual_setting', 'last_channel', 'embedding'];

/** Options of {@link loadNasBenchMrTable}. */
export interface LoadNasBenchMrOptions {
  /**
   * Task whose metric keys the table must have. Default: the file's base name when it is a known task
   * (e.g. `seg.pkl` → seg), otherwise any numeric keys are accepted. `null` never checks.
   */
  task?: string | null;
}

/**
 * Loads a NAS-Bench-MR table from a `.pkl` or `.json` file (either may be gzipped), or by name (`seg`,
 * `nas-bench-mr/seg-4x`, …; see table-names.ts). Reading, decoding and checking run on a worker thread
 * (core/worker-pool.ts), so the caller's event loop keeps running.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT naming the record and field that is wrong.
 */
export async function loadNasBenchMrTable(table: string, options: LoadNasBenchMrOptions = {}): Promise<NasBenchMrTable> {
  const file = resolveTablePath(table, { kind: 'nas-bench-mr' });
  return runInWorker<NasBenchMrTable>(__filename, 'loadNasBenchMrTableInThread', [file, tableTask(file, options)]);
}

/** The task a table is checked against: options.task, else the file's base name when it is a known task. */
export function tableTask(file: string, options: LoadNasBenchMrOptions = {}): string | undefined {
  const inferred = path.basename(file).replace(/\.(pkl|json)(\.gz)?$/i, '');
  const byName = Object.hasOwn(NASBENCH_MR_TASK_METRICS, inferred) ? inferred : undefined;
  return options.task === undefined ? byName : (options.task ?? undefined);
}

/** The worker half of {@link loadNasBenchMrTable} (also usable inside other worker tasks). */
export async function loadNasBenchMrTableInThread(file: string, task: string | undefined): Promise<NasBenchMrTable> {
  return parseNasBenchMrTable(await readTableFile(file), file, task);
}

/**
 * Checks an already decoded table (the list of record dicts) and types it.
 * @throws TorchnasError FILE_CORRUPT naming `source`, the record and the field.
 */
export function parseNasBenchMrTable(raw: unknown, source: string, task?: string): NasBenchMrTable {
  const fail = (what: string): never => {
    throw new TorchnasError(`${source}: ${what}`, 'FILE_CORRUPT');
  };
  if (!Array.isArray(raw)) return fail('expected a list of records');
  if (raw.length === 0) return fail('the table has no records');
  const expected = task !== undefined && Object.hasOwn(NASBENCH_MR_TASK_METRICS, task) ? NASBENCH_MR_TASK_METRICS[task] : undefined;
  if (task !== undefined && expected === undefined) {
    const known = Object.keys(NASBENCH_MR_TASK_METRICS).join(', ');
    throw new TorchnasError(`unknown NAS-Bench-MR task '${task}' (known: ${known})`, 'INVALID_ARGUMENT');
  }
  let metricKeys: string[] | undefined;
  const records = raw.map((item: unknown, index): NasBenchMrRecord => {
    const where = (what: string): never => fail(`record ${index}: ${what}`);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return where('not a dict');
    const r = item as Record<string, unknown>;
    for (const key of COMMON_KEYS) if (!(key in r)) where(`missing key '${key}'`);
    const keys = Object.keys(r).filter((k) => !COMMON_KEYS.includes(k));
    if (metricKeys === undefined) {
      metricKeys = keys;
      if (keys.length === 0) where('has no metric keys');
      if (expected !== undefined && [...keys].sort().join() !== [...expected].sort().join()) {
        where(`metric keys [${keys.join(', ')}] are not those of task ${task} [${expected.join(', ')}]`);
      }
    } else if ([...keys].sort().join() !== [...metricKeys].sort().join()) {
      where(`metric keys [${keys.join(', ')}] differ from record 0's [${metricKeys.join(', ')}]`);
    }
    const metrics: Record<string, number> = {};
    for (const key of metricKeys) metrics[key] = finite(r[key], key, where);
    const embedding = checkedEmbedding(r.embedding, where);
    const setting = embeddingToSetting(embedding);
    const stored = [r.input_channel, r.inverted_residual_setting, r.last_channel];
    const decoded = [setting.inputChannel, setting.networkSetting, setting.lastChannel];
    ['input_channel', 'inverted_residual_setting', 'last_channel'].forEach((key, k) => {
      // Exact comparison of nested integer lists; the pkl's always equal the decoded embedding (§1.1).
      if (!sameJson(stored[k], decoded[k])) {
        where(`${key} ${showValue(stored[k])} disagrees with the embedding, which decodes to ${JSON.stringify(decoded[k])}`);
      }
    });
    return {
      index,
      code: embeddingToCode(embedding),
      embedding,
      setting,
      flops: finite(r.flops, 'flops', where),
      params: finite(r.params, 'params', where),
      metrics,
    };
  });
  return { source, task, metricKeys: metricKeys ?? [], records };
}

/** JSON equality that is false, not a TypeError, for values JSON cannot write (BigInts, cycles). */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function finite(v: unknown, key: string, where: (what: string) => never): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return where(`${key} is ${showValue(v)}, not a finite number`);
  return v;
}

function checkedEmbedding(v: unknown, where: (what: string) => never): number[] {
  if (!Array.isArray(v)) return where('embedding is not a list');
  const problems = embeddingProblems(v);
  if (problems.length > 0) where(`embedding is not a valid network: ${problems.join('; ')}`);
  return [...(v as number[])];
}

/**
 * Reads search_list.txt (§1.3; a path, gzipped or not, or the name `search-list`): one code per line, the
 * last line without a trailing newline (a trailing newline is accepted too). Every code is checked against
 * the NCP space and returned in canonical form.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT naming the line.
 */
export async function loadSearchList(list: string): Promise<string[]> {
  const file = resolveTablePath(list, { kind: 'search-list' });
  const bytes = await readBenchmarkBytes(file);
  return parseSearchList(new TextDecoder().decode(bytes), file);
}

/** Splits and checks the text of a search list; see {@link loadSearchList}. */
export function parseSearchList(text: string, source: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    try {
      return embeddingToCode(codeToEmbedding(line));
    } catch (e) {
      if (e instanceof TorchnasError) throw new TorchnasError(`${source}: line ${i + 1}: ${e.message}`, 'FILE_CORRUPT', { cause: e });
      throw e;
    }
  });
}
