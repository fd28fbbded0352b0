import { TorchnasError } from '../../core/errors';
import { loadNcpConfig } from '../../methods/ncp/config';
import { propagateNcp, PropagateResult } from '../../methods/ncp/propagate';
import { NcpSeedsResult, trainNcpSeeds } from '../../methods/ncp/seeds';
import { trainNcpPredictor, TrainPredictorResult } from '../../methods/ncp/train';
import { choiceFlag, defineCommand, defineGroup, intFlag, runMethod } from '../command';

const config = { type: 'string', value: 'F', help: 'NCP config (configs/ncp/*.yaml), required' } as const;
const json = { type: 'boolean', help: 'print the result envelope as JSON (no progress bar)' } as const;
const device = { type: 'string', value: 'D', help: 'cpu, cuda or cuda:N (default: the config\'s, else cpu)' } as const;

const trainCommand = (group: string) =>
  defineCommand(
    {
      name: 'train',
      summary: "train NCP's metric predictor on a NAS-Bench-MR table",
      usage: '--config F [--data TABLE] [--out DIR] [--seed N | --seeds A,B,… [--queue URL]] [--device D] [--threads N] [--exact] [--resume DIR] [--json]',
      flags: {
        config,
        data: { type: 'string', value: 'TABLE', help: "NAS-Bench-MR table: a path (.pkl|.json[.gz]) or a name (seg, seg-4x, nas-bench-mr/video, …); default the config's" },
        out: { type: 'string', value: 'DIR', help: 'write DIR/result.json, predictor.json, best_model.pt, last_model.pt' },
        seed: { type: 'string', value: 'N', help: "overrides the config's SEED" },
        seeds: { type: 'string', value: 'A,B,…', help: 'one predictor per seed (a seed study or an ensemble), into DIR/seed-N/' },
        queue: { type: 'string', value: 'URL', help: "with --seeds: train the members on 'torchnas worker' processes via this Redis (redis://host:port)" },
        device,
        threads: { type: 'string', value: 'N', help: 'LibTorch intra-op threads' },
        exact: { type: 'boolean', help: "train through autograd and torch's Adam (PyTorch's op sequence): bit-identical to PyTorch-in-Python, slower" },
        resume: { type: 'string', value: 'DIR', help: "continue from a previous run's checkpoint in DIR" },
        json,
      },
      async run(flags) {
        if (!flags.config) throw new TorchnasError('--config is required', 'INVALID_ARGUMENT');
        const cfg = loadNcpConfig(flags.config);
        const seed = intFlag(flags.seed, 'seed');
        if (flags.queue && !flags.seeds) throw new TorchnasError('--queue goes with --seeds A,B,… (the members fan out as jobs)', 'INVALID_ARGUMENT');
        if (flags.seeds !== undefined) {
          if (seed !== undefined || flags.resume) throw new TorchnasError('--seeds excludes --seed and --resume', 'INVALID_ARGUMENT');
          const seeds = String(flags.seeds)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
            .map((s) => {
              if (!/^\d+$/.test(s)) throw new TorchnasError(`--seeds takes integers >= 0 separated by commas, got '${s}'`, 'INVALID_ARGUMENT');
              return Number(s);
            });
          const r = await runMethod(
            'ncp train --seeds',
            flags.json,
            (context) => trainNcpSeeds(cfg, { seeds, queue: flags.queue, data: flags.data, out: flags.out, device: flags.device, threads: intFlag(flags.threads, 'threads'), exactLinear: flags.exact, ...context }),
            { record: flags.out },
          );
          if (!flags.json) process.stdout.write(describeSeeds(r));
          return 0;
        }
        const r = await runMethod('ncp train', flags.json, (context) =>
          trainNcpPredictor(cfg, {
            data: flags.data,
            out: flags.out,
            seed,
            device: flags.device,
            threads: intFlag(flags.threads, 'threads'),
            exactLinear: flags.exact,
            resume: flags.resume,
            ...context,
          }),
          { record: flags.out },
        );
        if (!flags.json) process.stdout.write(describeTraining(r, flags.out));
        return 0;
      },
    },
    `${group} train`,
  );

const editCommand = (group: string) =>
  defineCommand(
    {
      name: 'edit',
      summary: 'propagate network codes through a trained predictor (NCP editing)',
      usage: '--config F --predictor DIR [--start CODE]… [--checkpoint best|last] [--pareto W1,W2,…] [--iters N] [--out DIR] [--device D] [--json]',
      flags: {
        config,
        predictor: { type: 'string', value: 'DIR', help: "folder written by 'ncp train --out DIR', required" },
        start: { type: 'string', multiple: true, value: 'CODE', help: 'start code (repeatable); default the config\'s, else the original\'s' },
        checkpoint: { type: 'string', value: 'best|last', help: 'which predictor state (default best)' },
        pareto: { type: 'string', value: 'W1,W2,…', help: 'sweep these FLOPs weights' },
        iters: { type: 'string', value: 'N', help: "propagation steps (default the config's)" },
        out: { type: 'string', value: 'DIR', help: 'write DIR/result.json and trajectory.svg' },
        device,
        json,
      },
      async run(flags) {
        if (!flags.config) throw new TorchnasError('--config is required', 'INVALID_ARGUMENT');
        const cfg = loadNcpConfig(flags.config);
        const predictor = flags.predictor;
        if (!predictor) throw new TorchnasError("--predictor DIR (from 'ncp train --out DIR') is required", 'INVALID_ARGUMENT');
        const checkpoint = choiceFlag(flags.checkpoint, 'checkpoint', ['best', 'last'] as const) ?? 'best';
        const r = await runMethod(
          'ncp edit',
          flags.json,
          ({ signal, onEnvelope, onStart }) =>
            propagateNcp(cfg, {
              predictor,
              checkpoint,
              start: flags.start,
              pareto: parseWeights(flags.pareto),
              iterations: intFlag(flags.iters, 'iters'),
              out: flags.out,
              device: flags.device,
              signal,
              onEnvelope,
              onStart,
            }),
          { progress: false, record: flags.out },
        );
        if (!flags.json) process.stdout.write(describeEdit(r, flags.out));
        return 0;
      },
    },
    `${group} edit`,
  );

