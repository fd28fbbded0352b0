import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../../core/errors';
import { defaultTenasConfig, loadTenasConfig, TenasConfig } from '../../methods/tenas/config';
import { openInputSource, parseInputSource } from '../../data/input-source';
import { prepare, runTenasCorrelate, runTenasSearch, scoreOptionsFrom } from '../../methods/tenas/run';
import { scoreArchitecture } from '../../methods/tenas/score';
import { formatNb201String, parseNb201String } from '../../spaces/nb201';
import { PACKAGE_ROOT } from '../../native';
import { Command, intFlag, parseFlags, printJson } from '../command';

const USAGE = [
  'torchnas tenas score --space nb201 --arch STR [--mode logit_sum|per_class_trace|full] [--batch N] [--repeats N]',
  '                     [--data fashion-mnist|cifar10:DIR|random] [--seed N] [--threads N] [--json]',
  'torchnas tenas search [--space nb201|darts] [--config F] [--benchmark TABLE] [--out DIR] [--seed N] [--threads N] [--json]',
  'torchnas tenas correlate --space nb201 --benchmark TABLE [--sample N] [--seed S] [--config F] [--out DIR] [--json]',
].join('\n');

/** Where the embedded defaults and the shared NB201 table live (a user points --benchmark at their own copy). */
export const DEFAULT_TENAS_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'tenas', 'nb201.yaml');
const DEFAULT_DARTS_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'tenas', 'darts-cifar10.yaml');
const SHARED_NB201_TABLE = path.resolve(PACKAGE_ROOT, '..', 'shared', 'benchmarks', 'nas-bench-201', 'ncp-trainval.pkl');

function configFrom(file: string | undefined): TenasConfig {
  if (file) return loadTenasConfig(file);
  return fs.existsSync(DEFAULT_TENAS_CONFIG) ? loadTenasConfig(DEFAULT_TENAS_CONFIG) : defaultTenasConfig();
}

function requireNb201(config: TenasConfig, flag: unknown): void {
  if (flag !== undefined && flag !== 'nb201') {
    throw new TorchnasError(`--space ${String(flag)}: only nb201 is available for this subcommand`, 'INVALID_ARGUMENT');
  }
  if (config.space !== 'nb201') throw new TorchnasError(`this subcommand scores NB201 architectures, but the config's space is ${config.space}`, 'CONFIG_INVALID');
}

