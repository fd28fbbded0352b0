/**
 * `torchnas ncp train --seeds a,b,c [--queue URL]`: one NCP predictor per seed (a seed study, or the members of an
 * ensemble), trained one after the other here or fanned out as `ncp.train` jobs over `torchnas worker` processes
 * (BullMQ on Redis). Each seed fixes its own split, initialisation, dropout and shuffles (as `--seed` does), so a
 * member is the same predictor whether it trained here or on a worker with the same thread count. With `out`,
 * member N goes to `out/seed-N/` (predictor.json and both checkpoints, as `ncp train --out`; a local member also
 * its own result.json): a queue job brings its files back with its result, so `ncp edit --predictor out/seed-N`
 * works either way. Every member's result is in the run's own result.json.
 *
 * The table travels by name (the config's default table or `--data NAME`), since a worker resolves it in its own
 * installation; the caller's SHA-256 of the table goes with the job when the caller has the file, and a worker
 * whose table differs fails that job (recorded, the others go on).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contentHash } from '../../benchmarks/table-store';
import { writeFileAtomic } from '../../core/atomic-file';
import { throwIfAborted } from '../../core/cancel';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { validateConfig } from '../../config/load';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { NcpConfig, ncpConfigSchema } from './config';
import { CHECKPOINT_FILES, MANIFEST_FILE, resolveTable } from './predictor';
import { trainNcpPredictor, TrainPredictorResult } from './train';

/** The job kind of one predictor training on the queue. */
export const NCP_TRAIN_JOB = 'ncp.train';

export interface NcpTrainJob {
  /** The validated config (its `source` path is dropped: it names a file of the caller's machine). */
  config: Omit<NcpConfig, 'source'>;
  /** `--data` as given (a table name), or null for the config's default table. */
  data: string | null;
  /** SHA-256 of the content of the table file the caller resolved (gunzipped if gzipped), or null when the caller has no such file. */
  tableSha256: string | null;
  seed: number;
  exactLinear: boolean;
}

/** What a job returns: the training result and the files `ncp train --out` writes, base64-encoded. */
export interface NcpTrainJobResult {
  result: TrainPredictorResult;
  files: Record<string, string>;
}

const MEMBER_FILES = [MANIFEST_FILE, CHECKPOINT_FILES.best, CHECKPOINT_FILES.last];

