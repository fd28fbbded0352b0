/**
 * `torchnas ncp train`: trains NCP's metric predictor on a NAS-Bench-MR table (ncp.md §5.1–§5.3) in one
 * native job, then scores the best and last states on the validation split (L1 in original units,
 * Kendall τ, Spearman ρ) and writes DIR/result.json, DIR/predictor.json and the two checkpoints.
 *
 * Reproducibility: the split is numpy's (seeded MT19937, exact); initialisation, dropout and the epoch
 * shuffles draw from one generator seeded with SEED in PyTorch's order (see native/core/nets/mlp_predictor.h),
 * so a CPU run repeats itself bit for bit for a given seed. DIR/result.json is the shared envelope
 * (report/envelope.ts) around {@link TrainPredictorResult}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../../core/atomic-file';
import { linkCancelToken } from '../../core/cancel';
import { CHECKPOINT_FILE, checkResumeSettings, readResumePoint, writeRunIdentity } from '../../core/resume';
import { getThreads, resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { kendallTau, spearman } from '../../core/stats';
import { tensor } from '../../core/tensor';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { native, NativeNcpPredictor } from '../../native';
import { NcpConfig } from './config';
import { loadPredictorDataset, PredictorDataset, takeRows } from './dataset';
import { CHECKPOINT_FILES, MANIFEST_FILE, PredictorManifest, predictorOptions, resolveTable, trainOptions } from './predictor';

export interface TrainPredictorOptions {
  /** Table file; default from the config (see resolveTable). */
  data?: string;
  /** Output folder for result.json, predictor.json and the checkpoints; nothing is written without it. */
  out?: string;
  /** Overrides the config's SEED (split, initialisation, dropout and shuffles). */
  seed?: number;
  device?: string;
  threads?: number;
  /**
   * Train through autograd with PyTorch's op sequence and torch's Adam: bit-identical to the original in
   * Python (see NcpPredictorOptions.exactLinear). Default: the fast path (hand-derived backward, fused Adam).
   */
  exactLinear?: boolean;
  /**
   * A previous run's `out` folder to continue from its last checkpoint (written at epoch ends, at most once a second); the
   * settings must equal the stored ones, and outputs go to `out` (default: that folder). The run then ends
   * bit-identical to an uninterrupted run with the same seed.
   */
  resume?: string;
  /** Per epoch: epochs done of the total, with the training loss and the first metric's validation L1. */
  onProgress?: ProgressCallback;
  /** Aborting cancels the native training job (CANCELLED); result.json then says 'interrupted'. */
  signal?: AbortSignal;
  /** Receives the result.json envelope when the run ends, however it ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
}

export interface MetricScore {
  /** Validation L1 in original units, mean of the 4 batch means (§5.3). */
  l1: number;
  kendallTau: number;
  spearmanRho: number;
}

export interface TrainPredictorResult {
  dataset: string;
  table: string;
  seed: number;
  device: string;
  threads: number;
  exactLinear: boolean;
  split: { train: number; validation: number; firstValidationIndices: number[]; firstTrainIndices: number[] };
  parameters: number;
  epochs: number;
  /** 0-based, as the original logs it. */
  bestEpoch: number;
  /** Per metric, for the best (by the first metric's L1) and the last state. */
  metrics: Record<string, { best: MetricScore; last: MetricScore }>;
  wallSeconds: { training: number; total: number };
  /** Whether the fast path trained (false: autograd, --exact or a non-CPU device). */
  fastPath: boolean;
  /** Seconds of the native training by phase (NativeTrainResult.profile). */
  profile: Record<string, number>;
  /** Epochs restored from the `resume` checkpoint (0: an uninterrupted run). */
  resumedAtEpoch: number;
  history: { epoch: number; trainLoss: number; lr: number; validationL1: number[] }[];
}

