/**
 * Fanning independent evaluations out over machines with BullMQ on Redis (no protocol of our own): a run puts one
 * job per evaluation on a queue, `torchnas worker` processes anywhere that reach the same Redis take them, and the
 * run gathers their results.
 *
 * - A job carries everything it needs (its kind and a JSON payload: config, architecture, seed) and its id is the
 *   result key: a sha256 of (kind, payload, package version). Finished jobs stay in Redis, so a rerun of the same
 *   work finds them and reuses their results instead of computing them again.
 * - A worker killed mid-job (kill -9) stops renewing the job's lock; BullMQ's stalled-job check in any live worker
 *   puts the job back in the queue and another worker runs it again. Jobs are deterministic functions of their
 *   payload, so the run's results are the same as without the kill.
 * - A job that throws fails once (no retries: its input is what it is), and its error is recorded in the run's
 *   result; the other jobs go on.
 */
import { createHash } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { throwIfAborted } from '../core/cancel';
import { TorchnasError } from '../core/errors';
import { ProgressCallback } from '../core/progress';
import { packageVersion } from '../report/envelope';

/** The queue every `torchnas worker` listens on unless told otherwise. */
export const DEFAULT_QUEUE_NAME = 'torchnas';

export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

/** Parses `redis://[user:password@]host[:port][/db]` (port 6379 and db 0 by default). */
export function parseRedisUrl(url: string): RedisConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TorchnasError(`not a Redis URL: '${url}' (expected redis://host:port[/db])`, 'INVALID_ARGUMENT');
  }
  if (u.protocol !== 'redis:') throw new TorchnasError(`not a Redis URL: '${url}' (expected redis://host:port[/db])`, 'INVALID_ARGUMENT');
  if (!u.hostname) throw new TorchnasError(`Redis URL '${url}' has no host`, 'INVALID_ARGUMENT');
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new TorchnasError(`Redis URL '${url}': database '${dbText}' is not a number`, 'INVALID_ARGUMENT');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(dbText ? { db: Number(dbText) } : {}),
  };
}

/** Checks that Redis answers at `url` within `timeoutMs`; a clear QUEUE_UNAVAILABLE error otherwise. */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const connection = parseRedisUrl(url);
  const client = new IORedis({ ...connection, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined); // reported below
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new TorchnasError(`cannot reach Redis at ${url}: ${(e as Error).message}`, 'QUEUE_UNAVAILABLE', { cause: e });
  } finally {
    client.disconnect();
  }
}

/** Sorted-key JSON: the same value always gives the same text, whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TorchnasError(`job payloads must be JSON: ${value} is not`, 'INVALID_ARGUMENT');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A job's result key and BullMQ job id: sha256 of (kind, payload, package version). */
export function resultKey(kind: string, payload: unknown, version = packageVersion()): string {
  return 'r' + createHash('sha256').update(canonicalJson({ kind, payload, version })).digest('hex');
}

/** One independent evaluation. */
export interface JobSpec<P = unknown> {
  kind: string;
  payload: P;
}

/** What became of one job of a run, in the order the jobs were given. */
export type JobOutcome<R = unknown> =
  | { key: string; status: 'completed'; result: R; reused: boolean }
  | { key: string; status: 'failed'; error: string };

export interface RunJobsOptions {
  queueName?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** How often the run polls Redis for finished jobs (ms, default 250). */
  pollMs?: number;
}

interface JobData {
  kind: string;
  version: string;
  payload: unknown;
}

/**
 * Puts the jobs on the queue at `url` (those already finished by an earlier run are reused, failed ones are tried
 * again) and waits until every job has completed or failed; workers must be running somewhere. Returns one outcome
 * per job, in order.
 */
