import { TorchnasError } from '../../core/errors';
import { loadNcpConfig } from '../../methods/ncp/config';
import { propagateNcp, PropagateResult } from '../../methods/ncp/propagate';
import { trainNcpPredictor, TrainPredictorResult } from '../../methods/ncp/train';
import { Command, intFlag, parseFlags, printJson } from '../command';

const USAGE = [
  'torchnas ncp train --config F [--data TABLE.pkl|json] [--out DIR] [--seed N] [--device D] [--threads N] [--exact] [--json]',
  '                   (--exact: PyTorch\'s own Linear kernels, bit-identical to PyTorch-in-Python, slower here)',
  'torchnas ncp edit  --config F --predictor DIR [--start CODE]… [--checkpoint best|last] [--pareto W1,W2,…] [--iters N]',
  '                   [--out DIR] [--device D] [--json]',
].join('\n');

export const ncpCommand: Command = {
  name: 'ncp',
  summary: 'NCP: train the metric predictor on NAS-Bench-MR, then propagate network codes through it',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values } = parseFlags(
      rest,
      {
        config: { type: 'string' },
        data: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        predictor: { type: 'string' },
        start: { type: 'string', multiple: true },
        checkpoint: { type: 'string' },
        pareto: { type: 'string' },
        iters: { type: 'string' },
        exact: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    if (values.help || !sub || sub === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return sub ? 0 : 2;
    }
    if (sub !== 'train' && sub !== 'edit') throw new TorchnasError(`unknown ncp subcommand '${sub}'\nusage: ${USAGE}`, 'INVALID_ARGUMENT');
    if (!values.config) throw new TorchnasError(`--config is required\nusage: ${USAGE}`, 'INVALID_ARGUMENT');
    const config = loadNcpConfig(values.config as string);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      if (sub === 'train') {
        const r = await trainNcpPredictor(config, {
          data: values.data as string | undefined,
          out: values.out as string | undefined,
          seed: intFlag(values.seed as string | undefined, 'seed'),
          device: values.device as string | undefined,
          threads: intFlag(values.threads as string | undefined, 'threads'),
          exactLinear: Boolean(values.exact),
          quiet: Boolean(values.json),
          signal: controller.signal,
        });
        if (values.json) printJson(r);
        else process.stdout.write(describeTraining(r, values.out as string | undefined));
        return 0;
      }
      if (!values.predictor) throw new TorchnasError(`--predictor DIR (from 'ncp train --out DIR') is required\nusage: ${USAGE}`, 'INVALID_ARGUMENT');
      const checkpoint = (values.checkpoint as string | undefined) ?? 'best';
      if (checkpoint !== 'best' && checkpoint !== 'last') throw new TorchnasError(`--checkpoint must be best or last`, 'INVALID_ARGUMENT');
      const r = await propagateNcp(config, {
        predictor: values.predictor as string,
        checkpoint,
        start: values.start as string[] | undefined,
        pareto: parseWeights(values.pareto as string | undefined),
        iterations: intFlag(values.iters as string | undefined, 'iters'),
        out: values.out as string | undefined,
        device: values.device as string | undefined,
        signal: controller.signal,
      });
      if (values.json) printJson(r);
      else process.stdout.write(describeEdit(r, values.out as string | undefined));
      return 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};

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
  if (out) lines.push(`wrote ${out}/metrics.json, predictor.json, best_model.pt, last_model.pt`);
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
  if (out) lines.push(`wrote ${out}/trajectory.json and trajectory.svg`);
  return lines.join('\n') + '\n';
}
