/**
 * DenseNAS latency LUTs measured on the user's device (densenas.md §5.1, "Beyond the original" item 3):
 * `buildLut` times every distinct key the space's positional layout needs, once, at the space's real sizes,
 * writing the keyed table as it goes so a killed build resumes; `checkLut` re-times a seeded sample and
 * reports the drift; `showLut` summarises a table. Keyed entries are reusable across configs, so a build
 * into an existing file keeps that file's other entries (same fingerprint only).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DenseNasLut,
  LoadedLut,
  LutEntry,
  LutFingerprint,
  LutKey,
  LutStats,
  checkLutFingerprint,
  costListFromLut,
  lutKeyString,
  lutPositions,
  readLutFile,
  writeLatListFile,
  writeLutFile,
} from '../../benchmarks/densenas-lut';
import { isCancelled, linkCancelToken } from '../../core/cancel';
import { getThreads, resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { Random } from '../../core/random';
import { NativeCancelToken, NativeLatencyEntry, native } from '../../native';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { DenseNasConfig } from '../../spaces/densenas/config-schema';
import { costListSum } from '../../spaces/densenas/cost-list';
import { convOutSize } from '../../spaces/densenas/ops';
import { DenseSpace, buildDenseSpace } from '../../spaces/densenas/space';

/** The batch of the shipped LUTs and of the §8 reference (densenas.md §5.1, §8.1). */
export const DEFAULT_LUT_BATCH = 32;

