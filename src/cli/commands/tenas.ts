import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../../core/errors';
import { loadTenasConfig, TenasConfig, TenasConfigOverrides } from '../../methods/tenas/config';
import { runTenasCorrelate, runTenasScore, runTenasSearch } from '../../methods/tenas/run';
import { parseNb201String } from '../../spaces/nb201';
import { PACKAGE_ROOT } from '../../native';
import { choiceFlag, defineCommand, defineGroup, FlagValues, intFlag, runMethod } from '../command';

/** Where the embedded defaults live. */
export const DEFAULT_TENAS_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'tenas', 'nb201.yaml');
const DEFAULT_DARTS_CONFIG = path.join(PACKAGE_ROOT, 'configs', 'tenas', 'darts-cifar10.yaml');
/** The NB201 table an NB201 search is looked up in unless --benchmark or the config names another: the bundled one. */
const DEFAULT_NB201_TABLE = 'nb201';

/** The flags every TE-NAS subcommand shares: they override the config before the schema checks it. */
const configFlags = {
  config: { type: 'string', value: 'F', help: 'TE-NAS config (configs/tenas/*.yaml); default configs/tenas/nb201.yaml' },
  data: { type: 'string', value: 'SRC', help: "fashion-mnist (read from data.dir, else $TORCHNAS_FASHION_MNIST, else Debian's folder), random, cifar10:DIR or folder:DIR (DIR/train/CLASS/*.jpg|png, resized to 32×32) (overrides data.source)" },
  batch: { type: 'string', value: 'N', help: 'NTK batch size, >= 2 (overrides ntk.batchSize)' },
  repeats: { type: 'string', value: 'N', help: 'repeats per score, >= 1 (overrides search.repeats)' },
  mode: { type: 'string', value: 'M', help: 'NTK mode: logit_sum, per_class_trace or full (overrides ntk.mode)' },
  seed: { type: 'string', value: 'N', help: 'seed (overrides seed)' },
  threads: { type: 'string', value: 'N', help: 'LibTorch threads and NTK workers (overrides threads)' },
  device: { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (overrides device; on CUDA the NTK runs through autograd, the batched tape being CPU-only)' },
  out: { type: 'string', value: 'DIR', help: 'write DIR/result.json (the shared envelope) and charts' },
  json: { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' },
} as const;

type ConfigFlagValues = FlagValues<typeof configFlags>;

/**
 * The config a subcommand runs: the file (or the default one), with the flags merged in *before* the zod
 * schema validates, so `--repeats 0` or `--batch 1` are refused with the schema's message.
 */
function configFrom(flags: ConfigFlagValues, space?: 'nb201' | 'darts'): TenasConfig {
  // score and correlate pass no space: a config whose space is not nb201 is refused by the method
  const overrides: TenasConfigOverrides = {
    space,
    seed: intFlag(flags.seed, 'seed'),
    threads: intFlag(flags.threads, 'threads'),
    device: flags.device,
    data: flags.data === undefined ? undefined : { source: flags.data },
    ntk: { batchSize: intFlag(flags.batch, 'batch'), mode: flags.mode as TenasConfig['ntk']['mode'] | undefined },
    search: { repeats: intFlag(flags.repeats, 'repeats') },
  };
  // `--space darts` without a config starts from the DARTS CIFAR-10 settings rather than NB201's.
  const file = flags.config ?? (space === 'darts' ? DEFAULT_DARTS_CONFIG : DEFAULT_TENAS_CONFIG);
  return loadTenasConfig(flags.config !== undefined || fs.existsSync(file) ? file : undefined, overrides);
}

function nb201Only(flag: string | undefined): void {
  choiceFlag(flag, 'space', ['nb201'] as const);
}

const scoreCommand = (group: string) =>
  defineCommand(
    {
      name: 'score',
      summary: 'κ_N and R_N of one NB201 architecture',
      usage: '--arch STR [--space nb201] [--mode M] [--batch N] [--repeats N] [--data SRC] [--seed N] [--threads N] [--device D] [--config F] [--out DIR] [--json]',
      flags: {
        space: { type: 'string', value: 'nb201', help: 'search space (only nb201)' },
        arch: { type: 'string', value: 'STR', help: 'NB201 arch string, e.g. "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|…|", required' },
        ...configFlags,
      },
      async run(flags) {
        nb201Only(flags.space);
        if (!flags.arch) throw new TorchnasError('tenas score needs --arch "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"', 'INVALID_ARGUMENT');
        const ops = parseNb201String(flags.arch);
        const config = configFrom(flags);
        const s = await runMethod('tenas score', flags.json, ({ signal, onEnvelope }) => runTenasScore(config, ops, { out: flags.out, signal, onEnvelope }), { progress: false });
        if (!flags.json) {
          process.stdout.write(
            `${s.arch}\n  κ_N  ${s.kappa.mean.toPrecision(6)} ± ${s.kappa.std.toPrecision(3)}  (${s.kappa.values.map((v) => v.toPrecision(6)).join(', ')})\n` +
              `  R_N  ${s.regions.mean.toFixed(1)} ± ${s.regions.std.toFixed(1)}  (${s.regions.values.join(', ')})${s.saturated ? '  [saturated: R reached the sample count]' : ''}\n` +
              `  ${config.search.repeats} repeats, NTK batch ${config.ntk.batchSize} (${config.ntk.mode}), data ${config.data.source}, ${s.seconds.toFixed(2)} s\n` +
              (flags.out ? `  wrote ${path.join(flags.out, 'result.json')}\n` : ''),
          );
        }
        if (s.saturated) process.stderr.write('warning: the linear-region count saturated at the sample count; use more samples or smaller inputs\n');
        return 0;
      },
    },
    `${group} score`,
  );

const searchCommand = (group: string) =>
  defineCommand(
    {
      name: 'search',
      summary: 'the TE-NAS pruning search (NB201 or DARTS)',
      usage: '[--space nb201|darts] [--config F] [--benchmark TABLE] [--queue URL] [--out DIR] [--seed N] [--threads N] [--device D] [--batch N] [--repeats N] [--data SRC] [--json]',
      flags: {
        space: { type: 'string', value: 'nb201|darts', help: 'search space (default the config\'s; darts starts from configs/tenas/darts-cifar10.yaml)' },
        benchmark: { type: 'string', value: 'TABLE', help: 'NB201 table to look the result up in: a path (ncp-trainval.pkl|json[.gz]) or a name (default nb201, bundled)' },
        queue: { type: 'string', value: 'URL', help: "score each round's candidates on 'torchnas worker' processes via this Redis (redis://host:port); same result as a local run" },
        ...configFlags,
      },
      notes: ['Ctrl-C stops the search after the current native job; DIR/result.json then says "interrupted" (exit 130).'],
      async run(flags) {
        const space = choiceFlag(flags.space, 'space', ['nb201', 'darts'] as const);
        const config = configFrom(flags, space);
        const benchmark = flags.benchmark ?? config.benchmark ?? (config.space === 'nb201' ? DEFAULT_NB201_TABLE : undefined);
        const r = await runMethod(`TE-NAS ${config.space} search`, flags.json, (context) => runTenasSearch(config, { out: flags.out, benchmark, queue: flags.queue, ...context }), { record: flags.out });
        if (!flags.json) {
          const lines = [
            `TE-NAS on ${config.space === 'darts' ? 'DARTS' : 'NB201'} (${config.data.source}, NTK batch ${config.ntk.batchSize}, ${config.search.repeats} repeats, seed ${config.seed}): ${r.seconds.toFixed(1)} s, ${r.ntkEvaluations} NTK + ${r.linearRegionEvaluations} linear-region evaluations, ${r.ntkWorkers} NTK worker(s)`,
            `architecture: ${r.arch}`,
          ];
          if (r.queue) lines.push(`queue: ${r.queue.jobs} candidate jobs, ${r.queue.reused} result(s) reused from an earlier run`);
          if (r.lookup) {
            lines.push(
              `benchmark: NB201 index ${r.lookup.index}, ImageNet16-120 accuracy ${r.lookup.accuracy.toFixed(2)} %, rank ${r.lookup.rank} of 15625 (better than ${r.lookup.percentile.toFixed(1)} % of the space)`,
            );
          } else if (r.space === 'darts') {
            lines.push('benchmark: none for the DARTS space; train the genotype (e.g. with DARTS evaluation settings) to measure it');
          } else lines.push('benchmark: no table given (--benchmark nb201 or a path to look the result up)');
          if (flags.out) lines.push(`wrote ${path.join(flags.out, 'result.json')} and rounds.svg`);
          process.stdout.write(lines.join('\n') + '\n');
        }
        return 0;
      },
    },
    `${group} search`,
  );

const correlateCommand = (group: string) =>
  defineCommand(
    {
      name: 'correlate',
      summary: 'rank correlation of κ_N and R_N with NB201 accuracy over sampled architectures',
      usage: '[--benchmark TABLE] [--space nb201] [--sample N] [--seed S] [--queue URL] [--config F] [--batch N] [--repeats N] [--data SRC] [--device D] [--out DIR] [--json]',
      flags: {
        space: { type: 'string', value: 'nb201', help: 'search space (only nb201)' },
        benchmark: { type: 'string', value: 'TABLE', help: "NB201 table: a path (ncp-trainval.pkl|json[.gz]) or a name (default the config's benchmark, else nb201, bundled)" },
        sample: { type: 'string', value: 'N', help: 'architectures to sample, >= 2 (default 200)' },
        queue: { type: 'string', value: 'URL', help: "score on 'torchnas worker' processes via this Redis (redis://host:port); same results as a local run" },
        ...configFlags,
      },
      notes: ['Ctrl-C stops after the current native job; DIR/result.json then holds the architectures scored so far, status "interrupted" (exit 130).'],
      async run(flags) {
        nb201Only(flags.space);
        const config = configFrom(flags);
        const benchmark = flags.benchmark ?? config.benchmark ?? DEFAULT_NB201_TABLE;
        const sample = intFlag(flags.sample, 'sample') ?? 200;
        const r = await runMethod('TE-NAS correlate', flags.json, (context) => runTenasCorrelate(config, benchmark, sample, config.seed, { out: flags.out, queue: flags.queue, ...context }), {
          record: flags.out,
        });
        if (!flags.json) {
          process.stdout.write(
            `${sample} NB201 architectures (seed ${config.seed}, ${config.data.source}, NTK batch ${config.ntk.batchSize}, ${config.search.repeats} repeats): ${r.seconds.toFixed(1)} s\n` +
              `  Kendall τ(κ_N, acc) = ${r.kendallTau.kappa.toFixed(3)}   Spearman ${r.spearman.kappa.toFixed(3)}\n` +
              `  Kendall τ(R_N, acc) = ${r.kendallTau.regions.toFixed(3)}   Spearman ${r.spearman.regions.toFixed(3)}\n` +
              `  Kendall τ(TE-NAS rank combination, acc) = ${r.kendallTau.combined.toFixed(3)}\n` +
              (r.queue ? `  queue: ${r.queue.reused} result(s) reused from an earlier run, ${r.queue.failed} failed\n` : '') +
              (r.failed ?? []).map((f) => `  failed: ${f.arch}: ${f.error}\n`).join('') +
              (r.saturated ? `  warning: ${r.saturated} architecture(s) saturated the linear-region count\n` : '') +
              (flags.out ? `  wrote ${path.join(flags.out, 'result.json')} and correlation.svg\n` : ''),
          );
        }
        return 0;
      },
    },
    `${group} correlate`,
  );

export const tenasCommand = defineGroup({
  name: 'tenas',
  summary: 'TE-NAS: training-free search by NTK condition number and linear regions',
  subcommands: [scoreCommand, searchCommand, correlateCommand],
});