export const ncpCommand = defineGroup({
  name: 'ncp',
  summary: 'NCP: train the metric predictor on NAS-Bench-MR, then propagate network codes through it',
  subcommands: [trainCommand, editCommand],
});

function parseWeights(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const weights = text.split(',').map(Number);
  if (weights.length === 0 || weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw new TorchnasError(`--pareto expects comma-separated non-negative weights, got '${text}'`, 'INVALID_ARGUMENT');
  }
  return weights;
}

function describeTraining(r: TrainPredictorResult, out: string | undefined): string {
  const lines = [
    `predictor on ${r.dataset} (${r.split.train} train / ${r.split.validation} validation, seed ${r.seed}, ${r.device}, ${r.threads} thread(s)): ` +
      `${r.epochs} epochs in ${r.wallSeconds.training.toFixed(2)} s, best epoch ${r.bestEpoch}`,
    '| metric | L1 (best) | Kendall τ (best) | Spearman ρ (best) | L1 (last) | τ (last) |',
    '|---|---|---|---|---|---|',
    ...Object.entries(r.metrics).map(
      ([name, s]) =>
        `| ${name} | ${s.best.l1.toFixed(5)} | ${s.best.kendallTau.toFixed(4)} | ${s.best.spearmanRho.toFixed(4)} | ${s.last.l1.toFixed(5)} | ${s.last.kendallTau.toFixed(4)} |`,
    ),
  ];
  if (out) lines.push(`wrote ${out}/result.json, predictor.json, best_model.pt, last_model.pt`);
  return lines.join('\n') + '\n';
}

function describeEdit(r: PropagateResult, out: string | undefined): string {
  const main = r.mainMetric;
  const lines = [`NCP on ${r.dataset}: ${r.iterations} steps, lr ${r.lr}; ${r.costConvention}`];
  r.trajectories.forEach((t, i) => {
    const first = t.steps[0];
    const last = t.steps[t.steps.length - 1];
    if (!first || !last) return;
    const w = Object.entries(t.weights).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(
      `#${i} (${w}): predicted ${main} ${first.predictedRounded[main].toFixed(2)} → ${last.predictedRounded[main].toFixed(2)}, ` +
        `FLOPs ${first.flops.toFixed(4)} → ${last.flops.toFixed(4)} G, params ${first.params.toFixed(3)} → ${last.params.toFixed(3)} M`,
      `   start ${first.roundedCode}`,
      `   step ${last.step} ${last.roundedCode}`,
    );
  });
  if (r.pareto) {
    lines.push('Pareto sweep (last step per FLOPs weight):');
    for (const p of r.pareto) lines.push(`   w=${p.flopsWeight}: ${main} ${p.predictedMain.toFixed(2)}, ${p.flops.toFixed(4)} G${p.onFront ? '  (front)' : ''}  ${p.code}`);
  }
  lines.push(`native propagation ${(r.seconds.propagation * 1000).toFixed(1)} ms, closed-form costs of every step ${(r.seconds.costs * 1000).toFixed(1)} ms`);
  if (out) lines.push(`wrote ${out}/result.json and trajectory.svg`);
  return lines.join('\n') + '\n';
}

function describeSeeds(r: NcpSeedsResult): string {
  const lines = r.members.map((m) => {
    if (!m.result) return `  seed ${m.seed}: failed: ${m.error ?? 'unknown error'}`;
    const [name, score] = Object.entries(m.result.metrics)[0] ?? ['', undefined];
    return `  seed ${m.seed}: best epoch ${m.result.bestEpoch}, ${name} τ ${score?.best.kendallTau.toFixed(4)}, L1 ${score?.best.l1.toFixed(5)}${m.dir ? ` → ${m.dir}` : ''}`;
  });
  const summary = Object.entries(r.summary).map(([name, s]) => `  ${name}: τ ${s.kendallTau.mean.toFixed(4)} ± ${s.kendallTau.std.toFixed(4)}, L1 ${s.l1.mean.toFixed(5)} ± ${s.l1.std.toFixed(5)} over ${s.members} member(s)`);
  return [`${r.members.length} predictor(s), seeds ${r.seeds.join(',')}:`, ...lines, 'over the seeds (best state, mean ± sample std):', ...summary, ...(r.queue ? [`  queue: ${r.queue.reused} result(s) reused from an earlier run, ${r.queue.failed} failed`] : [])].join('\n') + '\n';
}
