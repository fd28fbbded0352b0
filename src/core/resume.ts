/**
 * Resumable runs: a run folder holds `checkpoint.pt` (written atomically by the native training loop after
 * every epoch: weights, every optimizer's state, schedule position, epoch, step and RNG state) and
 * `run.json`, what the run was started with (method, seed, settings). `--resume DIR` reads both, refuses
 * settings that differ from the stored ones (a resumed run must continue the same computation to end
 * bit-identical to an uninterrupted one) and continues from the checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from './atomic-file';
import { showValue, TorchnasError } from './errors';

export const CHECKPOINT_FILE = 'checkpoint.pt';
export const RUN_FILE = 'run.json';

export interface RunIdentity {
  format: 'torchnas-run/1';
  method: string;
  seed: number;
  /** Everything that decides the computation (config, table, batch size, ...), as plain JSON. */
  settings: Record<string, unknown>;
}

/** Writes DIR/run.json (atomically) before the first checkpoint. */
export async function writeRunIdentity(dir: string, method: string, seed: number, settings: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const identity: RunIdentity = { format: 'torchnas-run/1', method, seed, settings: plain(settings) };
  await writeJsonAtomic(path.join(dir, RUN_FILE), identity);
}

/** What `--resume DIR` continues: the stored identity and the checkpoint's path. */
export interface ResumePoint {
  identity: RunIdentity;
  checkpoint: string;
}

/** Reads DIR/run.json and checks that DIR/checkpoint.pt exists; FILE_NOT_FOUND / FILE_CORRUPT / INVALID_ARGUMENT. */
export function readResumePoint(dir: string, method: string): ResumePoint {
  const runFile = path.join(dir, RUN_FILE);
  const checkpoint = path.join(dir, CHECKPOINT_FILE);
  if (!fs.existsSync(runFile)) {
    throw new TorchnasError(`--resume ${dir}: no ${RUN_FILE} there (not a folder written by a ${method} run with --out)`, 'FILE_NOT_FOUND');
  }
  let identity: RunIdentity;
  try {
    identity = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunIdentity;
  } catch (e) {
    throw new TorchnasError(`--resume ${dir}: ${RUN_FILE} is not valid JSON (${(e as Error).message})`, 'FILE_CORRUPT');
  }
  if (
    typeof identity !== 'object' ||
    identity === null ||
    identity.format !== 'torchnas-run/1' ||
    typeof identity.method !== 'string' ||
    !Number.isSafeInteger(identity.seed) ||
    typeof identity.settings !== 'object' ||
    identity.settings === null
  ) {
    throw new TorchnasError(`--resume ${dir}: ${RUN_FILE} is not a torchnas-run/1 record`, 'FILE_CORRUPT');
  }
  if (identity.method !== method) {
    throw new TorchnasError(`--resume ${dir}: that folder holds a '${identity.method}' run, not '${method}'`, 'INVALID_ARGUMENT');
  }
  if (!fs.existsSync(checkpoint)) {
    throw new TorchnasError(
      `--resume ${dir}: no ${CHECKPOINT_FILE} there (the run stopped before its first checkpoint); start it again without --resume`,
      'FILE_NOT_FOUND',
    );
  }
  return { identity, checkpoint };
}

/**
 * The seed of a resumed run: the stored one, or `given` when it equals it. Every key of `settings` must
 * equal the stored value, except those in `free` (settings a resumed run may change without changing the
 * computation so far, e.g. more epochs of a constant-lr run).
 */
export function checkResumeSettings(point: ResumePoint, given: { seed?: number; settings: Record<string, unknown> }, free: string[] = []): number {
  const stored = point.identity;
  if (given.seed !== undefined && given.seed !== stored.seed) {
    throw new TorchnasError(`--resume: the run was started with seed ${stored.seed}, not ${given.seed}`, 'INVALID_ARGUMENT');
  }
  const difference = firstDifference(stored.settings, plain(given.settings), '', free);
  if (difference) {
    const [where, was, now] = difference;
    throw new TorchnasError(
      `--resume: '${where}' was ${showValue(was)} when the run started, now ${showValue(now)}; resume with the same settings`,
      'INVALID_ARGUMENT',
    );
  }
  return stored.seed;
}

// The first leaf (in sorted key order) where two JSON values differ: [dotted path, stored, current].
function firstDifference(a: unknown, b: unknown, where: string, free: string[]): [string, unknown, unknown] | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const path = where ? `${where}.${key}` : key;
      if (free.includes(path)) continue;
      const d = firstDifference(a[key], b[key], path, free);
      if (d) return d;
    }
    return undefined;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${where}[${i}]`, free);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : [where, a, b];
}

// JSON round trip: drops undefined fields and functions so stored and current settings compare equal.
function plain(settings: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
}
