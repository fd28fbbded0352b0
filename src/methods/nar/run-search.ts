/**
 * `nar search` as users start it: a `nar train` run folder's checkpoint (weights and that epoch's batch records),
 * the benchmark the run was trained on, and NAR's tier-guided search (search.ts, §5) with an optional budget.
 * Writes result.json (the shared envelope), search.json and search-picks.svg.
 */
import * as path from 'node:path';
import { buildNb201CellDataset } from '../../benchmarks/nar-nb201-dataset';
import { readNb201CellInfo } from '../../benchmarks/nar-nb201-reader';
import { readNb101CellInfo } from '../../benchmarks/nar-nb101-reader';
import { resolveDevice } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { NarConfig, narSpace } from './config';
import { NAR_NB101_SAMPLER, NAR_NB201_SAMPLER, narSamplerConfig } from './distribution';
import { loadNarRanker } from './ranker';
import { runNarSearch, NarSearchResult, writeNarSearchFiles } from './search';
import { nb101SearchBenchmark, nb201SearchBenchmark, NarSearchBenchmark } from './search-benchmark';

export interface SearchNarCheckpointOptions {
  /** 'best' (default, as the original's is_checkpoint) or 'last'. */
  which?: 'best' | 'last';
  /** Search iterations (default the config's sampler_epochs − ranker_epochs, 50). */
  iterations?: number;
  /** Seeds the search's sampling (default the run's seed). */
  seed?: number;
  /** Budget: every reported pick has total FLOPs ≤ maxFlops (raw count of the benchmark's network). */
  maxFlops?: number;
  /** Budget: every reported pick has total params ≤ maxParams (raw count). */
  maxParams?: number;
  /** The cell-information file the run was trained on, when not the recorded one. */
  data?: string;
  /** Folder for result.json, search.json and search-picks.svg (default: the checkpoint folder's `search/`). */
  out?: string;
  device?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /** The run record's start (the dashboard's events.jsonl), set by the CLI. */
  onStart?: EnvelopeTargets['onStart'];
}

/** The benchmark a run was trained on, as the search sees it (its ids match the checkpoint's batch records). */
export async function narSearchBenchmarkFor(config: NarConfig, source: string, data?: string): Promise<NarSearchBenchmark> {
  const space = narSpace(config);
  const file = data ?? (source.startsWith('nb201 table') ? undefined : source);
  if (source === 'records' || source.endsWith(' records')) {
    if (data === undefined) throw new TorchnasError('this run was trained on in-memory records: the search needs the benchmark file (--data FILE)', 'INVALID_ARGUMENT');
  }
  if (space === 'nb201') {
    const records = file === undefined ? await buildNb201CellDataset() : await readNb201CellInfo(file);
    return nb201SearchBenchmark(records, config.network_type ?? 'imagenet16');
  }
  if (file === undefined) throw new TorchnasError('an NB101 search needs the NB101 cell-information file (--data FILE)', 'INVALID_ARGUMENT');
  return nb101SearchBenchmark([...(await readNb101CellInfo(file)).values()]);
}

/** Runs NAR's tier-guided search with a trained ranker. */
export async function searchNarCheckpoint(dir: string, options: SearchNarCheckpointOptions = {}): Promise<NarSearchResult> {
  const which = options.which ?? 'best';
  const device = resolveDevice(options.device ?? 'cpu');
  const ranker = await loadNarRanker(dir, which, device);
  try {
    const { manifest, meta } = ranker;
    const config = meta.config;
    const seed = options.seed ?? manifest.seed;
    const out = options.out ?? path.join(dir, 'search');
    const space = narSpace(config);
    const iterations = options.iterations ?? Math.max(1, config.sampler_epochs - config.ranker_epochs);
    const runConfig = { checkpoint: dir, which, iterations, maxFlops: options.maxFlops ?? null, maxParams: options.maxParams ?? null, sampler: config.sampler ?? null, bins: config.bins };
    return await recordRun({ method: 'nar search', device, seed, config: runConfig }, { out, onEnvelope: options.onEnvelope, onStart: options.onStart }, async () => {
      const benchmark = await narSearchBenchmarkFor(config, meta.dataset.source, options.data);
      if (benchmark.size !== meta.dataset.count) {
        throw new TorchnasError(`${dir} was trained on ${meta.dataset.count} architectures, the benchmark given has ${benchmark.size}`, 'INVALID_ARGUMENT');
      }
      const result = await runNarSearch({
        ranker,
        benchmark,
        batches: meta.records,
        seed,
        iterations,
        sampler: narSamplerConfig((config.sampler ?? {}) as Record<string, unknown>, space === 'nb201' ? NAR_NB201_SAMPLER : NAR_NB101_SAMPLER),
        bins: config.bins,
        maxFlops: options.maxFlops,
        maxParams: options.maxParams,
        onProgress: options.onProgress,
        signal: options.signal,
      });
      await writeNarSearchFiles(out, result);
      return result;
    }, () => null);
  } finally {
    ranker.dispose();
  }
}
