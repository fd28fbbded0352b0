/**
 * DenseNAS latency LUTs (densenas.md §5.1–§5.2, "Beyond the original" item 3). Two forms:
 * - the original positional `lat_list` (one line, a Python-literal nested list of ms per batch), read
 *   and written byte-compatibly;
 * - torchnas's keyed LUT (JSON): one entry per (op, C_in, C_out, stride, H, W, batch) with the statistics
 *   of its timed runs, stamped with a device fingerprint, so entries are reusable across configs.
 * Conversions between the two need the space (positions ↔ keys). Positions sharing a key (e.g. the stack
 * layers of one block) become one keyed entry whose runs are the positional values, so keyed → positional
 * gives each such position the group's statistic (by default the mean; group sums are kept).
 */
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { describeIssues } from '../config/load';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic-file';
import { TorchnasError } from '../core/errors';
import { DenseCostList, checkCostList, formatLatList, parseLatList } from '../spaces/densenas/cost-list';
import type { DenseSpace } from '../spaces/densenas/space';
import { readBenchmarkBytes } from './read-bytes';

/** Where and how a LUT was measured. */
export interface LutFingerprint {
  /** Device name, e.g. 'cpu: AMD EPYC 7B13' or 'cuda: NVIDIA H200'. */
  device: string;
  /** Intra-op threads of the timing runs. */
  threads: number;
  /** LibTorch version, e.g. '1.13.1'. */
  torch: string;
  /** e.g. 'float32'. */
  dtype: string;
  /** Batch size of the timed inputs. */
  batch: number;
}

export interface LutKey {
  /** A P_head/P_stack op name, or 'stem_mbv2' (stem + head_block), 'stem_res', 'conv1_1', 'linear' (classifier). */
  op: string;
  cIn: number;
  cOut: number;
  stride: number;
  /** Input height and width of the op. */
  h: number;
  w: number;
  batch: number;
}

export interface LutStats {
  /** Timed runs (warm-up excluded); from a positional list, the number of positions merged. */
  count: number;
  mean: number;
  median: number;
  /** Population standard deviation of the runs. */
  std: number;
  min: number;
  /**
   * Standard error of the median, from the runs' order statistics (distribution-free; see
   * `medianStandardError`). Absent in entries read from a positional lat_list or written before it was kept.
   */
  medianSe?: number;
}

export type LutEntry = LutKey & LutStats;

export interface DenseNasLut {
  format: 'torchnas-densenas-lut';
  version: 1;
  /** Unit of every statistic. */
  unit: 'ms';
  fingerprint: LutFingerprint;
  entries: LutEntry[];
}

const positiveInt = z.number().int().min(1);
const finite = z.number().finite();
const entrySchema = z
  .object({
    op: z.string().min(1),
    cIn: positiveInt,
    cOut: positiveInt,
    stride: positiveInt,
    h: positiveInt,
    w: positiveInt,
    batch: positiveInt,
    count: positiveInt,
    mean: finite.min(0),
    median: finite.min(0),
    std: finite.min(0),
    min: finite.min(0),
    medianSe: finite.min(0).optional(),
  })
  .strict();
const lutSchema = z
  .object({
    format: z.literal('torchnas-densenas-lut'),
    version: z.literal(1),
    unit: z.literal('ms'),
    fingerprint: z.object({ device: z.string(), threads: positiveInt, torch: z.string(), dtype: z.string(), batch: positiveInt }).strict(),
    entries: z.array(entrySchema),
  })
  .strict();

/** The lookup key of an entry, e.g. `mbconv_k3_t3/24/32/2/16x16/32`. */
export function lutKeyString(k: LutKey): string {
  return `${k.op}/${k.cIn}/${k.cOut}/${k.stride}/${k.h}x${k.w}/${k.batch}`;
}

/** count, mean, median, population std and min of timed runs (e.g. ms per batch). */
export function summarizeRuns(runs: readonly number[]): LutStats {
  if (runs.length === 0 || runs.some((v) => !Number.isFinite(v))) {
    throw new TorchnasError(`LUT statistics need at least one finite value, got [${runs.slice(0, 5).join(', ')}${runs.length > 5 ? ', …' : ''}]`, 'INVALID_ARGUMENT');
  }
  const sorted = [...runs].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const std = Math.sqrt(sorted.reduce((a, v) => a + (v - mean) * (v - mean), 0) / n);
  return { count: n, mean, median, std, min: sorted[0], medianSe: medianStandardError(sorted) };
}

