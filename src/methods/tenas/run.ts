/**
 * TE-NAS runs as the CLI and library users start them: a search from a config (result.json + rounds.svg),
 * and the correlation study (κ and R against the table's accuracy over sampled architectures).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file';
import { throwIfAborted } from '../../core/cancel';
import { resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { kendallTau, spearman } from '../../core/stats';
import { InputSource, openInputSource, parseInputSource } from '../../data/input-source';
import { lookupNb201, openNb201Table, TableLookup } from '../../benchmarks/nb201-lookup';
import { resolveTablePath } from '../../benchmarks/table-names';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { RunRecordCallback } from '../../report/events';
import { renderChart, stackCharts } from '../../report/svg';
import { checkNb201Arch, formatNb201String, isNb201Connected, sampleNb201 } from '../../spaces/nb201';
import { TenasConfig, tenasConfigSchema } from './config';
import { validateConfig } from '../../config/load';
import { ArchitectureScore, scoreArchitecture, ScoreOptions } from './score';
import {
  CandidateJobSpec,
  CandidateRepeats,
  RoundReport,
  scoreCandidateRepeats,
  scoringSettingsOf,
  searchDarts,
  searchNb201,
  SearchResult,
  SearchSettings,
} from './search';
import { DARTS_PRUNING_SPACE, NB201_PRUNING_SPACE, Scorer } from './pruning-space';

export interface RunOptions {
  /** Folder for result.json (the shared envelope, also written when interrupted) and the SVG chart. */
  out?: string;
  /** NB201 table to look the result up in: a path (ncp-trainval.pkl|json, gzipped or not) or the name `nb201`; default the config's `benchmark`. */
  benchmark?: string;
  /** Progress of the scored candidates (search) or architectures (correlate); nothing is drawn. */
  onProgress?: ProgressCallback;
  /** Aborting ends the run with CANCELLED after the current native job; result.json then says 'interrupted'. */
  signal?: AbortSignal;
  /** Receives the result.json envelope when the run ends, however it ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /**
   * correlate and search: a Redis URL (`redis://host:port`): the architectures (correlate) or each round's
   * candidates (search) are scored as jobs by `torchnas worker` processes that take them from this queue
   * (src/distributed/queue.ts), with results identical to a local run.
   */
  queue?: string;
  /** Receives each finished search round (`'round'`, a RoundReport) for the run's events.jsonl. */
  onRecord?: RunRecordCallback;
}

/** The method's part of a search's result.json (the envelope holds config, versions, device, threads, seed). */
export interface TenasSearchReport {
  space: 'nb201' | 'darts';
  genotype?: SearchResult['genotype'];
  arch: string;
  ops: number[];
  lookup?: TableLookup & { table: string; accuracyMeaning: string };
  rounds: SearchResult['rounds'];
  ntkEvaluations: number;
  linearRegionEvaluations: number;
  /** Threads computing NTK Jacobian rows concurrently (autograd-loop path). */
  ntkWorkers: number;
  /** Candidates of a round scored at once (0 with a queue: the workers score them). */
  candidateConcurrency: number;
  seconds: number;
  /** With a queue: how many candidate results an earlier run had already computed. */
  queue?: { reused: number; jobs: number };
}

/** Candidates of a search round scored at once: the config's, else as many as fill the cores at its threads. */
export function candidateConcurrency(config: TenasConfig): number {
  if (config.search.concurrency !== undefined) return config.search.concurrency;
  if (config.threads === undefined) return 1;
  return Math.max(1, Math.floor(os.availableParallelism() / config.threads));
}

/** Concurrent NTK rows: the config's thread count, else every core. */
export function ntkWorkers(config: TenasConfig): number {
  return config.threads ?? os.availableParallelism();
}

