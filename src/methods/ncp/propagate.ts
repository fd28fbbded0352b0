/**
 * `torchnas ncp edit`: network code propagation (ncp.md §5.4) through a trained predictor. The gradient
 * steps, clamp and rounding run natively for a whole batch of start codes in one job; FLOPs/params of
 * every step's rounded code are then recomputed in closed form (spaces/nasbench-mr/cost.ts) in the
 * benchmark table's convention (§4), with the seg-head/19-class numbers tools/ncp.py logs beside them.
 * Beyond the original: weighted objectives on any predicted metric, several start codes, and a Pareto
 * sweep over the FLOPs weight (one batch row per weight).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file';
import { linkCancelToken } from '../../core/cancel';
import { resolveDevice } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import {
  CHANNEL_INDICES,
  codeToEmbedding,
  EMBEDDING_LENGTH,
  embeddingToCode,
  embeddingToSetting,
  NCP_LOG_COST_OPTIONS,
  networkCost,
  TABLE_COST_OPTIONS,
} from '../../spaces/nasbench-mr';
import { NativeObjective, NativePropagation } from '../../native';
import { NcpConfig, NcpObjectiveConfig } from './config';
import { CheckpointName, openPredictor } from './predictor';
import { trajectoryChart } from './report';

/** The network NCP starts from in the original (§5.4 step 3; search_list.txt line 2505). */
export const NCP_DEFAULT_START = '64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64';

export const COST_CONVENTION =
  'flops (G) / params (M): closed form of ncp.md §4 in the NAS-Bench-MR table convention (classification head, ' +
  '50 classes, one 3×128×128 input, thop-2020 rules), comparable with the tables; flopsNcpLog / paramsNcpLog: ' +
  'the segmentation-head, 19-class network that tools/ncp.py logs';

export interface PropagateOptions {
  /** Folder written by `ncp train` (predictor.json + checkpoints). */
  predictor: string;
  checkpoint?: CheckpointName;
  /** Start codes (31-integer strings); default editing.start, else NCP_DEFAULT_START. */
  start?: string[];
  /** FLOPs-objective weights to sweep (default editing.pareto.weights; none: the config's objectives). */
  pareto?: number[];
  iterations?: number;
  out?: string;
  device?: string;
  signal?: AbortSignal;
  /** Receives the result.json envelope when the run ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /** Told what runs as the run starts (the CLI's events.jsonl). */
  onStart?: EnvelopeTargets['onStart'];
}

export interface ObjectiveSummary extends NcpObjectiveConfig {
  /** The predictor output it acts on. */
  output: number;
}

export interface TrajectoryStep {
  step: number;
  roundedCode: string;
  continuous: number[];
  /** Predictions for the continuous code, original units. */
  predicted: Record<string, number>;
  /** Predictions for the rounded code (the original's main_metric is the first one). */
  predictedRounded: Record<string, number>;
  flops: number;
  params: number;
  flopsNcpLog: number;
  paramsNcpLog: number;
}

export interface Trajectory {
  start: string;
  /** Each objective's weight on this row (the Pareto sweep varies the FLOPs one). */
  weights: Record<string, number>;
  steps: TrajectoryStep[];
  /** The code after the last step (computed, not one of the recorded steps, as in the original). */
  final: { roundedCode: string; continuous: number[]; flops: number; params: number };
}

export interface ParetoPoint {
  flopsWeight: number;
  start: string;
  code: string;
  predictedMain: number;
  flops: number;
  params: number;
  onFront: boolean;
}

export interface PropagateResult {
  dataset: string;
  metrics: string[];
  mainMetric: string;
  costConvention: string;
  iterations: number;
  lr: number;
  loss: 'l1' | 'smoothl1';
  bounds: { min: number[]; max: number[]; divisors: number[] };
  objectives: ObjectiveSummary[];
  trajectories: Trajectory[];
  pareto?: ParetoPoint[];
  seconds: { propagation: number; costs: number; total: number };
}

