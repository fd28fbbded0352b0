/**
 * TE-NAS runs as the CLI and library users start them: a search from a config (result.json + rounds.svg),
 * and the correlation study (κ and R against the table's accuracy over sampled architectures).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic-file';
import { resolveDevice, setThreads, info } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { Progress } from '../../core/progress';
import { kendallTau, spearman } from '../../core/stats';
import { renderChart, stackCharts } from '../../report/svg';
import { formatNb201String, isNb201Connected, sampleNb201 } from '../../spaces/nb201';
import { TenasConfig } from './config';
import { openInputSource, parseInputSource } from '../../data/input-source';
import { lookupNb201, openNb201Table, TableLookup } from '../../benchmarks/nb201-lookup';
import { ArchitectureScore, scoreArchitecture, ScoreOptions } from './score';
import { searchDarts, searchNb201, SearchResult } from './search';

export interface RunOptions {
  out?: string;
  benchmark?: string;
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface TenasSearchReport {
  method: 'TE-NAS';
  space: 'nb201' | 'darts';
  genotype?: SearchResult['genotype'];
  config: TenasConfig;
  arch: string;
  ops: number[];
  lookup?: TableLookup & { table: string; accuracyMeaning: string };
  rounds: SearchResult['rounds'];
  ntkEvaluations: number;
  lrEvaluations: number;
  seconds: number;
  threads: number;
  torchnas: string;
  libtorch: string;
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
    lrSamples: config.linearRegions.samples,
    lrBatchSize: config.linearRegions.batchSize,
    lrInputSize: config.linearRegions.inputSize,
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

/** Runs the pruning search of a config; writes result.json and rounds.svg when `out` is given. */
export async function runTenasSearch(config: TenasConfig, options: RunOptions = {}): Promise<TenasSearchReport> {
  const device = prepare(config);
  const source = await openInputSource(parseInputSource(config.data.source), config.seed, { dataDir: config.data.dir });
  let progress: Progress | undefined;
  const search = config.space === 'darts' ? searchDarts : searchNb201;
  const result = await search(
    source,
    {
      pruneNumber: config.search.pruneNumber,
      repeats: config.search.repeats,
      precision: config.search.precision,
      ntkBatchSize: config.ntk.batchSize,
      ntkMode: config.ntk.mode,
      init: config.ntk.init,
      singularEps: config.ntk.singularEps,
      lrSamples: config.linearRegions.samples,
      lrBatchSize: config.linearRegions.batchSize,
      lrInputSize: config.linearRegions.inputSize,
      numClasses: config.ntk.numClasses,
      seed: config.seed,
      device,
      ntkWorkers: ntkWorkers(config),
    },
    (done, total, { round }) => {
      progress ??= new Progress({ label: `TE-NAS ${config.space} search`, total, quiet: options.quiet });
      progress.update(done, { round: round + 1 });
    },
    options.signal,
  );
  progress?.finish();
  const versions = info();
  const report: TenasSearchReport = {
    method: 'TE-NAS',
    space: result.space,
    config,
    arch: result.arch,
    genotype: result.genotype,
    ops: result.ops,
    rounds: result.rounds,
    ntkEvaluations: result.ntkEvaluations,
    lrEvaluations: result.lrEvaluations,
    seconds: result.seconds,
    threads: ntkWorkers(config),
    torchnas: versions.torchnas,
    libtorch: versions.libtorch,
  };
  const benchmark = options.benchmark ?? config.benchmark;
  if (benchmark && result.space === 'nb201') {
    const table = await openNb201Table(benchmark);
    report.lookup = { ...lookupNb201(table, result.ops), table: benchmark, accuracyMeaning: 'ImageNet16-120 top-1 %, one run (NCP NB201 table)' };
  }
  if (options.out) {
    fs.mkdirSync(options.out, { recursive: true });
    await writeJsonAtomic(path.join(options.out, 'result.json'), report);
    await writeFileAtomic(path.join(options.out, 'rounds.svg'), roundsSvg(result));
  }
  return report;
}

function roundsSvg(result: SearchResult): string {
  const charts = result.rounds.map((round) =>
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

export interface CorrelationReport {
  space: 'nb201';
  sample: number;
  seed: number;
  config: TenasConfig;
  kendallTau: { kappa: number; regions: number; combined: number };
  spearman: { kappa: number; regions: number };
  saturated: number;
  architectures: (ArchitectureScore & { arch: string; index: number; accuracy: number })[];
  seconds: number;
}

/** Scores `sample` architectures drawn with `seed` and rank-correlates κ and R with the table's accuracy. */
export async function runTenasCorrelate(config: TenasConfig, benchmark: string, sample: number, seed: number, options: RunOptions = {}): Promise<CorrelationReport> {
  const started = Date.now();
  if (config.space !== 'nb201') throw new TorchnasError('tenas correlate needs space nb201 (the benchmark table is NB201)', 'CONFIG_INVALID');
  const device = prepare(config);
  const table = await openNb201Table(benchmark);
  const archs = sampleNb201(sample, { seed, distinct: true });
  const source = await openInputSource(parseInputSource(config.data.source), seed, { dataDir: config.data.dir });
  const progress = new Progress({ label: 'TE-NAS correlate', total: archs.length, quiet: options.quiet });
  const rows: CorrelationReport['architectures'] = [];
  for (const [k, ops] of archs.entries()) {
    if (options.signal?.aborted) throw new TorchnasError('correlation run was cancelled', 'CANCELLED');
    const index = table.index.indexOf(ops);
    // networks of repeat r seeded 1000·index + r, as the reference runs
    const score = await scoreArchitecture(ops, source, scoreOptionsFrom(config, index, device));
    rows.push({ ...score, arch: formatNb201String(ops), index, accuracy: table.records[index].acc });
    progress.update(k + 1);
  }
  progress.finish();
  const acc = rows.map((r) => r.accuracy);
  const kappa = rows.map((r) => r.kappa.mean);
  const regions = rows.map((r) => r.regions.mean);
  // TE-NAS's combination: low κ and high R are good; sum of (average) ranks.
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
  const combined = kappaRank.map((r, i) => -(r + regionRank[i]));
  const report: CorrelationReport = {
    space: 'nb201',
    sample,
    seed,
    config,
    kendallTau: { kappa: kendallTau(kappa, acc), regions: kendallTau(regions, acc), combined: kendallTau(combined, acc) },
    spearman: { kappa: spearman(kappa, acc), regions: spearman(regions, acc) },
    saturated: rows.filter((r) => r.saturated).length,
    architectures: rows,
    seconds: (Date.now() - started) / 1000,
  };
  if (options.out) {
    fs.mkdirSync(options.out, { recursive: true });
    await writeJsonAtomic(path.join(options.out, 'correlation.json'), report);
    const connected = rows.filter((r) => isNb201Connected(r.ops));
    await writeFileAtomic(
      path.join(options.out, 'correlation.svg'),
      stackCharts([
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
      ]),
    );
  }
  return report;
}