export async function trainNcpPredictor(config: NcpConfig, options: TrainPredictorOptions = {}): Promise<TrainPredictorResult> {
  const started = Date.now();
  const resume = options.resume !== undefined ? readResumePoint(options.resume, 'ncp train') : undefined;
  const seed = options.seed ?? resume?.identity.seed ?? config.SEED;
  const out = options.out ?? options.resume;
  const device = resolveDevice(options.device ?? config.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  let epochsDone = 0;
  return recordRun(
    { method: 'ncp train', device, seed, config },
    options,
    async () => {
      const tableFile = resolveTable(config, options.data);
      // Table parsing, checks, normalisation and the split run on a worker thread (they took ~150 ms).
      const { task, data } = await loadPredictorDataset(tableFile, config.data.metrics, seed);
      // The task of the table actually used (cls.yaml also serves cls-10-1000, cls-10c, cls-50-100 via --data).
      const dataset = task ?? config.data.dataset;
      // What decides the computation; a resumed run must match it (the device and thread count do not
      // change a CPU run's numbers... but they may on another device, so the device counts too).
      const runSettings = { config, table: path.resolve(tableFile), exactLinear: Boolean(options.exactLinear), device };
      if (resume) checkResumeSettings(resume, { seed: options.seed, settings: runSettings }, ['config.source']); // the same config may live elsewhere
      if (out) await writeRunIdentity(out, 'ncp train', seed, runSettings);
      const { train, val } = tensorsFor(data);
      const predictor = new (native().NcpPredictor)(predictorOptions(config, data.inputDim, seed, device, options.exactLinear));
      predictor.setNormalization({ inputMean: data.inputMean, inputStd: data.inputStd, outputMean: data.outputMean, outputStd: data.outputStd });
      const settings = {
        ...trainOptions(config),
        checkpointPath: out ? path.join(out, CHECKPOINT_FILE) : undefined,
        resumeFrom: resume?.checkpoint,
      };
      const total = settings.epochs ?? 200;
      const cancel = linkCancelToken(options.signal);
      try {
        const run = await predictor.train(
          { trainX: train.x, trainY: train.y, valX: val.x, valY: val.y },
          settings,
          ([epoch, , loss, main]) => {
            epochsDone = epoch;
            options.onProgress?.(epoch, total, { loss, [`L1(${data.metrics[0]})`]: main });
          },
          cancel.token,
        );
        if (run.failure) throw new TorchnasError(`predictor training stopped at epoch ${run.epochs}: ${run.failure}`, 'NON_FINITE_LOSS');
        const m = data.metrics.length;
        const l1At = (epoch: number) => Array.from(run.valL1.subarray(epoch * m, (epoch + 1) * m));
        const scores = {
          best: await score(predictor, 'best', data, val.x, l1At(run.bestEpoch)),
          last: await score(predictor, 'last', data, val.x, l1At(run.epochs - 1)),
        };
        predictor.useState('best');
        const result: TrainPredictorResult = {
          dataset,
          table: tableFile,
          seed,
          device,
          threads: getThreads(),
          exactLinear: Boolean(options.exactLinear),
          split: {
            train: data.trainIndices.length,
            validation: data.validationIndices.length,
            firstValidationIndices: Array.from(data.validationIndices.subarray(0, 5)),
            firstTrainIndices: Array.from(data.trainIndices.subarray(0, 5)),
          },
          parameters: predictor.parameterCount,
          epochs: run.epochs,
          bestEpoch: run.bestEpoch,
          metrics: Object.fromEntries(data.metrics.map((name, k) => [name, { best: scores.best[k], last: scores.last[k] }])),
          wallSeconds: { training: run.seconds, total: 0 },
          fastPath: run.fastPath,
          profile: run.profile,
          resumedAtEpoch: run.resumedAtEpoch,
          history: Array.from({ length: run.epochs }, (_, e) => ({ epoch: e, trainLoss: run.trainLoss[e], lr: run.lr[e], validationL1: l1At(e) })),
        };
        if (out) await writeOutputs(out, predictor, config, data, result);
        result.wallSeconds.total = (Date.now() - started) / 1000;
        return result;
      } finally {
        cancel.release();
        for (const t of [train.x, train.y, val.x, val.y]) t.dispose();
      }
    },
    // interrupted: the native job returns nothing partial; say how far it got
    () => ({ epochsDone }),
  );
}

function tensorsFor(data: PredictorDataset) {
  const d = data.inputDim;
  const m = data.metrics.length;
  const split = (indices: Int32Array) => ({
    x: tensor(takeRows(data.normalizedInputs, d, indices), [indices.length, d]),
    y: tensor(takeRows(data.normalizedOutputs, m, indices), [indices.length, m]),
  });
  return { train: split(data.trainIndices), val: split(data.validationIndices) };
}

/** Rank statistics of one state's denormalised validation predictions against the table's values. */
async function score(
  predictor: NativeNcpPredictor,
  which: 'best' | 'last',
  data: PredictorDataset,
  valX: ReturnType<typeof tensor>,
  l1: number[],
): Promise<MetricScore[]> {
  predictor.useState(which);
  const out = await predictor.predict(valX);
  const pred = out.toArray() as Float32Array;
  out.dispose();
  const m = data.metrics.length;
  const n = data.validationIndices.length;
  return data.metrics.map((_, k) => {
    const p = new Float64Array(n);
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = pred[i * m + k] * data.outputStd[k] + data.outputMean[k];
      t[i] = data.truth[data.validationIndices[i] * m + k];
    }
    return { l1: l1[k], kendallTau: kendallTau(p, t), spearmanRho: spearman(p, t) };
  });
}

async function writeOutputs(out: string, predictor: NativeNcpPredictor, config: NcpConfig, data: PredictorDataset, result: TrainPredictorResult) {
  fs.mkdirSync(out, { recursive: true });
  if (!fs.statSync(out).isDirectory()) throw new TorchnasError(`--out ${out} is not a folder`, 'INVALID_ARGUMENT');
  await predictor.save(path.join(out, CHECKPOINT_FILES.best), 'best');
  await predictor.save(path.join(out, CHECKPOINT_FILES.last), 'last');
  const { seed: _seed, device: _device, ...network } = predictorOptions(config, data.inputDim, result.seed, result.device, result.exactLinear);
  const manifest: PredictorManifest = {
    format: 'torchnas-ncp-predictor/1',
    dataset: result.dataset,
    table: result.table,
    metrics: data.metrics,
    groups: data.groups,
    network,
    seed: result.seed,
    normalization: {
      inputMean: Array.from(data.inputMean),
      inputStd: Array.from(data.inputStd),
      outputMean: Array.from(data.outputMean),
      outputStd: Array.from(data.outputStd),
    },
    split: { train: result.split.train, validation: result.split.validation },
    bestEpoch: result.bestEpoch,
    checkpoints: CHECKPOINT_FILES,
  };
  await writeJsonAtomic(path.join(out, MANIFEST_FILE), manifest);
}