/** The per-architecture scoring options a config implies (networks of repeat r seeded seed·1000 + r). */
export function scoreOptionsFrom(config: TenasConfig, seed: number, device = config.device): ScoreOptions {
  return {
    batchSize: config.ntk.batchSize,
    repeats: config.search.repeats,
    mode: config.ntk.mode,
    init: config.ntk.init,
    linearRegionSamples: config.linearRegions.samples,
    linearRegionBatchSize: config.linearRegions.batchSize,
    linearRegionInputSize: config.linearRegions.inputSize,
    numClasses: config.ntk.numClasses,
    seed,
    singularEps: config.ntk.singularEps,
    device,
    ntkWorkers: ntkWorkers(config),
  };
}

/** Applies the config's threads and checks its device; returns the canonical device name. */
export function prepare(config: TenasConfig): string {
  if (config.threads !== undefined) setThreads(config.threads);
  return resolveDevice(config.device);
}

/** The method's part of a score run's result.json. */
export interface TenasScoreReport extends ArchitectureScore {
  arch: string;
  data: string;
  batchSize: number;
  mode: TenasConfig['ntk']['mode'];
}

/** Scores one NB201 architecture with a config's settings (networks seeded seed·1000 + repeat); writes result.json with `out`. */
export async function runTenasScore(config: TenasConfig, ops: readonly number[], options: Omit<RunOptions, 'benchmark' | 'onProgress'> = {}): Promise<TenasScoreReport> {
  if (config.space !== 'nb201') throw new TorchnasError(`scoring takes NB201 architectures, but the config's space is ${config.space}`, 'CONFIG_INVALID');
  const device = prepare(config);
  return recordRun(
    { method: 'tenas score', device, seed: config.seed, config },
    options,
    async () => {
      const source = await openInputSource(parseInputSource(config.data.source), config.seed, { dataDir: config.data.dir });
      const score = await scoreArchitecture(ops, source, { ...scoreOptionsFrom(config, config.seed, device), signal: options.signal });
      return { arch: formatNb201String(score.ops), data: config.data.source, batchSize: config.ntk.batchSize, mode: config.ntk.mode, ...score };
    },
    () => null,
  );
}

/** Runs the pruning search of a config; writes result.json and rounds.svg when `out` is given. */
export async function runTenasSearch(config: TenasConfig, options: RunOptions = {}): Promise<TenasSearchReport> {
  const device = prepare(config);
  const rounds: RoundReport[] = [];
  return recordRun(
    { method: 'tenas search', device, seed: config.seed, config },
    options,
    async () => {
      // The table (a path or a name such as nb201) is resolved before the search, so a wrong one fails in seconds, not minutes.
      const benchmark = options.benchmark ?? config.benchmark;
      const tableFile = benchmark && config.space === 'nb201' ? resolveTablePath(benchmark, { kind: 'nb201' }) : undefined;
      const source = await openInputSource(parseInputSource(config.data.source), config.seed, { dataDir: config.data.dir });
      const search = config.space === 'darts' ? searchDarts : searchNb201;
      const queued = { reused: 0, jobs: 0 };
      let remote: ((jobs: CandidateJobSpec[]) => Promise<CandidateRepeats[]>) | undefined;
      if (options.queue) {
        const url = options.queue;
        // loaded only here: BullMQ and its Redis client stay out of runs that do not use a queue
        const { runJobs } = await import('../../distributed/queue');
        remote = async (specs) => {
          const jobs = specs.map((spec) => ({ kind: TENAS_CANDIDATE_JOB, payload: candidateJob(config, spec) }));
          const outcomes = await runJobs<CandidateRepeats>(url, jobs, { signal: options.signal });
          queued.jobs += jobs.length;
          queued.reused += outcomes.filter((o) => o.status === 'completed' && o.reused).length;
          return outcomes.map((o, i) => {
            // A round cannot be ranked without every candidate: a failed job fails the search, naming it.
            if (o.status !== 'completed') throw new TorchnasError(`TE-NAS search: candidate ${specs[i].index} of round ${specs[i].round + 1} failed on the queue: ${o.error}`, 'DISTRIBUTED_ERROR');
            return o.result;
          });
        };
      }
      const result = await search(source, searchSettingsOf(config, device), {
        onProgress: options.onProgress,
        onRound: (round) => (rounds.push(round), options.onRecord?.('round', round)),
        signal: options.signal,
        remote,
      });
      const report: TenasSearchReport = {
        space: result.space,
        arch: result.arch,
        genotype: result.genotype,
        ops: result.ops,
        rounds: result.rounds,
        ntkEvaluations: result.ntkEvaluations,
        linearRegionEvaluations: result.linearRegionEvaluations,
        ntkWorkers: ntkWorkers(config),
        candidateConcurrency: options.queue ? 0 : candidateConcurrency(config),
        seconds: result.seconds,
        ...(options.queue ? { queue: queued } : {}),
      };
      if (benchmark && tableFile && result.space === 'nb201') {
        const table = await openNb201Table(tableFile);
        report.lookup = { ...lookupNb201(table, result.ops), table: benchmark, accuracyMeaning: 'ImageNet16-120 top-1 %, one run (NCP NB201 table)' };
      }
      if (options.out) {
        fs.mkdirSync(options.out, { recursive: true });
        await writeFileAtomic(path.join(options.out, 'rounds.svg'), roundsSvg(result.rounds));
      }
      return report;
    },
    // interrupted: the rounds finished so far (no architecture yet)
    () => ({ space: config.space, roundsCompleted: rounds.length, rounds }),
  );
}