/**
 * Standard error of the median of ascending `sorted` values, distribution-free: (Q(½ + δ) − Q(½ − δ)) / (2·1.96),
 * δ = 1.96 / (2√n), Q the sample quantile interpolated between order statistics (R's type 7). Tends to the
 * median's asymptotic SE (1.2533·σ/√n for normal data); outliers do not move it. The same estimate as the
 * native one that stops a LUT entry's timing (native/core/measure/latency.h).
 */
export function medianStandardError(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n < 2) return 0;
  const z = 1.959963984540054;
  const delta = z / (2 * Math.sqrt(n));
  const quantile = (p: number) => {
    const h = (n - 1) * Math.min(1, Math.max(0, p));
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, n - 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  };
  return (quantile(0.5 + delta) - quantile(0.5 - delta)) / (2 * z);
}

/** A key for every position of the space's cost list (same layout as {@link DenseCostList}), at `batch`. */
export interface DenseLutKeys {
  stem: LutKey;
  blocks: { head: LutKey[][]; stack: LutKey[][] }[];
  conv1x1: LutKey[];
  classifier: LutKey;
}

/** The key of every cost-list position of `space` (§5.1: each op timed in isolation on its real input shape). */
export function positionalLutKeys(space: DenseSpace, batch: number): DenseLutKeys {
  if (!Number.isSafeInteger(batch) || batch < 1) throw new TorchnasError(`batch must be a positive integer, got ${String(batch)}`, 'INVALID_ARGUMENT');
  const N = space.blocks.length - 1;
  const key = (op: string, cIn: number, cOut: number, stride: number, size: number): LutKey => ({ op, cIn, cOut, stride, h: size, w: size, batch });
  const stemOut = space.netType === 'mbv2' ? space.headDim : space.initDim;
  return {
    stem: key(space.netType === 'mbv2' ? 'stem_mbv2' : 'stem_res', space.inChannels, stemOut, space.stemStride, space.inputSize),
    blocks: space.blocks.slice(1, -1).map((block) => ({
      head: block.predecessors.map((p) => {
        const from = space.blocks[p.from];
        return space.headOps.map((op) => key(op, from.channels, block.channels, p.stride, from.fmSize));
      }),
      stack: Array.from({ length: block.numLayers }, () => space.stackOps.map((op) => key(op, block.channels, block.channels, 1, block.fmSize))),
    })),
    conv1x1: space.blocks[N].predecessors.map((p) => key('conv1_1', space.blocks[p.from].channels, space.lastDim, 1, space.blocks[p.from].fmSize)),
    classifier: key('linear', space.lastDim, space.numClasses, 1, 1),
  };
}

/** Visits every position of a keys/costs pair in the §5.2 order, with a description for messages. */
function forEachPosition(keys: DenseLutKeys, visit: (key: LutKey, where: string, get: (c: DenseCostList) => number, set: (c: DenseCostList, v: number) => void) => void): void {
  visit(keys.stem, 'stem', (c) => c.stem, (c, v) => (c.stem = v));
  keys.blocks.forEach((b, i) => {
    b.head.forEach((row, h) =>
      row.forEach((k, o) => visit(k, `block ${i + 1} head branch ${h} op ${o} (${k.op})`, (c) => c.blocks[i].head[h][o], (c, v) => (c.blocks[i].head[h][o] = v))),
    );
    b.stack.forEach((row, l) =>
      row.forEach((k, o) => visit(k, `block ${i + 1} stack layer ${l} op ${o} (${k.op})`, (c) => c.blocks[i].stack[l][o], (c, v) => (c.blocks[i].stack[l][o] = v))),
    );
  });
  keys.conv1x1.forEach((k, h) => visit(k, `conv1_1 branch ${h}`, (c) => c.conv1x1[h], (c, v) => (c.conv1x1[h] = v)));
  visit(keys.classifier, 'classifier', (c) => c.classifier, (c, v) => (c.classifier = v));
}

/** A position of the space's cost list: its key and a description for messages ("block 3 head branch 1 op 4 (mbconv_k7_t3)"). */
export interface LutPosition {
  key: LutKey;
  where: string;
}

/** Every position of `space`'s cost list in the §5.2 order (positions sharing a key repeat it). */
export function lutPositions(space: DenseSpace, batch: number): LutPosition[] {
  const positions: LutPosition[] = [];
  forEachPosition(positionalLutKeys(space, batch), (key, where) => positions.push({ key, where }));
  return positions;
}