/** Runs one training job (on a worker, or locally): a plain function of its payload and the worker's threads/device. */
export async function runNcpTrainJob(payload: unknown, context: { signal?: AbortSignal; threads?: number; device?: string } = {}): Promise<NcpTrainJobResult> {
  const job = payload as NcpTrainJob;
  if (!job || typeof job !== 'object' || typeof job.seed !== 'number' || !Number.isInteger(job.seed) || typeof job.config !== 'object' || job.config === null) {
    throw new TorchnasError(`a ${NCP_TRAIN_JOB} job needs {config: {...}, data: string|null, tableSha256, seed: integer, exactLinear}`, 'INVALID_ARGUMENT');
  }
  const config = validateConfig(ncpConfigSchema, job.config, `${NCP_TRAIN_JOB} job config`) as NcpConfig;
  const table = resolveTable(config, job.data ?? undefined);
  if (job.tableSha256) {
    const here = (await contentHash(table)).sha256;
    if (here !== job.tableSha256) {
      throw new TorchnasError(`${NCP_TRAIN_JOB}: this worker's table ${table} (sha256 ${here.slice(0, 12)}…) is not the caller's (${job.tableSha256.slice(0, 12)}…)`, 'FILE_CORRUPT');
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-ncp-job-'));
  try {
    const result = await trainNcpPredictor(config, { data: table, out: dir, seed: job.seed, exactLinear: job.exactLinear === true, signal: context.signal, threads: context.threads, device: context.device });
    const files: Record<string, string> = {};
    for (const name of MEMBER_FILES) files[name] = fs.readFileSync(path.join(dir, name)).toString('base64');
    return { result, files };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface NcpSeedsOptions {
  seeds: number[];
  /** redis://host:port: train the members on `torchnas worker` processes. */
  queue?: string;
  /** Table: a path or a name (with a queue, a name the workers resolve); default the config's. */
  data?: string;
  out?: string;
  device?: string;
  threads?: number;
  exactLinear?: boolean;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
}

export interface NcpSeedsResult {
  seeds: number[];
  members: { seed: number; dir: string | null; result: TrainPredictorResult | null; error?: string }[];
  /** Per metric, over the members that trained: mean and sample standard deviation of the best state's scores. */
  summary: Record<string, { kendallTau: { mean: number; std: number }; l1: { mean: number; std: number }; members: number }>;
  queue?: { reused: number; failed: number };
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** Trains one predictor per seed (see the module comment). */
export async function trainNcpSeeds(config: NcpConfig, options: NcpSeedsOptions): Promise<NcpSeedsResult> {
  const seeds = options.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TorchnasError(`seeds must be a non-empty list of integers >= 0, got ${JSON.stringify(seeds)}`, 'INVALID_ARGUMENT');
  }
  if (new Set(seeds).size !== seeds.length) throw new TorchnasError(`seeds must differ, got ${seeds.join(',')}`, 'INVALID_ARGUMENT');
  const { queue, data, out, device, threads, exactLinear, onProgress, signal } = options;
  if (queue && data && (data.includes('/') || data.includes(path.sep)) && fs.existsSync(data)) {
    throw new TorchnasError(`--data ${data} names a file of this machine; with --queue give a table name the workers resolve (e.g. seg), or none for the config's`, 'INVALID_ARGUMENT');
  }
  const memberDir = (seed: number) => (out ? path.join(out, `seed-${seed}`) : null);
  const members: NcpSeedsResult['members'] = [];
  return recordRun(
    { method: 'ncp train --seeds', device: device ?? config.device ?? 'cpu', seed: seeds[0], config: { seeds, data: data ?? null, exactLinear: exactLinear === true, queue: queue ?? null } },
    options,
    async () => {
      let queueInfo: NcpSeedsResult['queue'];
      if (queue) {
        let tableSha256: string | null = null;
        try {
          tableSha256 = (await contentHash(resolveTable(config, data))).sha256;
        } catch {
          tableSha256 = null; // the caller has no copy: the workers' own table is used as it is
        }
        const { source: _source, ...plain } = config;
        const jobs = seeds.map((seed) => ({ kind: NCP_TRAIN_JOB, payload: { config: plain, data: data ?? null, tableSha256, seed, exactLinear: exactLinear === true } satisfies NcpTrainJob }));
        // loaded only here: BullMQ and its Redis client stay out of runs that do not use a queue
        const { runJobs } = await import('../../distributed/queue');
        const outcomes = await runJobs<NcpTrainJobResult>(queue, jobs, { onProgress, signal });
        for (const [i, o] of outcomes.entries()) {
          const seed = seeds[i];
          if (o.status !== 'completed') {
            members.push({ seed, dir: null, result: null, error: o.error });
            continue;
          }
          const dir = memberDir(seed);
          if (dir) {
            fs.mkdirSync(dir, { recursive: true });
            for (const name of MEMBER_FILES) {
              const b64 = o.result.files?.[name];
              if (typeof b64 !== 'string') throw new TorchnasError(`${NCP_TRAIN_JOB} result for seed ${seed} lacks ${name}`, 'FILE_CORRUPT');
              await writeFileAtomic(path.join(dir, name), Buffer.from(b64, 'base64'));
            }
          }
          members.push({ seed, dir, result: o.result.result });
        }
        queueInfo = { reused: outcomes.filter((o) => o.status === 'completed' && o.reused).length, failed: outcomes.filter((o) => o.status !== 'completed').length };
      } else {
        for (const [i, seed] of seeds.entries()) {
          throwIfAborted(signal, 'ncp train --seeds');
          const dir = memberDir(seed);
          const result = await trainNcpPredictor(config, { data, out: dir ?? undefined, seed, device, threads, exactLinear, signal });
          members.push({ seed, dir, result });
          onProgress?.(i + 1, seeds.length, { seed, tau: Object.values(result.metrics)[0]?.best.kendallTau ?? NaN });
        }
      }
      const summary: NcpSeedsResult['summary'] = {};
      const trained = members.filter((m) => m.result);
      for (const name of Object.keys(trained[0]?.result?.metrics ?? {})) {
        const best = trained.map((m) => m.result!.metrics[name].best);
        summary[name] = { kendallTau: meanStd(best.map((b) => b.kendallTau)), l1: meanStd(best.map((b) => b.l1)), members: best.length };
      }
      return { seeds, members, summary, ...(queueInfo ? { queue: queueInfo } : {}) };
    },
    () => ({ members }),
  );
}