function roundsSvg(rounds: RoundReport[]): string {
  const charts = rounds.map((round) =>
    renderChart(
      [
        { name: 'kept', style: 'points', points: round.candidates.filter((c) => !c.pruned).map((c) => [c.deltaKappa, c.deltaRegions]) },
        { name: 'pruned', style: 'points', points: round.candidates.filter((c) => c.pruned).map((c) => [c.deltaKappa, c.deltaRegions]) },
      ],
      {
        title: round.phase === 'ops' ? `TE-NAS round ${round.round + 1}: candidates (removing one op)` : 'TE-NAS edge pruning: candidates (removing one edge)',
        xLabel: 'Δκ relative (higher = removal improves trainability)',
        yLabel: 'ΔR relative (lower = removal keeps expressivity)',
      },
    ),
  );
  return stackCharts(charts);
}

/** A search's settings from its config (the local loop and a queue worker alike). */
function searchSettingsOf(config: TenasConfig, device: string): SearchSettings {
  return {
    pruneNumber: config.search.pruneNumber,
    repeats: config.search.repeats,
    precision: config.search.precision,
    ntkBatchSize: config.ntk.batchSize,
    ntkMode: config.ntk.mode,
    init: config.ntk.init,
    singularEps: config.ntk.singularEps,
    linearRegionSamples: config.linearRegions.samples,
    linearRegionBatchSize: config.linearRegions.batchSize,
    linearRegionInputSize: config.linearRegions.inputSize,
    numClasses: config.ntk.numClasses,
    seed: config.seed,
    device,
    ntkWorkers: ntkWorkers(config),
    candidateConcurrency: candidateConcurrency(config),
  };
}

/** The job kind of one search candidate on the queue. */
export const TENAS_CANDIDATE_JOB = 'tenas.candidate';

/** One candidate of a search round: everything needed to score it anywhere (the config names space, data and seed). */
export interface TenasCandidateJob extends CandidateJobSpec {
  /** The run's config without `threads` (the machine's business; it does not change the scores). */
  config: TenasConfig;
}

function candidateJob(config: TenasConfig, spec: CandidateJobSpec): TenasCandidateJob {
  const { threads: _threads, ...rest } = config;
  return { config: rest as TenasConfig, ...spec };
}