function emptyCostList(keys: DenseLutKeys): DenseCostList {
  return {
    stem: 0,
    blocks: keys.blocks.map((b) => ({ head: b.head.map((r) => r.map(() => 0)), stack: b.stack.map((r) => r.map(() => 0)) })),
    conv1x1: keys.conv1x1.map(() => 0),
    classifier: 0,
  };
}

/**
 * A keyed LUT from a positional cost list of `space` (e.g. a parsed `lat_list`): each key's runs are the
 * values of the positions that share it. `fingerprint.batch` is the batch of the keys.
 */
export function lutFromCostList(space: DenseSpace, costs: DenseCostList, fingerprint: LutFingerprint): DenseNasLut {
  checkCostList(space, costs);
  const keys = positionalLutKeys(space, fingerprint.batch);
  const groups = new Map<string, { key: LutKey; runs: number[] }>();
  forEachPosition(keys, (key, _where, get) => {
    const value = get(costs);
    const id = lutKeyString(key);
    const group = groups.get(id) ?? { key, runs: [] };
    group.runs.push(value);
    groups.set(id, group);
  });
  return {
    format: 'torchnas-densenas-lut',
    version: 1,
    unit: 'ms',
    fingerprint: { ...fingerprint },
    entries: [...groups.values()].map((g) => ({ ...g.key, ...summarizeRuns(g.runs) })),
  };
}

/**
 * The positional cost list of `space` from a keyed LUT, at the LUT's batch.
 * @throws TorchnasError INVALID_ARGUMENT naming the first position (block, branch/layer, op) and key the LUT lacks.
 */
export function costListFromLut(space: DenseSpace, lut: DenseNasLut, options: { statistic?: 'mean' | 'median' | 'min' } = {}): DenseCostList {
  const statistic = options.statistic ?? 'mean';
  const byKey = indexLut(lut);
  const keys = positionalLutKeys(space, lut.fingerprint.batch);
  const costs = emptyCostList(keys);
  forEachPosition(keys, (key, where, _get, set) => {
    const entry = byKey.get(lutKeyString(key));
    if (entry === undefined) throw new TorchnasError(`LUT has no entry for ${where}: key ${lutKeyString(key)}`, 'INVALID_ARGUMENT');
    set(costs, entry[statistic]);
  });
  return costs;
}

function indexLut(lut: DenseNasLut): Map<string, LutEntry> {
  const byKey = new Map<string, LutEntry>();
  for (const e of lut.entries) {
    const id = lutKeyString(e);
    if (byKey.has(id)) throw new TorchnasError(`LUT holds two entries for key ${id}`, 'FILE_CORRUPT');
    byKey.set(id, e);
  }
  return byKey;
}

/**
 * Compares a LUT's fingerprint with the device it is used on. Returns the mismatching fields as
 * `field: lut value ≠ expected value`; with `mode` 'refuse' (default) a mismatch throws, with 'warn' it is
 * reported through `onWarning` (default: process.emitWarning) and returned.
 * @throws TorchnasError INVALID_ARGUMENT naming the fields.
 */
export function checkLutFingerprint(
  lut: DenseNasLut,
  expected: Partial<LutFingerprint>,
  options: { mode?: 'refuse' | 'warn'; onWarning?: (message: string) => void } = {},
): string[] {
  const mismatches: string[] = [];
  for (const field of ['device', 'threads', 'torch', 'dtype', 'batch'] as const) {
    const want = expected[field];
    if (want !== undefined && lut.fingerprint[field] !== want) mismatches.push(`${field}: LUT ${JSON.stringify(lut.fingerprint[field])} ≠ ${JSON.stringify(want)}`);
  }
  if (mismatches.length > 0) {
    const message = `LUT fingerprint does not match this device (${mismatches.join('; ')})`;
    if ((options.mode ?? 'refuse') === 'refuse') throw new TorchnasError(`${message}; re-measure the LUT here or accept the mismatch explicitly`, 'INVALID_ARGUMENT');
    (options.onWarning ?? ((m: string) => process.emitWarning(m, 'TorchnasWarning')))(message);
  }
  return mismatches;
}