/** The objectives of the config: `editing.objectives`, else the original's main-metric-up + FLOPs-down pair. */
export function configObjectives(config: NcpConfig, metrics: string[]): ObjectiveSummary[] {
  const e = config.editing;
  const list: NcpObjectiveConfig[] = e.objectives ?? [
    { metric: metrics[0], direction: 'up', step: e.per_step_increase, weight: 1 },
    ...(e.use_flops ? [{ metric: 'flops', direction: 'down' as const, step: e.per_flops_decrease, weight: e.alpha }] : []),
  ];
  return list.map((o) => {
    const output = metrics.indexOf(o.metric);
    if (output < 0) {
      throw new TorchnasError(`objective metric '${o.metric}' is not predicted by this predictor (${metrics.join(', ')})`, 'CONFIG_INVALID');
    }
    return { ...o, output };
  });
}

/** Bounds of §5.4 step 2: [8, 32·α] for channels, [1, α] for counts; divisors 8 and 1. */
export function codeBounds(maxValueAlpha: number): { min: number[]; max: number[]; divisors: number[] } {
  const channel = new Set(CHANNEL_INDICES);
  const pick = (c: number, n: number) => Array.from({ length: EMBEDDING_LENGTH }, (_, i) => (channel.has(i) ? c : n));
  return { min: pick(8, 1), max: pick(32 * maxValueAlpha, maxValueAlpha), divisors: pick(8, 1) };
}

/** Propagates the start codes; with `out`, writes DIR/result.json (the shared envelope) and trajectory.svg. */
export async function propagateNcp(config: NcpConfig, options: PropagateOptions): Promise<PropagateResult> {
  const device = resolveDevice(options.device ?? config.device ?? 'cpu');
  const { signal: _signal, onEnvelope: _onEnvelope, onStart: _onStart, ...described } = options;
  return recordRun({ method: 'ncp edit', device, seed: null, config: { ...config, options: described } }, options, () => propagate(config, options, device), () => null);
}

async function propagate(config: NcpConfig, options: PropagateOptions, device: string): Promise<PropagateResult> {
  const started = Date.now();
  const { predictor, manifest } = await openPredictor(options.predictor, { checkpoint: options.checkpoint, device });
  if (manifest.network.inputDim !== EMBEDDING_LENGTH) {
    throw new TorchnasError(`NCP edits ${EMBEDDING_LENGTH}-number NAS-Bench-MR codes; this predictor takes ${manifest.network.inputDim}`, 'INVALID_ARGUMENT');
  }
  const metrics = manifest.metrics;
  const objectives = configObjectives(config, metrics);
  const starts = options.start ?? (config.editing.start === undefined ? [NCP_DEFAULT_START] : [config.editing.start].flat());
  const startEmbeddings = starts.map((code) => codeToEmbedding(code));
  const sweep = options.pareto ?? config.editing.pareto?.weights;
  if (sweep && !objectives.some((o) => o.metric === 'flops')) {
    objectives.push({ metric: 'flops', direction: 'down', step: config.editing.per_flops_decrease, weight: config.editing.alpha, output: metrics.indexOf('flops') });
    if (objectives[objectives.length - 1].output < 0) throw new TorchnasError('a Pareto sweep needs a predictor that predicts flops', 'CONFIG_INVALID');
  }
  // Rows: every start code × every swept FLOPs weight (or the configured weights once).
  const rows = startEmbeddings.flatMap((embedding, s) => (sweep ?? [undefined]).map((w) => ({ s, embedding, flopsWeight: w })));
  const weightOf = (o: ObjectiveSummary, flopsWeight: number | undefined) => (o.metric === 'flops' && flopsWeight !== undefined ? flopsWeight : o.weight);
  const nativeObjectives: NativeObjective[] = objectives.map((o) => ({
    output: o.output,
    mode: o.direction === 'up' ? 'increase' : o.direction === 'down' ? 'decrease' : 'target',
    step: o.step,
    // Targets are given in original units; the predictor works on normalised outputs.
    target: o.target === undefined ? 0 : (o.target - manifest.normalization.outputMean[o.output]) / manifest.normalization.outputStd[o.output],
    weights: rows.map((r) => weightOf(o, r.flopsWeight)),
  }));
  const bounds = codeBounds(config.editing.max_value_alpha);
  const iterations = options.iterations ?? config.editing.iters;
  const cancel = linkCancelToken(options.signal);
  let run: NativePropagation;
  const t0 = process.hrtime.bigint();
  try {
    run = await predictor.propagate(rows.flatMap((r) => r.embedding), { iterations, lr: config.editing.lr, loss: config.editing.loss, minCode: bounds.min, maxCode: bounds.max, divisors: bounds.divisors, objectives: nativeObjectives }, cancel.token);
  } finally {
    cancel.release();
  }
  const t1 = process.hrtime.bigint();
  const trajectories = rows.map((r, b) => ({
    start: starts[r.s],
    weights: Object.fromEntries(objectives.map((o) => [o.metric + (o.direction === 'target' ? '→target' : o.direction === 'up' ? '↑' : '↓'), weightOf(o, r.flopsWeight)])),
    ...trajectoryOf(run, b, rows.length, metrics),
  }));
  const t2 = process.hrtime.bigint();
  const result: PropagateResult = {
    dataset: manifest.dataset,
    metrics,
    mainMetric: metrics[0],
    costConvention: COST_CONVENTION,
    iterations,
    lr: config.editing.lr,
    loss: config.editing.loss,
    bounds,
    objectives,
    trajectories,
    ...(sweep ? { pareto: paretoOf(rows, trajectories, metrics[0]) } : {}),
    seconds: { propagation: Number(t1 - t0) / 1e9, costs: Number(t2 - t1) / 1e9, total: 0 },
  };
  result.seconds.total = (Date.now() - started) / 1000;
  if (options.out) {
    fs.mkdirSync(options.out, { recursive: true });
    await writeFileAtomic(path.join(options.out, 'trajectory.svg'), trajectoryChart(result));
  }
  return result;
}