export async function runJobs<R = unknown>(url: string, jobs: readonly JobSpec[], options: RunJobsOptions = {}): Promise<JobOutcome<R>[]> {
  await checkRedis(url);
  const queue = new Queue<JobData>(options.queueName ?? DEFAULT_QUEUE_NAME, { connection: parseRedisUrl(url) });
  queue.on('error', () => undefined); // connection errors surface through the awaited calls
  try {
    const version = packageVersion();
    const keys = jobs.map((j) => resultKey(j.kind, j.payload, version));
    const outcomes: (JobOutcome<R> | undefined)[] = Array.from({ length: jobs.length }, () => undefined); // no holes: some() skips holes
    const fresh: { name: string; data: JobData; opts: { jobId: string; attempts: number; removeOnComplete: false; removeOnFail: false } }[] = [];
    const queued = new Set<string>();
    for (const [i, job] of jobs.entries()) {
      const key = keys[i];
      const existing = await Job.fromId<JobData, R>(queue, key);
      const state = existing ? await existing.getState() : undefined;
      if (existing && state === 'completed') {
        outcomes[i] = { key, status: 'completed', result: existing.returnvalue, reused: true };
        continue;
      }
      if (existing && state === 'failed') {
        await existing.retry('failed');
        queued.add(key);
        continue;
      }
      if (existing) {
        queued.add(key); // waiting or active: from an earlier, interrupted run
        continue;
      }
      if (queued.has(key)) continue; // the same job twice in one run
      queued.add(key);
      fresh.push({ name: job.kind, data: { kind: job.kind, version, payload: job.payload }, opts: { jobId: key, attempts: 1, removeOnComplete: false, removeOnFail: false } });
    }
    if (fresh.length) await queue.addBulk(fresh);
    const total = jobs.length;
    const report = () => options.onProgress?.(outcomes.filter(Boolean).length, total);
    report();
    const pollMs = options.pollMs ?? 250;
    while (outcomes.some((o) => o === undefined)) {
      throwIfAborted(options.signal, 'queue run');
      const pending = [...new Set(keys.filter((_, i) => outcomes[i] === undefined))];
      const states = await Promise.all(pending.map((key) => queue.getJobState(key)));
      let changed = false;
      for (const [n, key] of pending.entries()) {
        if (states[n] !== 'completed' && states[n] !== 'failed') continue;
        const job = await Job.fromId<JobData, R>(queue, key);
        if (!job) continue;
        const outcome: JobOutcome<R> =
          states[n] === 'completed' ? { key, status: 'completed', result: job.returnvalue, reused: false } : { key, status: 'failed', error: job.failedReason || 'failed without a reason' };
        keys.forEach((k, i) => {
          if (k === key && outcomes[i] === undefined) outcomes[i] = outcome;
        });
        changed = true;
      }
      if (changed) report();
      if (outcomes.some((o) => o === undefined)) await sleep(pollMs, options.signal);
    }
    return outcomes as JobOutcome<R>[];
  } finally {
    await queue.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs one job's payload; registered per job kind. */
export type JobHandler = (payload: unknown, context: { signal: AbortSignal }) => Promise<unknown>;

export interface WorkerOptions {
  queueName?: string;
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  /**
   * The job lock's duration (ms, default 30000): a worker renews it while a job runs; when a killed worker stops
   * renewing, the job is put back in the queue within about this time (BullMQ's stalled-job check).
   */
  stallMs?: number;
  /** Called as jobs start and end (for the worker's log). */
  onEvent?: (event: { type: 'started' | 'completed' | 'failed'; id: string; kind: string; seconds?: number; error?: string }) => void;
}

export interface RunningWorker {
  /** Stops taking jobs; waits for the running ones to finish (or, with force, leaves them to the stall check). */
  close(force?: boolean): Promise<void>;
}

/** Starts a worker that takes jobs from the queue at `url` and runs them with the handler of their kind. */
export async function startWorker(url: string, handlers: Readonly<Record<string, JobHandler>>, options: WorkerOptions = {}): Promise<RunningWorker> {
  await checkRedis(url);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TorchnasError(`concurrency must be an integer >= 1, got ${concurrency}`, 'INVALID_ARGUMENT');
  const stallMs = options.stallMs ?? 30000;
  if (!Number.isFinite(stallMs) || stallMs < 500) throw new TorchnasError(`stall time must be at least 500 ms, got ${stallMs}`, 'INVALID_ARGUMENT');
  const version = packageVersion();
  const controller = new AbortController();
  const worker = new Worker<JobData>(
    options.queueName ?? DEFAULT_QUEUE_NAME,
    async (job) => {
      const { kind, payload } = job.data;
      const started = Date.now();
      options.onEvent?.({ type: 'started', id: job.id ?? '?', kind });
      try {
        if (job.data.version !== version) throw new TorchnasError(`job made by torchnas ${job.data.version}, this worker is ${version}`, 'INVALID_ARGUMENT');
        const handler = handlers[kind];
        if (!handler) throw new TorchnasError(`unknown job kind '${kind}' (this worker knows: ${Object.keys(handlers).join(', ')})`, 'INVALID_ARGUMENT');
        const result = await handler(payload, { signal: controller.signal });
        options.onEvent?.({ type: 'completed', id: job.id ?? '?', kind, seconds: (Date.now() - started) / 1000 });
        return result;
      } catch (e) {
        const code = (e as { code?: string }).code;
        const message = `${code ? `[${code}] ` : ''}${(e as Error).message ?? String(e)}`;
        options.onEvent?.({ type: 'failed', id: job.id ?? '?', kind, seconds: (Date.now() - started) / 1000, error: message });
        throw new Error(message);
      }
    },
    // A killed worker's job is taken back after its lock expires; the check runs as often as the lock lasts.
    { connection: { ...parseRedisUrl(url), maxRetriesPerRequest: null }, concurrency, lockDuration: stallMs, stalledInterval: stallMs, maxStalledCount: 10 },
  );
  worker.on('error', () => undefined); // connection hiccups: ioredis reconnects
  await worker.waitUntilReady();
  return {
    async close(force = false) {
      if (force) controller.abort();
      await worker.close(force);
    },
  };
}