/** The input source a job's config names, opened once per worker and run (seed). */
const jobSources = new Map<string, Promise<InputSource>>();
function jobSource(config: TenasConfig, seed: number): Promise<InputSource> {
  const key = `${config.data.source}|${config.data.dir ?? ''}|${seed}`;
  let source = jobSources.get(key);
  if (!source) {
    source = openInputSource(parseInputSource(config.data.source), seed, { dataDir: config.data.dir });
    jobSources.set(key, source);
    source.catch(() => jobSources.delete(key));
  }
  return source;
}

/** The round's NTK network of a search, kept for the round's next candidates on this worker (the last two rounds). */
const roundNetworks = new Map<string, Scorer>();

/** Scores one search candidate (a queue job): the same repeats a local search computes for it. */
export async function runCandidateJob(payload: unknown, options: { signal?: AbortSignal } = {}): Promise<CandidateRepeats> {
  const job = payload as TenasCandidateJob;
  const alphaRows = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((row) => Array.isArray(row) && row.every((x) => typeof x === 'number'));
  if (!job || typeof job !== 'object' || !job.config || !Number.isInteger(job.round) || job.round < 0 || !Number.isInteger(job.index) || job.index < 0) {
    throw new TorchnasError('search candidate job: payload must hold config, round (>= 0) and index (>= 0)', 'INVALID_ARGUMENT');
  }
  if (!alphaRows(job.origin) || !alphaRows(job.alphas)) throw new TorchnasError('search candidate job: origin and alphas must be arrays of number rows (one per cell type)', 'INVALID_ARGUMENT');
  const config = validateConfig(tenasConfigSchema, job.config, 'search candidate job config');
  const space = config.space === 'darts' ? DARTS_PRUNING_SPACE : NB201_PRUNING_SPACE;
  const rowLength = space.numEdges * space.opNames.length;
  for (const rows of [job.origin, job.alphas]) {
    if (rows.length !== space.cellTypes.length || rows.some((r) => r.length !== rowLength)) {
      throw new TorchnasError(`search candidate job: ${config.space} takes ${space.cellTypes.length} α row(s) of ${rowLength} values`, 'INVALID_ARGUMENT');
    }
  }
  const settings = searchSettingsOf(config, resolveDevice(config.device));
  const scoring = scoringSettingsOf(settings);
  // the queue module is loaded already on a worker (the only caller)
  const { canonicalJson } = await import('../../distributed/queue');
  const key = `${canonicalJson(config)}|round ${job.round}`;
  let kappa = roundNetworks.get(key);
  if (!kappa) {
    kappa = space.ntkScorer(settings.seed * 1000 + job.round, scoring);
    roundNetworks.set(key, kappa);
    while (roundNetworks.size > 2) roundNetworks.delete(roundNetworks.keys().next().value as string);
  }
  const source = await jobSource(config, settings.seed);
  const rows = (v: number[][]) => v.map((r) => Float32Array.from(r));
  return scoreCandidateRepeats(space, kappa, source.fork(job.index), settings, scoring, { index: job.index, origin: rows(job.origin), alphas: rows(job.alphas) }, () =>
    throwIfAborted(options.signal, 'search candidate job'),
  );
}

/** The method's part of a correlation run's result.json. */
export interface CorrelationReport {
  space: 'nb201';
  sample: number;
  /** Architectures scored (fewer than `sample` when interrupted). */
  scored: number;
  table: string;
  kendallTau: { kappa: number; regions: number; combined: number };
  spearman: { kappa: number; regions: number };
  saturated: number;
  architectures: (ArchitectureScore & { arch: string; index: number; accuracy: number })[];
  seconds: number;
  /** With a queue: how many results an earlier run had already computed, and how many jobs failed. */
  queue?: { reused: number; failed: number };
  /** Architectures whose scoring failed (queue runs record the error and go on). */
  failed?: { arch: string; index: number; error: string }[];
}

/** The job kind of one correlation architecture on the queue. */
export const TENAS_CORRELATE_JOB = 'tenas.correlate';

