/**
 * The trained predictor on disk: DIR/predictor.json (architecture, metrics, normalisation, split) beside
 * the checkpoints DIR/best_model.pt and DIR/last_model.pt (parameters, buffers and normalisation, written
 * by the native side). NCP rebuilds the predictor from these files alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTorchnasError, TorchnasError } from '../../core/errors';
import { resolveTablePath } from '../../benchmarks/table-names';
import { native, NativeNcpPredictor, NativeTrainOptions, NcpPredictorOptions } from '../../native';
import { headDropouts, NcpConfig } from './config';

export const MANIFEST_FILE = 'predictor.json';
export const CHECKPOINT_FILES = { best: 'best_model.pt', last: 'last_model.pt' } as const;
export type CheckpointName = keyof typeof CHECKPOINT_FILES;

export interface PredictorManifest {
  format: 'torchnas-ncp-predictor/1';
  dataset: string;
  table: string;
  /** Outputs in order, and how many each head predicts. */
  metrics: string[];
  groups: number[];
  network: Omit<NcpPredictorOptions, 'seed' | 'device'>;
  seed: number;
  /** float32 values as numbers (§5.1); the checkpoints hold the same vectors. */
  normalization: { inputMean: number[]; inputStd: number[]; outputMean: number[]; outputStd: number[] };
  split: { train: number; validation: number };
  bestEpoch: number;
  checkpoints: typeof CHECKPOINT_FILES;
}

/** The predictor the config describes (§5.2). */
export function predictorOptions(config: NcpConfig, inputDim: number, seed: number, device: string, exactLinear = false): NcpPredictorOptions {
  if (config.network.input_dim !== 'AUTO' && config.network.input_dim !== inputDim) {
    throw new TorchnasError(`network.input_dim is ${config.network.input_dim} but the table's codes have ${inputDim} numbers`, 'CONFIG_INVALID');
  }
  return {
    inputDim,
    groups: config.data.metrics.map((g) => g.length),
    sharedLayer: config.network.shared_layer,
    separatedLayer: config.network.seperated_layer,
    activation: config.network.activation,
    trunkDropout: config.network.layer1_drop_ratio,
    headDropouts: headDropouts(config),
    seed,
    device,
    exactLinear,
  };
}

/** The training settings the config describes (§5.3); OneCycle's max lr is the optimiser's lr. */
export function trainOptions(config: NcpConfig): NativeTrainOptions {
  const o = config.optimization;
  const sgd = o.optimizer === 'sgd';
  const p = sgd ? o.sgd_param : o.adam_param;
  return {
    epochs: o.epoch,
    batchSize: o.batch_size,
    optimizer: o.optimizer,
    lr: p.lr,
    weightDecay: p.weight_decay,
    ...(sgd ? { momentum: o.sgd_param.momentum, nesterov: o.sgd_param.nesterov } : {}),
    loss: o.criterion,
    scheduler: o.scheduler,
    pctStart: o.onecycle_scheduler.pct_start,
    divFactor: o.onecycle_scheduler.div_factor,
    finalDivFactor: o.onecycle_scheduler.final_div_factor,
    baseMomentum: o.onecycle_scheduler.base_momentum,
    maxMomentum: o.onecycle_scheduler.max_momentum,
    etaMin: o.cosine_scheduler.eta_min,
    gamma: o.scheduler === 'exp' ? o.exp_scheduler.gamma : o.step_scheduler.gamma,
    milestones: o.step_scheduler.milestones,
  };
}

/**
 * The table to train on: --data, else `data.table` (a path relative to the config, or a name), else the
 * table named by `data.dataset` (`seg` → nas-bench-mr/seg: $TORCHNAS_HOME, then the bundled copy; see
 * benchmarks/table-names.ts), else the original repo's layout data/<dataset>/trainval.pkl under the
 * working directory.
 */
export function resolveTable(config: NcpConfig, data?: string): string {
  if (data) return resolveTablePath(data, { kind: 'nas-bench-mr' });
  if (config.data.table) {
    return resolveTablePath(config.data.table, { kind: 'nas-bench-mr', baseDir: config.source ? path.dirname(config.source) : undefined });
  }
  const original = path.resolve('data', config.data.dataset, 'trainval.pkl');
  try {
    return resolveTablePath(`nas-bench-mr/${config.data.dataset}`, { kind: 'nas-bench-mr' });
  } catch (e) {
    if (!isTorchnasError(e, 'FILE_NOT_FOUND')) throw e;
    if (fs.existsSync(original)) return original;
    throw new TorchnasError(`no table for data.dataset '${config.data.dataset}': ${e.message}; nor is there ${original}. Pass --data TABLE or set data.table`, 'FILE_NOT_FOUND', { cause: e });
  }
}

export function readManifest(dir: string): PredictorManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_CORRUPT';
    throw new TorchnasError(`cannot read ${file}: ${(e as Error).message} (train one with 'torchnas ncp train --out ${dir}')`, code);
  }
  const m = raw as Partial<PredictorManifest>;
  if (m.format !== 'torchnas-ncp-predictor/1' || !Array.isArray(m.metrics) || !m.network || !m.normalization) {
    throw new TorchnasError(`${file} is not a torchnas NCP predictor manifest`, 'FILE_CORRUPT');
  }
  return m as PredictorManifest;
}

/** Rebuilds the predictor of `dir` and loads one of its checkpoints (with its normalisation). */
export async function openPredictor(
  dir: string,
  options: { checkpoint?: CheckpointName; device?: string } = {},
): Promise<{ predictor: NativeNcpPredictor; manifest: PredictorManifest }> {
  const manifest = readManifest(dir);
  const predictor = new (native().NcpPredictor)({ ...manifest.network, seed: manifest.seed, device: options.device ?? 'cpu' });
  await predictor.load(path.join(dir, manifest.checkpoints[options.checkpoint ?? 'best']));
  return { predictor, manifest };
}