/** How each entry is timed (defaults: 2 warm-up runs, then 10..200 runs until the median is stable). */
export interface LutMeasureOptions {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** LibTorch intra-op threads for the timing (process-wide, as every method's `threads`); default the current setting. */
  threads?: number;
  /**
   * Untimed runs before each entry's timed runs (default 2). Few are needed: the statistic is the median and its
   * standard error comes from the middle order statistics, so a slow first timed run does not move either.
   * Measured on the §8 space (402 keys, 1 thread): the medians with 2 warm-up runs and with 5 agree (per-key
   * ratio 1.011 at the median, totals 2131 vs 2134 ms), and the build times 21 % fewer runs (time-weighted).
   */
  warmup?: number;
  /** Timed runs at least (default 10). */
  minRuns?: number;
  /** Timed runs at most (default 200). */
  maxRuns?: number;
  /** Stop once the relative standard error of the median is below this (default 0.01; 0: always maxRuns). */
  relSe?: number;
  /** Seed of the random inputs and weights (default 0). */
  seed?: number;
  /** Ends the run with CANCELLED after the run in flight. */
  signal?: AbortSignal;
  /** Called after each entry timed: entries done (resumed ones included) of all, with `entry` (its key) and `median` (ms). */
  onProgress?: ProgressCallback;
  /** Receives the run's result.json envelope however it ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /** Told what runs as the build starts (the CLI's events.jsonl). */
  onStart?: EnvelopeTargets['onStart'];
}

interface Settings {
  warmup: number;
  minRuns: number;
  maxRuns: number;
  relSe: number;
  seed: number;
}

function integer(value: number | undefined, fallback: number, name: string, flag: string, min: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new TorchnasError(`${name} (${flag}) must be an integer >= ${min}, got ${String(v)}`, 'INVALID_ARGUMENT');
  return v;
}

function settingsOf(options: LutMeasureOptions): Settings {
  const warmup = integer(options.warmup, 2, 'warmup', '--warmup', 0);
  const minRuns = integer(options.minRuns, 10, 'minRuns', '--min-runs', 1);
  const maxRuns = integer(options.maxRuns, 200, 'maxRuns', '--max-runs', 1);
  if (maxRuns < minRuns) throw new TorchnasError(`maxRuns (--max-runs ${maxRuns}) must be >= minRuns (--min-runs ${minRuns})`, 'INVALID_ARGUMENT');
  const relSe = options.relSe ?? 0.01;
  if (!Number.isFinite(relSe) || relSe < 0) throw new TorchnasError(`relSe (--rel-se) must be a number >= 0, got ${String(relSe)}`, 'INVALID_ARGUMENT');
  const seed = integer(options.seed, 0, 'seed', '--seed', 0);
  return { warmup, minRuns, maxRuns, relSe, seed };
}

/** Applies `threads` and checks the device; returns the canonical device ('cuda' → 'cuda:0'). */
function prepare(options: LutMeasureOptions): string {
  if (options.threads !== undefined) setThreads(integer(options.threads, 1, 'threads', '--threads', 1));
  return resolveDevice(options.device ?? 'cpu');
}

/** The name of a CUDA device from nvidia-smi (LibTorch's info has none), honouring CUDA_VISIBLE_DEVICES; undefined when unavailable. */
function cudaDeviceName(index: number): string | undefined {
  const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const id = visible !== undefined && visible.length > index ? visible[index] : String(index);
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader', '-i', id], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim().split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A device's name in a fingerprint: 'cpu: <CPU model>' or 'cuda: <GPU name>'. */
export function deviceFingerprintName(device: string): string {
  if (device === 'cpu') return `cpu: ${os.cpus()[0]?.model.trim() || 'unknown CPU'}`;
  const index = Number(/^cuda:(\d+)$/.exec(device)?.[1] ?? 0);
  return `cuda: ${cudaDeviceName(index) ?? `device ${index} (name unknown: nvidia-smi not available)`}`;
}

/** The fingerprint of timings taken now on `device` (canonical name) at `batch`: device name, current threads, LibTorch version, float32. */
export function currentFingerprint(device: string, batch: number): LutFingerprint {
  return { device: deviceFingerprintName(device), threads: getThreads(), torch: native().info().torch, dtype: 'float32', batch };
}

/** One distinct key of a space's layout and every position that uses it. */
export interface LutPlanItem {
  key: LutKey;
  /** lutKeyString(key). */
  id: string;
  /** The positions sharing the key (§5.2 order), e.g. 'block 1 stack layer 2 op 0 (mbconv_k3_t3)'. */
  positions: string[];
}

/** The distinct keys `space` needs at `batch`, in the order of their first position (§5.1 traversal). */
export function lutPlan(space: DenseSpace, batch: number): LutPlanItem[] {
  const byId = new Map<string, LutPlanItem>();
  for (const { key, where } of lutPositions(space, batch)) {
    const id = lutKeyString(key);
    const item = byId.get(id);
    if (item) item.positions.push(where);
    else byId.set(id, { key, id, positions: [where] });
  }
  return [...byId.values()];
}

/**
 * What the native timer runs for a key. The MBV2 stem entry is two runs added together (§5.1): the stem conv,
 * then the head_block mbconv_k3_t1 on the stem's output (init_dim = head_dim, checked by buildDenseSpace).
 */
export function nativeEntriesOf(key: LutKey): NativeLatencyEntry[] {
  const { cIn, cOut, stride, h, w } = key;
  switch (key.op) {
    case 'stem_mbv2':
      return [
        { kind: 'stem', op: 'relu6', cIn, cOut, stride, h, w },
        { kind: 'op', op: 'mbconv_k3_t1', cIn: cOut, cOut, stride: 1, h: convOutSize(h, 3, stride), w: convOutSize(w, 3, stride) },
      ];
    case 'stem_res':
      return [{ kind: 'stem', op: 'relu', cIn, cOut, stride, h, w }];
    case 'conv1_1':
      return [{ kind: 'conv1_1', cIn, cOut, h, w }];
    case 'linear':
      return [{ kind: 'linear', cIn, cOut }];
    default:
      return [{ kind: 'op', op: key.op, cIn, cOut, stride, h, w }];
  }
}

/**
 * Statistics of a sum of independently timed parts (the MBV2 stem): means, medians and minima add, variances
 * add, count is the smaller part's. (The median of a sum is not the sum of medians; close enough for a LUT entry.)
 */
export function addStats(parts: readonly LutStats[]): LutStats {
  return {
    count: Math.min(...parts.map((p) => p.count)),
    mean: parts.reduce((s, p) => s + p.mean, 0),
    median: parts.reduce((s, p) => s + p.median, 0),
    std: Math.sqrt(parts.reduce((s, p) => s + p.std * p.std, 0)),
    min: parts.reduce((s, p) => s + p.min, 0),
    ...(parts.every((p) => p.medianSe !== undefined) ? { medianSe: Math.sqrt(parts.reduce((s, p) => s + (p.medianSe ?? 0) ** 2, 0)) } : {}),
  };
}

async function timeKey(key: LutKey, space: DenseSpace, device: string, settings: Settings, token: NativeCancelToken): Promise<LutStats> {
  const stats = await native().measureDenseOps(
    nativeEntriesOf(key),
    { batch: key.batch, device, warmup: settings.warmup, minRuns: settings.minRuns, maxRuns: settings.maxRuns, relSe: settings.relSe, bn: space.bn, seed: settings.seed },
    undefined,
    token,
  );
  return addStats(stats);
}

/** Median over entries of std / mean (entries with at least two runs); null when none has. */
export function medianRelativeStd(entries: readonly LutEntry[]): number | null {
  const values = entries.filter((e) => e.count >= 2 && e.mean > 0).map((e) => e.std / e.mean);
  return values.length === 0 ? null : median(values);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Refuses to start a run whose output cannot be written (before minutes of timing, not after). */
function checkFolder(file: string, flag: string): void {
  const dir = path.dirname(path.resolve(file));
  let ok = false;
  try {
    ok = fs.statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new TorchnasError(`cannot write ${flag} ${file}: folder ${dir} does not exist`, 'FILE_NOT_FOUND');
}

export interface BuildLutOptions extends LutMeasureOptions {
  /** Batch of the timed inputs (default 32). */
  batch?: number;
  /** Keyed LUT file (JSON): written atomically as the build goes, resumed from when it exists (same fingerprint). */
  out?: string;
  /** Also write the space's positional `lat_list` (§5.2) here when the build completes. */
  latList?: string;
  /** The statistic written to the lat_list and summed in `total` (default median: CPU timings have outliers). */
  statistic?: 'mean' | 'median' | 'min';
  /** Ignore an existing `out` file (overwrite it) instead of resuming from it. */
  fresh?: boolean;
  /** Write the partial table at most this often while measuring (default 5 s; 0: after every entry). It is always written at the end, on cancel and on failure. */
  saveEverySeconds?: number;
}

export interface BuildLutResult {
  lut: DenseNasLut;
  /** The keyed LUT file written, if any. */
  file: string | null;
  latList: string | null;
  /** Positions of the space's cost list (§5.2). */
  positions: number;
  /** Distinct keys the space needs (= LUT entries of this space). */
  entries: number;
  /** Entries timed by this run. */
  measured: number;
  /** Entries taken from the existing `out` file. */
  resumed: number;
  /** Entries of the existing `out` file this space does not use, kept in the file. */
  kept: number;
  /** Sum over every position of the chosen statistic (ms per batch), as the original logs its LUT total. */
  total: number;
  statistic: 'mean' | 'median' | 'min';
  /** Median over the space's entries of std / mean of the timed runs. */
  spread: number | null;
  fingerprint: LutFingerprint;
  seconds: number;
}

/** Reads the `out` file a build resumes from; refuses another fingerprint (its entries cannot be mixed with this run's). */
async function readResumable(file: string, fingerprint: LutFingerprint): Promise<DenseNasLut | undefined> {
  if (!fs.existsSync(file)) return undefined;
  let lut: DenseNasLut;
  try {
    lut = await readLutFile(file);
  } catch (e) {
    if (!(e instanceof TorchnasError)) throw e;
    throw new TorchnasError(`cannot resume from ${file}: ${e.message}; remove it, choose another output file, or overwrite it with --fresh`, e.code, { cause: e });
  }
  const differences = checkLutFingerprint(lut, fingerprint, { mode: 'warn', onWarning: () => undefined });
  if (differences.length > 0) {
    throw new TorchnasError(
      `${file} holds a LUT of another fingerprint (${differences.join('; ')}), so this run cannot resume from it: choose another output file, or overwrite it with --fresh`,
      'INVALID_ARGUMENT',
    );
  }
  return lut;
}

/**
 * Measures the latency LUT of a DenseNAS config on this device (§5.1): every distinct key of the positional
 * layout timed once in isolation at its real input size (eval mode, no grad, super-net BN), reused by every
 * position that shares it (e.g. the stack layers of a block). With `out`, the keyed table is written as it
 * goes and on cancel or failure; re-running with the same `out` times only the keys it lacks.
 * @throws TorchnasError CONFIG_INVALID for a bad config, INVALID_ARGUMENT for bad options or an `out` file of
 *   another fingerprint, FILE_NOT_FOUND for an output folder that does not exist, CANCELLED when aborted.
 */
export async function buildLut(config: DenseNasConfig, options: BuildLutOptions = {}): Promise<BuildLutResult> {
  const space = buildDenseSpace(config);
  const settings = settingsOf(options);
  const batch = integer(options.batch, DEFAULT_LUT_BATCH, 'batch', '--batch', 1);
  const saveEvery = options.saveEverySeconds ?? 5;
  if (!Number.isFinite(saveEvery) || saveEvery < 0) throw new TorchnasError(`saveEverySeconds must be a number >= 0, got ${String(saveEvery)}`, 'INVALID_ARGUMENT');
  const statistic = options.statistic ?? 'median';
  if (options.out !== undefined) checkFolder(options.out, '--out');
  if (options.latList !== undefined) checkFolder(options.latList, '--lat-list');
  const device = prepare(options);
  const fingerprint = currentFingerprint(device, batch);
  const plan = lutPlan(space, batch);
  const counts = { measured: 0, resumed: 0, kept: 0 };
  const description = {
    method: 'lut build',
    device,
    seed: settings.seed,
    config: { densenas: config, lut: { batch, ...settings, threads: fingerprint.threads, out: options.out ?? null, latList: options.latList ?? null, fresh: Boolean(options.fresh) } },
  };
  return recordRun(
    description,
    { onEnvelope: options.onEnvelope, onStart: options.onStart },
    async () => {
      const started = Date.now();
      const existing = options.out !== undefined && !options.fresh ? await readResumable(options.out, fingerprint) : undefined;
      const have = new Map<string, LutEntry>((existing?.entries ?? []).map((e) => [lutKeyString(e), e]));
      const needed = new Set(plan.map((p) => p.id));
      counts.resumed = plan.filter((p) => have.has(p.id)).length;
      counts.kept = have.size - counts.resumed;
      // This space's entries in traversal order, then the file's other entries as they were.
      const snapshot = (): DenseNasLut => ({
        format: 'torchnas-densenas-lut',
        version: 1,
        unit: 'ms',
        fingerprint,
        entries: [...plan.filter((p) => have.has(p.id)).map((p) => have.get(p.id)!), ...[...have].filter(([id]) => !needed.has(id)).map(([, e]) => e)],
      });
      let dirty = false;
      let lastSave = Date.now();
      const save = async () => {
        if (options.out === undefined || !dirty) return;
        await writeLutFile(options.out, snapshot());
        dirty = false;
        lastSave = Date.now();
      };
      const link = linkCancelToken(options.signal);
      try {
        for (const item of plan) {
          if (have.has(item.id)) continue;
          if (options.signal?.aborted) throw new TorchnasError('cancelled', 'CANCELLED');
          const stats = await timeKey(item.key, space, device, settings, link.token);
          have.set(item.id, { ...item.key, ...stats });
          counts.measured++;
          dirty = true;
          if (Date.now() - lastSave >= saveEvery * 1000) await save();
          options.onProgress?.(counts.resumed + counts.measured, plan.length, { entry: item.id, median: stats.median });
        }
      } catch (e) {
        try {
          await save();
        } catch {
          // the original failure is the one to report
        }
        if (isCancelled(e)) {
          const kept = options.out === undefined ? '' : `; ${options.out} holds them and the same command resumes`;
          throw new TorchnasError(`LUT build was cancelled after ${counts.resumed + counts.measured} of ${plan.length} entries${kept}`, 'CANCELLED', { cause: e });
        }
        throw e;
      } finally {
        link.release();
      }
      dirty = true;
      await save();
      const lut = snapshot();
      const costs = costListFromLut(space, lut, { statistic });
      if (options.latList !== undefined) await writeLatListFile(options.latList, costs);
      const entries = plan.map((p) => have.get(p.id)!);
      return {
        lut,
        file: options.out ?? null,
        latList: options.latList ?? null,
        positions: plan.reduce((s, p) => s + p.positions.length, 0),
        entries: plan.length,
        ...counts,
        total: costListSum(costs),
        statistic,
        spread: medianRelativeStd(entries),
        fingerprint,
        seconds: (Date.now() - started) / 1000,
      };
    },
    () => ({ file: options.out ?? null, entries: plan.length, ...counts }),
  );
}

/** A LUT as given to check/show: a table, or a file read with readLutOrLatListFile. */
export type AnyLut = DenseNasLut | LoadedLut;

function loaded(lut: AnyLut): LoadedLut {
  return 'lut' in lut ? lut : { lut, format: 'keyed', file: '', fingerprintKnown: true };
}

const describeLut = (l: LoadedLut): string => (l.file === '' ? 'the LUT' : `LUT ${l.file}`);

/**
 * The keys `space` needs that `lut` lacks (at the LUT's batch).
 * @returns the plan and the missing items, in traversal order.
 */
export function lutCoverage(space: DenseSpace, lut: DenseNasLut): { plan: LutPlanItem[]; missing: LutPlanItem[] } {
  const have = new Set(lut.entries.map(lutKeyString));
  const plan = lutPlan(space, lut.fingerprint.batch);
  return { plan, missing: plan.filter((p) => !have.has(p.id)) };
}

/** @throws TorchnasError INVALID_ARGUMENT naming how many keys are missing and the first one (its position and key). */
function requireFit(space: DenseSpace, l: LoadedLut, configName: string): LutPlanItem[] {
  const { plan, missing } = lutCoverage(space, l.lut);
  if (missing.length > 0) {
    const first = missing[0];
    throw new TorchnasError(
      `${describeLut(l)} does not fit ${configName}: it lacks ${missing.length} of the ${plan.length} entries that space needs at batch ${l.lut.fingerprint.batch}, first ${first.positions[0]}: key ${first.id} (a LUT of another space or batch? build one with 'torchnas lut build')`,
      'INVALID_ARGUMENT',
    );
  }
  return plan;
}

export interface CheckLutOptions extends LutMeasureOptions {
  /** Entries to re-time (default 20; at most the space's entries). */
  sample?: number;
  /**
   * Times the sample this many times (default 2), in alternating order, so each entry's timings lie apart in
   * time: the spread between passes is this machine's run-to-run repeatability, which enters every row's noise.
   * 1: one pass, noise from the within-run standard errors only.
   */
  passes?: number;
  /** Names the config in messages (default 'the config'). */
  configName?: string;
}

/** One re-timed entry. */
export interface LutDriftRow {
  entry: string;
  /** Its first position in the space. */
  where: string;
  /** Stored and measured median, ms per batch. */
  stored: number;
  measured: number;
  /** measured / stored − 1; null where the stored median is 0. */
  drift: number | null;
  /** Timed runs of the new measurement (all passes). */
  count: number;
  /** Each pass's median, ms per batch (`measured` is their median). */
  passes: number[];
  /**
   * The drift's own relative standard error: both medians' standard errors and, with two or more passes, the
   * machine's run-to-run repeatability r (the stored median is one such measurement, the measured one the median of
   * P): √((se/stored)² + (se/measured)² + r²·(1 + 1/P)). Null with one pass when the stored entry has no standard
   * error (a lat_list, or a LUT written before entries kept `medianSe`).
   */
  noise: number | null;
  /** |drift| > 1.96 · noise: a change of the device (or its load) rather than measurement noise; null without noise. */
  beyondNoise: boolean | null;
}

export interface CheckLutResult {
  file: string | null;
  format: LoadedLut['format'];
  /** Entries the space needs; entries re-timed. */
  entries: number;
  sampled: number;
  seed: number;
  rows: LutDriftRow[];
  /** Median of |drift| over the sample: the headline number. */
  medianAbsDrift: number | null;
  /** Rows whose drift exceeds their noise (95 %), of the rows that have a noise estimate; null when none has. */
  beyondNoise: { rows: number; of: number } | null;
  /** Passes over the sample. */
  passes: number;
  /**
   * Run-to-run repeatability of one pass's median on this machine now (relative standard deviation), from the
   * spread between passes: 1.4826 · median |ln(mᵢ/mⱼ)| / √2 over the entries' pass pairs; null with one pass.
   */
  repeatability: number | null;
  meanDrift: number | null;
  maxAbsDrift: number | null;
  fingerprint: {
    /** null for a lat_list (the format records none). */
    lut: LutFingerprint | null;
    here: LutFingerprint;
    /** `field: LUT value ≠ this device's`, or the note that a lat_list records no fingerprint. */
    differences: string[];
  };
  seconds: number;
}

/**
 * Re-times a seeded random sample of the entries `config`'s space needs on this device, at the LUT's batch, and
 * reports each one's drift (measured median / stored median − 1), the median absolute drift, and how the
 * LUT's fingerprint differs from this device's.
 * @throws TorchnasError INVALID_ARGUMENT when the LUT lacks entries of the space (naming the first) or for bad options; CANCELLED.
 */
export async function checkLut(config: DenseNasConfig, lut: AnyLut, options: CheckLutOptions = {}): Promise<CheckLutResult> {
  const space = buildDenseSpace(config);
  const l = loaded(lut);
  const settings = settingsOf(options);
  const sample = integer(options.sample, 20, 'sample', '--sample', 1);
  const passes = integer(options.passes, 2, 'passes', '--passes', 1);
  const plan = requireFit(space, l, options.configName ?? 'the config');
  const device = prepare(options);
  const batch = l.lut.fingerprint.batch;
  const here = currentFingerprint(device, batch);
  const differences = l.fingerprintKnown
    ? checkLutFingerprint(l.lut, here, { mode: 'warn', onWarning: () => undefined })
    : [`the positional lat_list format records no fingerprint (device, threads, LibTorch version unknown); batch ${batch} assumed`];
  const chosen = new Set(new Random(settings.seed).shuffle([...plan]).slice(0, sample));
  const picked = plan.filter((p) => chosen.has(p));
  const stored = new Map(l.lut.entries.map((e) => [lutKeyString(e), e]));
  // timings[k][i]: pass k's timing of picked[i] (odd passes run the sample backwards, so an entry's timings lie
  // apart in time); holes where an interrupted pass did not get to an entry.
  const timings: LutStats[][] = [];
  const driftRows = (): { rows: LutDriftRow[]; repeatability: number | null } => {
    const logs: number[] = [];
    for (let a = 0; a < timings.length; a++) {
      for (let b = a + 1; b < timings.length; b++) {
        picked.forEach((_, i) => {
          const [x, y] = [timings[a][i]?.median, timings[b][i]?.median];
          if (x > 0 && y > 0) logs.push(Math.abs(Math.log(y / x)));
        });
      }
    }
    const repeatability = logs.length > 0 ? (1.4826 * median(logs)) / Math.SQRT2 : null;
    const rows: LutDriftRow[] = [];
    picked.forEach((item, i) => {
      const runs = timings.map((pass) => pass[i]).filter((t): t is LutStats => t !== undefined);
      if (runs.length === 0) return;
      const measured = median(runs.map((t) => t.median));
      const measuredSe = Math.hypot(...runs.map((t) => t.medianSe ?? 0)) / runs.length;
      const entry = stored.get(item.id)!;
      const old = entry.median;
      const drift = old > 0 ? measured / old - 1 : null;
      // without its own standard error the stored median still has the machine's run-to-run spread
      const storedSe = entry.medianSe !== undefined ? entry.medianSe / old : repeatability !== null ? 0 : undefined;
      const noise =
        drift !== null && storedSe !== undefined && measured > 0
          ? Math.hypot(storedSe, measuredSe / measured, repeatability === null ? 0 : repeatability * Math.sqrt(1 + 1 / runs.length))
          : null;
      rows.push({
        entry: item.id,
        where: item.positions[0],
        stored: old,
        measured,
        drift,
        count: runs.reduce((n, t) => n + t.count, 0),
        passes: runs.map((t) => t.median),
        noise,
        beyondNoise: noise === null || drift === null ? null : Math.abs(drift) > 1.96 * noise,
      });
    });
    return { rows, repeatability };
  };
  return recordRun(
    { method: 'lut check', device, seed: settings.seed, config: { densenas: config, lut: l.file || null, sample, passes, ...settings, threads: here.threads } },
    { onEnvelope: options.onEnvelope },
    async () => {
      const started = Date.now();
      const link = linkCancelToken(options.signal);
      try {
        for (let k = 0; k < passes; k++) {
          const pass: LutStats[] = [];
          timings.push(pass);
          const order = picked.map((_, i) => i);
          if (k % 2 === 1) order.reverse();
          for (const [n, i] of order.entries()) {
            if (options.signal?.aborted) throw new TorchnasError(`LUT check was cancelled in pass ${k + 1} of ${passes}`, 'CANCELLED');
            pass[i] = await timeKey(picked[i].key, space, device, settings, link.token);
            options.onProgress?.(k * picked.length + n + 1, passes * picked.length, { pass: k + 1, entry: picked[i].id, median: pass[i].median });
          }
        }
      } finally {
        link.release();
      }
      const { rows, repeatability } = driftRows();
      const drifts = rows.map((r) => r.drift).filter((d): d is number => d !== null);
      return {
        file: l.file || null,
        format: l.format,
        entries: plan.length,
        sampled: rows.length,
        seed: settings.seed,
        rows,
        medianAbsDrift: drifts.length > 0 ? median(drifts.map(Math.abs)) : null,
        beyondNoise: (() => {
          const judged = rows.filter((r) => r.beyondNoise !== null);
          return judged.length > 0 ? { rows: judged.filter((r) => r.beyondNoise).length, of: judged.length } : null;
        })(),
        passes,
        repeatability,
        meanDrift: drifts.length > 0 ? drifts.reduce((a, b) => a + b, 0) / drifts.length : null,
        maxAbsDrift: drifts.length > 0 ? Math.max(...drifts.map(Math.abs)) : null,
        fingerprint: { lut: l.fingerprintKnown ? l.lut.fingerprint : null, here, differences },
        seconds: (Date.now() - started) / 1000,
      };
    },
    // interrupted: the entries timed so far
    () => ({ rows: driftRows().rows }),
  );
}

/** What `showLut` reports. */
export interface LutSummary {
  file: string | null;
  format: LoadedLut['format'];
  /** null for a lat_list (the format records none). */
  fingerprint: LutFingerprint | null;
  entries: number;
  /** Timed runs over all entries; null for a lat_list (its counts are merged positions, not runs). */
  runs: number | null;
  /** Sum of the entries' medians (each key once), ms per batch. */
  total: number;
  /** Median over entries of std / mean of the timed runs; null for a lat_list. */
  spread: number | null;
  /** The slowest entries by median, with their share of `total`. */
  slowest: { entry: string; op: string; median: number; share: number }[];
  /** Per op name: entries and summed medians, largest first. */
  ops: { op: string; entries: number; total: number }[];
  /** With a config: how the LUT fits its space. */
  space?: {
    positions: number;
    entries: number;
    missing: number;
    /** The first missing position and key. */
    firstMissing: string | null;
    /** Sum over every position (as the original logs it): medians of a keyed LUT, the values themselves of a lat_list; null when entries are missing. */
    total: number | null;
  };
}

/** Summarises a LUT: entries, total, spread, slowest ops; with `space`, whether it covers that space and the positional total. */
export function showLut(lut: AnyLut, options: { space?: DenseSpace; top?: number } = {}): LutSummary {
  const l = loaded(lut);
  const entries = l.lut.entries;
  const top = integer(options.top, 10, 'top', '--top', 1);
  const total = entries.reduce((s, e) => s + e.median, 0);
  const ops = new Map<string, { op: string; entries: number; total: number }>();
  for (const e of entries) {
    const o = ops.get(e.op) ?? { op: e.op, entries: 0, total: 0 };
    o.entries++;
    o.total += e.median;
    ops.set(e.op, o);
  }
  const summary: LutSummary = {
    file: l.file || null,
    format: l.format,
    fingerprint: l.fingerprintKnown ? l.lut.fingerprint : null,
    entries: entries.length,
    runs: l.format === 'keyed' ? entries.reduce((s, e) => s + e.count, 0) : null,
    total,
    spread: l.format === 'keyed' ? medianRelativeStd(entries) : null,
    slowest: [...entries]
      .sort((a, b) => b.median - a.median)
      .slice(0, top)
      .map((e) => ({ entry: lutKeyString(e), op: e.op, median: e.median, share: total > 0 ? e.median / total : 0 })),
    ops: [...ops.values()].sort((a, b) => b.total - a.total),
  };
  if (options.space) {
    const { plan, missing } = lutCoverage(options.space, l.lut);
    // A lat_list's merged positions hold their mean, so its positional total is the file's own sum.
    const statistic = l.format === 'lat_list' ? 'mean' : 'median';
    summary.space = {
      positions: plan.reduce((s, p) => s + p.positions.length, 0),
      entries: plan.length,
      missing: missing.length,
      firstMissing: missing.length > 0 ? `${missing[0].positions[0]}: key ${missing[0].id}` : null,
      total: missing.length === 0 ? costListSum(costListFromLut(options.space, l.lut, { statistic })) : null,
    };
  }
  return summary;
}

