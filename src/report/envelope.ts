/**
 * The one envelope of every `result.json` (docs/architecture.md, "Shared pieces"): what ran (method, versions, device,
 * threads, seed, config), when and for how long, and how it ended; the method's own result sits in `result`.
 * An interrupted or failed run still writes its envelope, with whatever partial result it has, so the file
 * on disk is always one valid JSON document.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../core/atomic-file';
import { getThreads } from '../core/device';
import { TorchnasError } from '../core/errors';
import { native, PACKAGE_ROOT } from '../native';

export type RunStatus = 'completed' | 'interrupted' | 'failed';

export interface ResultEnvelope<R = unknown> {
  /** The command that ran, e.g. 'tenas search', 'ncp train', 'train-demo'. */
  method: string;
  /** torchnas package version. */
  torchnas: string;
  /** LibTorch version the addon is linked against. */
  libtorch: string;
  device: string;
  /** LibTorch intra-op threads when the run ended. */
  threads: number;
  seed: number | null;
  /** The validated config (or the options) the run used. */
  config: unknown;
  status: RunStatus;
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  /** Set when status is 'failed' or 'interrupted'. */
  error?: { code: string; message: string };
  /** The method's result; partial when interrupted, possibly null. */
  result: R;
}

/** What the envelope needs to know before the run starts. */
export interface RunDescription {
  method: string;
  device: string;
  seed?: number | null;
  config: unknown;
}

let cachedVersion: string | undefined;
/** This package's version (package.json). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      cachedVersion = native().version;
    }
  }
  return cachedVersion;
}

/** A run's clock: started now, `envelope()` closes it with a status and a result. */
class RunRecord {
  private readonly started = new Date();
  constructor(private readonly description: RunDescription) {}

  envelope<R>(status: RunStatus, result: R, error?: unknown): ResultEnvelope<R> {
    const finished = new Date();
    return {
      method: this.description.method,
      torchnas: packageVersion(),
      libtorch: native().info().torch,
      device: this.description.device,
      threads: getThreads(),
      seed: this.description.seed ?? null,
      config: this.description.config,
      status,
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      wallSeconds: (finished.getTime() - this.started.getTime()) / 1000,
      ...(error === undefined ? {} : { error: describeError(error) }),
      result,
    };
  }
}

/** The status a run that threw `e` ends with. */
export function statusOf(e: unknown): RunStatus {
  return e instanceof TorchnasError && e.code === 'CANCELLED' ? 'interrupted' : 'failed';
}

function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof TorchnasError) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** The file every command writes its envelope to. */
export const RESULT_FILE = 'result.json';

/** Writes DIR/result.json atomically (DIR is created). */
export async function writeResultFile(dir: string, envelope: ResultEnvelope): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, RESULT_FILE);
  await writeJsonAtomic(file, envelope);
  return file;
}

/** Where a run's envelope goes: DIR/result.json and/or a callback (the CLI's `--json`). */
export interface EnvelopeTargets {
  /** Folder for result.json. */
  out?: string;
  /** Receives the envelope when the run ends, however it ends (also without `out`). */
  onEnvelope?: (envelope: ResultEnvelope) => void;
  /** Told what runs as the run starts (the CLI's run record writes it as events.jsonl's `start` line). */
  onStart?: (description: RunDescription) => void;
}

/**
 * Runs `work`, then writes DIR/result.json (when `out` is given) as completed, or — when `work` throws — as
 * interrupted/failed with `partial()` as the result, and rethrows.
 */
export async function recordRun<R, P>(description: RunDescription, targets: EnvelopeTargets, work: () => Promise<R>, partial: () => P): Promise<R> {
  const record = new RunRecord(description);
  targets.onStart?.(description);
  const deliver = async (envelope: ResultEnvelope) => {
    if (targets.out) await writeResultFile(targets.out, envelope);
    targets.onEnvelope?.(envelope);
  };
  let result: R;
  try {
    result = await work();
  } catch (e) {
    await deliver(record.envelope(statusOf(e), partial(), e));
    throw e;
  }
  await deliver(record.envelope('completed', result));
  return result;
}