/** Validates a parsed keyed LUT (schema, unique keys). @throws TorchnasError FILE_CORRUPT naming `source` and the field. */
export function validateLut(value: unknown, source = 'LUT'): DenseNasLut {
  const result = lutSchema.safeParse(value);
  if (!result.success) throw new TorchnasError(`${source}: not a DenseNAS keyed LUT: ${describeIssues(result.error.issues)}`, 'FILE_CORRUPT');
  const lut = result.data as DenseNasLut;
  try {
    indexLut(lut);
  } catch (e) {
    throw new TorchnasError(`${source}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
  }
  return lut;
}

/** Reads a file whole, gunzipping it when it starts with the gzip magic (bundled data is gzipped). */
async function readText(file: string): Promise<string> {
  let bytes = await readBenchmarkBytes(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new TorchnasError(`${file}: corrupt gzip data (${(e as Error).message})`, 'FILE_CORRUPT', { cause: e });
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new TorchnasError(`${file}: not UTF-8 text`, 'FILE_CORRUPT', { cause: e });
  }
}

/** Reads a keyed LUT (JSON, optionally gzipped). @throws TorchnasError FILE_NOT_FOUND / FILE_CORRUPT. */
export async function readLutFile(file: string): Promise<DenseNasLut> {
  const text = await readText(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TorchnasError(`${file}: corrupt JSON (${(e as Error).message})`, 'FILE_CORRUPT', { cause: e });
  }
  return validateLut(value, file);
}

/** Writes a keyed LUT as JSON, atomically. */
export async function writeLutFile(file: string, lut: DenseNasLut): Promise<void> {
  await writeJsonAtomic(file, validateLut(lut, 'LUT to write'));
}

/** Reads an original positional `lat_list` file (optionally gzipped) and fits it to `space` (§5.2). */
export async function readLatListFile(file: string, space: DenseSpace): Promise<DenseCostList> {
  return parseLatList(await readText(file), space, file);
}

/** Writes a positional `lat_list` file as the original does (one line, no trailing newline), atomically. */
export async function writeLatListFile(file: string, costs: DenseCostList): Promise<void> {
  await writeFileAtomic(file, formatLatList(costs));
}

/** A LUT read from either format: keyed JSON as is, a positional `lat_list` fitted to a space and keyed. */
export interface LoadedLut {
  lut: DenseNasLut;
  format: 'keyed' | 'lat_list';
  file: string;
  /**
   * False for a `lat_list`: the original format records no device, threads or LibTorch version, so
   * `lut.fingerprint` holds placeholders ('unknown', threads 0) and only the assumed batch.
   */
  fingerprintKnown: boolean;
}

/** The fingerprint given to a positional `lat_list`, which records none (§5.1): only the batch it is assumed to have. */
export function unknownFingerprint(batch: number): LutFingerprint {
  return { device: 'unknown', threads: 0, torch: 'unknown', dtype: 'float32', batch };
}

/**
 * Reads a keyed LUT (a JSON object) or an original positional `lat_list` (a nested list), either optionally
 * gzipped, telling them apart by their first character. A `lat_list` has no keys, so it needs the space it
 * was measured for and its batch (default 32, the shipped LUTs', §5.1).
 * @throws TorchnasError INVALID_ARGUMENT for a `lat_list` without a space; FILE_CORRUPT for anything else
 *   than the two formats, or a `lat_list` that does not fit the space (naming the block, branch or layer).
 */
export async function readLutOrLatListFile(file: string, options: { space?: DenseSpace; batch?: number } = {}): Promise<LoadedLut> {
  const text = await readText(file);
  const first = text.trimStart()[0];
  if (first === '{') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new TorchnasError(`${file}: corrupt JSON (${(e as Error).message})`, 'FILE_CORRUPT', { cause: e });
    }
    return { lut: validateLut(value, file), format: 'keyed', file, fingerprintKnown: true };
  }
  if (first === '[') {
    if (options.space === undefined) {
      throw new TorchnasError(`${file} is a positional lat_list (densenas.md §5.2): it has no keys, so it needs the config it was measured for (--config F)`, 'INVALID_ARGUMENT');
    }
    const batch = options.batch ?? 32;
    const costs = parseLatList(text, options.space, file);
    return { lut: lutFromCostList(options.space, costs, unknownFingerprint(batch)), format: 'lat_list', file, fingerprintKnown: false };
  }
  throw new TorchnasError(`${file}: neither a keyed DenseNAS LUT (a JSON object) nor a positional lat_list (a nested list)`, 'FILE_CORRUPT');
}