function costs(embedding: number[]) {
  const setting = embeddingToSetting(embedding);
  const table = networkCost(setting, TABLE_COST_OPTIONS);
  const log = networkCost(setting, NCP_LOG_COST_OPTIONS);
  return { flops: table.flops, params: table.params, flopsNcpLog: log.flops, paramsNcpLog: log.params };
}

function trajectoryOf(run: NativePropagation, b: number, batch: number, metrics: string[]): Pick<Trajectory, 'steps' | 'final'> {
  const D = EMBEDDING_LENGTH;
  const M = metrics.length;
  const named = (values: Float64Array, at: number) => Object.fromEntries(metrics.map((m, k) => [m, values[at + k]]));
  const steps: TrajectoryStep[] = [];
  for (let t = 0; t < run.iterations; t++) {
    const at = (t * batch + b) * D;
    const rounded = Array.from(run.rounded.subarray(at, at + D));
    steps.push({
      step: t,
      roundedCode: embeddingToCode(rounded),
      continuous: Array.from(run.continuous.subarray(at, at + D)),
      predicted: named(run.predicted, (t * batch + b) * M),
      predictedRounded: named(run.predictedRounded, (t * batch + b) * M),
      ...costs(rounded),
    });
  }
  const final = Array.from(run.finalRounded.subarray(b * D, (b + 1) * D));
  const { flops, params } = costs(final);
  return { steps, final: { roundedCode: embeddingToCode(final), continuous: Array.from(run.finalContinuous.subarray(b * D, (b + 1) * D)), flops, params } };
}

/** The last recorded step of each swept row; on the front when no other point has ≥ metric and ≤ FLOPs with one strict. */
function paretoOf(rows: { flopsWeight?: number }[], trajectories: Trajectory[], main: string): ParetoPoint[] {
  const points = trajectories.map((t, b) => {
    const last = t.steps[t.steps.length - 1];
    if (!last) throw new TorchnasError('a Pareto sweep needs at least one propagation step (editing.iters >= 1)', 'CONFIG_INVALID');
    return { flopsWeight: rows[b].flopsWeight ?? 0, start: t.start, code: last.roundedCode, predictedMain: last.predictedRounded[main], flops: last.flops, params: last.params, onFront: true };
  });
  for (const p of points) {
    p.onFront = !points.some((q) => q !== p && q.predictedMain >= p.predictedMain && q.flops <= p.flops && (q.predictedMain > p.predictedMain || q.flops < p.flops));
  }
  return points;
}