export const tenasCommand: Command = {
  name: 'tenas',
  summary: 'TE-NAS: training-free search by NTK condition number and linear regions',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values } = parseFlags(
      rest,
      {
        space: { type: 'string' },
        arch: { type: 'string' },
        mode: { type: 'string' },
        batch: { type: 'string' },
        repeats: { type: 'string' },
        data: { type: 'string' },
        seed: { type: 'string' },
        threads: { type: 'string' },
        config: { type: 'string' },
        benchmark: { type: 'string' },
        out: { type: 'string' },
        sample: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help || !sub || sub === '--help') {
      process.stdout.write(USAGE + '\n');
      return sub ? 0 : 2;
    }
    const threads = intFlag(values.threads as string | undefined, 'threads');
    const json = Boolean(values.json);
    // `--space darts` without a config starts from the DARTS CIFAR-10 settings rather than NB201's.
    const config = configFrom((values.config as string | undefined) ?? (values.space === 'darts' && fs.existsSync(DEFAULT_DARTS_CONFIG) ? DEFAULT_DARTS_CONFIG : undefined));
    if (threads !== undefined) config.threads = threads;
    const seed = intFlag(values.seed as string | undefined, 'seed');
    if (seed !== undefined) config.seed = seed;
    if (values.data) config.data.source = parseInputSource(values.data as string);
    if (values.batch) config.ntk.batchSize = intFlag(values.batch as string, 'batch')!;
    if (values.repeats) config.search.repeats = intFlag(values.repeats as string, 'repeats')!;
    if (values.mode) {
      const mode = values.mode as string;
      if (!['logit_sum', 'per_class_trace', 'full'].includes(mode)) {
        throw new TorchnasError(`--mode ${mode}: expected logit_sum, per_class_trace or full`, 'INVALID_ARGUMENT');
      }
      config.ntk.mode = mode as TenasConfig['ntk']['mode'];
    }

    if (values.space !== undefined) {
      if (values.space !== 'nb201' && values.space !== 'darts') throw new TorchnasError(`--space ${String(values.space)}: expected nb201 or darts`, 'INVALID_ARGUMENT');
      if (sub === 'search') config.space = values.space;
    }

    if (sub === 'score') {
      requireNb201(config, values.space);
      if (!values.arch) throw new TorchnasError('tenas score needs --arch "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"', 'INVALID_ARGUMENT');
      const ops = parseNb201String(values.arch as string);
      const device = prepare(config);
      const source = await openInputSource(config.data.source as ReturnType<typeof parseInputSource>, config.seed, { dataDir: config.data.dir });
      const s = await scoreArchitecture(ops, source, scoreOptionsFrom(config, config.seed, device));
      const result = { arch: formatNb201String(ops), data: config.data.source, batchSize: config.ntk.batchSize, mode: config.ntk.mode, ...s };
      if (json) printJson(result);
      else {
        process.stdout.write(
          `${result.arch}\n  κ_N  ${s.kappa.mean.toPrecision(6)} ± ${s.kappa.std.toPrecision(3)}  (${s.kappa.values.map((v) => v.toPrecision(6)).join(', ')})\n` +
            `  R_N  ${s.regions.mean.toFixed(1)} ± ${s.regions.std.toFixed(1)}  (${s.regions.values.join(', ')})${s.saturated ? '  [saturated: R reached the sample count]' : ''}\n` +
            `  ${config.search.repeats} repeats, NTK batch ${config.ntk.batchSize} (${config.ntk.mode}), data ${config.data.source}, ${s.seconds.toFixed(2)} s\n`,
        );
      }
      if (s.saturated) process.stderr.write('warning: the linear-region count saturated at the sample count; use more samples or smaller inputs\n');
      return 0;
    }

    if (sub === 'search') {
      const benchmark = (values.benchmark as string | undefined) ?? config.benchmark ?? (fs.existsSync(SHARED_NB201_TABLE) ? SHARED_NB201_TABLE : undefined);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const r = await runTenasSearch(config, { out: values.out as string | undefined, benchmark, quiet: json, signal: controller.signal });
        if (json) printJson(r);
        else {
          const lines = [
            `TE-NAS on ${config.space === 'darts' ? 'DARTS' : 'NB201'} (${config.data.source}, NTK batch ${config.ntk.batchSize}, ${config.search.repeats} repeats, seed ${config.seed}): ${r.seconds.toFixed(1)} s, ${r.ntkEvaluations} NTK + ${r.lrEvaluations} LR evaluations, ${r.threads} thread(s)`,
            `architecture: ${r.arch}`,
          ];
          if (r.lookup) {
            lines.push(
              `benchmark: NB201 index ${r.lookup.index}, ImageNet16-120 accuracy ${r.lookup.accuracy.toFixed(2)} %, rank ${r.lookup.rank} of 15625 (better than ${r.lookup.percentile.toFixed(1)} % of the space)`,
            );
          } else if (r.space === 'darts') {
            lines.push('benchmark: none for the DARTS space; train the genotype (e.g. with DARTS evaluation settings) to measure it');
          } else lines.push('benchmark: no table given (--benchmark ncp-trainval.pkl|json to look the result up)');
          if (values.out) lines.push(`wrote ${path.join(values.out as string, 'result.json')} and rounds.svg`);
          process.stdout.write(lines.join('\n') + '\n');
        }
        return 0;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    }

    if (sub === 'correlate') {
      requireNb201(config, values.space);
      const benchmark = values.benchmark as string | undefined;
      if (!benchmark) throw new TorchnasError('tenas correlate needs --benchmark TABLE (ncp-trainval.pkl or .json)', 'INVALID_ARGUMENT');
      const sample = intFlag(values.sample as string | undefined, 'sample', 200)!;
      const r = await runTenasCorrelate(config, benchmark, sample, config.seed, { out: values.out as string | undefined, quiet: json });
      if (json) printJson({ ...r, architectures: undefined });
      else {
        process.stdout.write(
          `${sample} NB201 architectures (seed ${config.seed}, ${config.data.source}, NTK batch ${config.ntk.batchSize}, ${config.search.repeats} repeats): ${r.seconds.toFixed(1)} s\n` +
            `  Kendall τ(κ_N, acc) = ${r.kendallTau.kappa.toFixed(3)}   Spearman ${r.spearman.kappa.toFixed(3)}\n` +
            `  Kendall τ(R_N, acc) = ${r.kendallTau.regions.toFixed(3)}   Spearman ${r.spearman.regions.toFixed(3)}\n` +
            `  Kendall τ(TE-NAS rank combination, acc) = ${r.kendallTau.combined.toFixed(3)}\n` +
            (r.saturated ? `  warning: ${r.saturated} architecture(s) saturated the linear-region count\n` : '') +
            (values.out ? `  wrote ${path.join(values.out as string, 'correlation.json')} and correlation.svg\n` : ''),
        );
      }
      return 0;
    }
    throw new TorchnasError(`unknown tenas subcommand '${sub}'\n${USAGE}`, 'INVALID_ARGUMENT');
  },
};
