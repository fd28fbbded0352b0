/**
 * `torchnas densenas train --top-k K`: retrains the K best networks a search derived (its top_results.json, ranked
 * by the search's validation accuracy), one after the other here or fanned out over `torchnas worker` processes
 * with `queue` (BullMQ on Redis), and reports each one's test accuracy, size and measured latency beside the cost
 * the search predicted. Each retraining is a job that carries everything it needs (the net_config text, the training
 * settings, the seed); a queue run returns the same figures as a local one except the measured latency, which is
 * the worker machine's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfAborted } from '../../core/cancel';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { parseNetConfig } from '../../spaces/densenas';
import { DenseSearchResult, SEARCH_FILES } from './search';
import { DenseTrainOptions, DenseTrainResult, trainDerivedNet } from './train';

/** The job kind of one retraining on the queue. */
export const DENSENAS_TRAIN_JOB = 'densenas.train';

/** The training settings a retraining job carries (no paths of the caller's machine, no output folder). */
export type DenseTrainJobSettings = Pick<DenseTrainOptions, 'data' | 'inputSize' | 'channels' | 'epochs' | 'batchSize' | 'lr' | 'labelSmoothing' | 'limit' | 'seed' | 'latencyBatch'>;

export interface DenseTrainJob {
  /** The net_config text (densenas.md §6 format). */
  netConfig: string;
  /** Where it came from, for the record (e.g. 'runs/search/top_results.json#1'). */
  label: string;
  /** The search's cost-table sum for this network. */
  predicted: number | null;
  settings: DenseTrainJobSettings;
}

/** Runs one retraining job (on a worker, or locally): a plain function of its payload and the worker's threads/device. */
export async function runDenseTrainJob(payload: unknown, context: { signal?: AbortSignal; threads?: number; device?: string } = {}): Promise<DenseTrainResult> {
  const job = payload as DenseTrainJob;
  if (!job || typeof job.netConfig !== 'string' || typeof job.settings !== 'object' || job.settings === null) {
    throw new TorchnasError(`a ${DENSENAS_TRAIN_JOB} job needs {netConfig: string, label, predicted, settings: {...}}`, 'INVALID_ARGUMENT');
  }
  const netConfig = parseNetConfig(job.netConfig);
  return trainDerivedNet(
    { netConfig, file: job.label ?? '(job)', predicted: typeof job.predicted === 'number' ? job.predicted : null },
    { ...job.settings, signal: context.signal, threads: context.threads, device: context.device, distributed: null },
  );
}

export interface DenseTopKOptions extends DenseTrainJobSettings {
  /** How many of the search's top results to retrain (at most as many as it kept; its `--top-k`, default 2). */
  k: number;
  /** redis://host:port: fan the retrainings out over `torchnas worker` processes. */
  queue?: string;
  dataDir?: string;
  device?: string;
  threads?: number;
  out?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
}

export interface DenseTopKResult {
  search: string;
  candidates: {
    rank: number;
    searchEpoch: number;
    searchValAccuracy: number;
    predictedCost: number;
    netConfig: string;
    /** The retraining's result, or its error (a queue job that failed; the others go on). */
    result: DenseTrainResult | null;
    error?: string;
  }[];
  /** The candidate with the best test accuracy (1-based rank in the search's list), or null if none trained. */
  best: number | null;
  queue?: { reused: number; failed: number };
}

export async function trainTopK(searchDir: string, options: DenseTopKOptions): Promise<DenseTopKResult> {
  const file = path.join(searchDir, SEARCH_FILES.topK);
  if (!fs.existsSync(file)) {
    throw new TorchnasError(`${file} not found: --top-k takes a 'densenas search --out' folder whose search reached its validation epochs`, 'FILE_NOT_FOUND');
  }
  let list: DenseSearchResult['topK'];
  try {
    list = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TorchnasError(`${file} is not valid JSON: ${(e as Error).message}`, 'FILE_CORRUPT');
  }
  if (!Array.isArray(list) || list.some((t) => typeof t?.netConfig !== 'string')) throw new TorchnasError(`${file}: expected a list of {epoch, valAccuracy, netConfig, cost}`, 'FILE_CORRUPT');
  if (!Number.isInteger(options.k) || options.k < 1) throw new TorchnasError(`top-k must be an integer >= 1, got ${options.k}`, 'INVALID_ARGUMENT');
  if (list.length === 0) throw new TorchnasError(`${file} lists no networks (the search ran no validation epoch: see --val-start)`, 'INVALID_ARGUMENT');
  const picked = list.slice(0, options.k);
  const { k: _k, queue, dataDir, device, threads, out, onProgress, signal, onEnvelope: _e, ...settings } = options;
  if (queue && dataDir) throw new TorchnasError('--data-dir names a folder of this machine; with --queue the workers read their own Fashion-MNIST', 'INVALID_ARGUMENT');
  const jobs: DenseTrainJob[] = picked.map((t, i) => ({ netConfig: t.netConfig, label: `${file}#${i + 1}`, predicted: t.cost, settings }));
  const candidates: DenseTopKResult['candidates'] = [];
  return recordRun(
    { method: 'densenas train --top-k', device: device ?? 'cpu', seed: settings.seed ?? 0, config: { search: searchDir, k: options.k, ...settings, queue: queue ?? null } },
    options,
    async () => {
      const results: { result: DenseTrainResult | null; error?: string }[] = [];
      let queueInfo: DenseTopKResult['queue'];
      if (queue) {
        // loaded only here: BullMQ and its Redis client stay out of runs that do not use a queue
        const { runJobs } = await import('../../distributed/queue');
        const outcomes = await runJobs<DenseTrainResult>(queue, jobs.map((payload) => ({ kind: DENSENAS_TRAIN_JOB, payload })), { onProgress, signal });
        for (const o of outcomes) results.push(o.status === 'completed' ? { result: o.result } : { result: null, error: o.error });
        queueInfo = { reused: outcomes.filter((o) => o.status === 'completed' && o.reused).length, failed: outcomes.filter((o) => o.status !== 'completed').length };
      } else {
        for (const [i, job] of jobs.entries()) {
          throwIfAborted(signal, 'top-k retraining');
          const r = await trainDerivedNet(
            { netConfig: parseNetConfig(job.netConfig), file: job.label, predicted: job.predicted },
            { ...settings, dataDir, device, threads, signal, distributed: null, out: out ? path.join(out, `top-${i + 1}`) : undefined },
          );
          results.push({ result: r });
          onProgress?.(i + 1, jobs.length, { accuracy: r.testAccuracy });
        }
      }
      picked.forEach((t, i) =>
        candidates.push({ rank: i + 1, searchEpoch: t.epoch, searchValAccuracy: t.valAccuracy, predictedCost: t.cost, netConfig: t.netConfig, ...results[i] }),
      );
      let best: number | null = null;
      for (const c of candidates) {
        if (c.result && (best === null || c.result.testAccuracy > candidates[best - 1].result!.testAccuracy)) best = c.rank;
      }
      return { search: searchDir, candidates, best, ...(queueInfo ? { queue: queueInfo } : {}) };
    },
    () => ({ candidates }),
  );
}