/** One architecture of a correlation study: everything needed to score it anywhere. */
export interface TenasCorrelateJob {
  /** The run's config without `threads` (the machine's business; it does not change the scores' meaning). */
  config: TenasConfig;
  /** The run's seed: the input stream is `fork(index)` of the source seeded with it. */
  seed: number;
  /** The architecture's index in the NB201 table (also seeds its networks: 1000·index + repeat). */
  index: number;
  ops: number[];
}

function correlationJob(config: TenasConfig, seed: number, index: number, ops: readonly number[]): TenasCorrelateJob {
  const { threads: _threads, ...rest } = config;
  return { config: rest as TenasConfig, seed, index, ops: [...ops] };
}

/**
 * Scores one correlation architecture: its inputs come from the source's fork keyed by its table index, so the
 * result does not depend on which architectures were scored before, in this process or elsewhere.
 * `source` must be the config's input source seeded with `job.seed`.
 */
export async function scoreCorrelationJob(job: TenasCorrelateJob, source: InputSource, options: { signal?: AbortSignal; device?: string } = {}): Promise<ArchitectureScore> {
  const ops = checkNb201Arch(job.ops);
  if (!Number.isInteger(job.index) || job.index < 0) throw new TorchnasError(`correlation job: index must be a table index, got ${job.index}`, 'INVALID_ARGUMENT');
  // networks of repeat r seeded 1000·index + r, as the reference runs
  return scoreArchitecture(ops, source.fork(job.index), { ...scoreOptionsFrom(job.config, job.index, options.device ?? job.config.device), signal: options.signal });
}

/** Opens the input source a job names (shared by the jobs of one run on a worker) and scores the job. */
export async function runCorrelationJob(payload: unknown, options: { signal?: AbortSignal } = {}): Promise<ArchitectureScore> {
  const job = payload as TenasCorrelateJob;
  if (!job || typeof job !== 'object' || !job.config || !Array.isArray(job.ops) || typeof job.seed !== 'number') {
    throw new TorchnasError('correlation job: payload must hold config, seed, index and ops', 'INVALID_ARGUMENT');
  }
  const config = validateConfig(tenasConfigSchema, job.config, 'correlation job config');
  return scoreCorrelationJob({ ...job, config }, await jobSource(config, job.seed), { signal: options.signal, device: resolveDevice(config.device) });
}

/** Scores `sample` architectures drawn with `seed` and rank-correlates κ and R with the table's accuracy. */
export async function runTenasCorrelate(config: TenasConfig, benchmark: string, sample: number, seed: number, options: RunOptions = {}): Promise<CorrelationReport> {
  const started = Date.now();
  if (config.space !== 'nb201') throw new TorchnasError('tenas correlate needs space nb201 (the benchmark table is NB201)', 'CONFIG_INVALID');
  if (!Number.isInteger(sample) || sample < 2) throw new TorchnasError(`sample must be an integer >= 2, got ${sample}`, 'INVALID_ARGUMENT');
  const device = prepare(config);
  const rows: CorrelationReport['architectures'] = [];
  const failures: NonNullable<CorrelationReport['failed']> = [];
  let reused = 0;
  const summary = () => ({
    ...correlationOf(rows, { sample, table: benchmark, seconds: (Date.now() - started) / 1000 }),
    ...(options.queue ? { queue: { reused, failed: failures.length } } : {}),
    ...(failures.length ? { failed: failures } : {}),
  });
  return recordRun(
    { method: 'tenas correlate', device, seed, config },
    options,
    async () => {
      const table = await openNb201Table(benchmark);
      const archs = sampleNb201(sample, { seed, distinct: true });
      const jobs = archs.map((ops) => correlationJob(config, seed, table.index.indexOf(ops), ops));
      const addRow = (job: TenasCorrelateJob, score: ArchitectureScore) => rows.push({ ...score, arch: formatNb201String(job.ops), index: job.index, accuracy: table.records[job.index].acc });
      if (options.queue) {
        // loaded only here: BullMQ and its Redis client stay out of runs that do not use a queue
        const { runJobs } = await import('../../distributed/queue');
        const outcomes = await runJobs<ArchitectureScore>(options.queue, jobs.map((payload) => ({ kind: TENAS_CORRELATE_JOB, payload })), { onProgress: options.onProgress, signal: options.signal });
        for (const [k, outcome] of outcomes.entries()) {
          if (outcome.status === 'completed') addRow(jobs[k], outcome.result);
          else failures.push({ arch: formatNb201String(jobs[k].ops), index: jobs[k].index, error: outcome.error });
        }
        reused = outcomes.filter((o) => o.status === 'completed' && o.reused).length;
      } else {
        const source = await openInputSource(parseInputSource(config.data.source), seed, { dataDir: config.data.dir });
        for (const [k, job] of jobs.entries()) {
          throwIfAborted(options.signal, 'correlation run');
          addRow(job, await scoreCorrelationJob(job, source, { signal: options.signal, device }));
          options.onProgress?.(k + 1, archs.length, { kappa: rows[rows.length - 1].kappa.mean, regions: rows[rows.length - 1].regions.mean, accuracy: rows[rows.length - 1].accuracy });
        }
      }
      const report = summary();
      if (options.out) {
        fs.mkdirSync(options.out, { recursive: true });
        await writeFileAtomic(path.join(options.out, 'correlation.svg'), correlationSvg(report));
      }
      return report;
    },
    // interrupted: the architectures scored so far and their correlations
    summary,
  );
}

/** TE-NAS's combination of the two indicators: low κ and high R are good; the negated sum of (average) ranks. */
function combinedRanks(kappa: number[], regions: number[]): number[] {
  const rank = (v: number[], descending: boolean) => {
    const order = v.map((x, i) => [descending ? -x : x, i]).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
      for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const kappaRank = rank(kappa, false);
  const regionRank = rank(regions, true);
  return kappaRank.map((r, i) => -(r + regionRank[i]));
}

function correlationOf(rows: CorrelationReport['architectures'], at: { sample: number; table: string; seconds: number }): CorrelationReport {
  const acc = rows.map((r) => r.accuracy);
  const kappa = rows.map((r) => r.kappa.mean);
  const regions = rows.map((r) => r.regions.mean);
  // fewer than two points (an early interrupt) have no rank correlation
  const tau = (x: number[]) => (rows.length >= 2 ? kendallTau(x, acc) : NaN);
  const rho = (x: number[]) => (rows.length >= 2 ? spearman(x, acc) : NaN);
  return {
    space: 'nb201',
    sample: at.sample,
    scored: rows.length,
    table: at.table,
    kendallTau: { kappa: tau(kappa), regions: tau(regions), combined: tau(combinedRanks(kappa, regions)) },
    spearman: { kappa: rho(kappa), regions: rho(regions) },
    saturated: rows.filter((r) => r.saturated).length,
    architectures: rows,
    seconds: at.seconds,
  };
}

function correlationSvg(report: CorrelationReport): string {
  const connected = report.architectures.filter((r) => isNb201Connected(r.ops));
  return stackCharts([
    renderChart([{ name: `κ_N (τ = ${report.kendallTau.kappa.toFixed(3)})`, style: 'points', points: connected.map((r) => [r.kappa.mean, r.accuracy]) }], {
      title: 'NTK condition number vs ImageNet16-120 accuracy',
      xLabel: 'κ_N (mean over repeats, log scale)',
      yLabel: 'accuracy %',
      logX: true,
    }),
    renderChart([{ name: `R_N (τ = ${report.kendallTau.regions.toFixed(3)})`, style: 'points', points: connected.map((r) => [r.regions.mean, r.accuracy]) }], {
      title: 'Linear regions vs ImageNet16-120 accuracy',
      xLabel: 'R_N (mean over repeats)',
      yLabel: 'accuracy %',
    }),
  ]);
}
