/**
 * The end-to-end demo: a small CNN (native/core/nets/small_cnn) trained on Fashion-MNIST for one epoch
 * with SGD, then scored on the test set. It proves the whole path — data in TS, tensors across N-API,
 * training on a worker thread with progress, checkpoint written atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { linkCancelToken } from '../../core/cancel';
import { resolveDevice, setThreads, getThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { tensor } from '../../core/tensor';
import { loadFashionMnist } from '../../data/fashion-mnist';
import { native } from '../../native';
import { EnvelopeTargets, recordRun } from '../../report/envelope';

export interface TrainDemoOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  momentum?: number;
  seed?: number;
  device?: string;
  threads?: number;
  dataDir?: string;
  /** Use only the first N training images (quick runs). */
  limit?: number;
  /** Folder for result.json (the shared envelope) and model.pt. */
  out?: string;
  /** Directory of a previous run's checkpoint to continue from. */
  resume?: string;
  /** Per training step: steps done of the epoch's steps, with the smoothed loss and the epoch. */
  onProgress?: ProgressCallback;
  /** Aborting cancels the native epoch (CANCELLED); result.json then says 'interrupted'. */
  signal?: AbortSignal;
  /** Receives the result.json envelope when the run ends, however it ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
}

export interface TrainDemoResult {
  dataset: 'fashion-mnist';
  device: string;
  threads: number;
  seed: number;
  parameters: number;
  trainImages: number;
  testImages: number;
  epochs: { epoch: number; meanLoss: number; trainAccuracy: number; seconds: number }[];
  testAccuracy: number;
  testLoss: number;
  totalSeconds: number;
}

export async function trainDemo(options: TrainDemoOptions = {}): Promise<TrainDemoResult> {
  if (options.resume !== undefined) throw new TorchnasError('resume is not supported yet', 'INVALID_ARGUMENT');
  const started = Date.now();
  const epochs = options.epochs ?? 1;
  const seed = options.seed ?? 0;
  const device = resolveDevice(options.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  if (!Number.isInteger(epochs) || epochs < 1) throw new TorchnasError(`epochs must be an integer >= 1, got ${epochs}`, 'INVALID_ARGUMENT');
  const { signal: _signal, onProgress: _onProgress, onEnvelope: _onEnvelope, ...config } = options;
  const history: TrainDemoResult['epochs'] = [];
  return recordRun(
    { method: 'train-demo', device, seed, config },
    options,
    async () => {
      const [train, test] = await Promise.all([
        loadFashionMnist('train', { dir: options.dataDir, limit: options.limit }),
        loadFashionMnist('test', { dir: options.dataDir }),
      ]);
      const b = native();
      const trainX = tensor(train.images, [train.count, train.height, train.width]);
      const trainY = tensor(train.labels, [train.count]);
      const testX = tensor(test.images, [test.count, test.height, test.width]);
      const testY = tensor(test.labels, [test.count]);
      const model = new b.SmallCnn({ inChannels: 1, imageSize: train.height, numClasses: 10, seed, device });
      const cancel = linkCancelToken(options.signal);
      try {
        for (let epoch = 0; epoch < epochs; epoch++) {
          const batchSize = options.batchSize ?? 64;
          const steps = Math.ceil(train.count / batchSize);
          let smoothed = NaN;
          const r = await model.trainEpoch(
            trainX,
            trainY,
            { batchSize, lr: options.lr ?? 0.05, momentum: options.momentum ?? 0.9, seed: seed * 1000 + epoch },
            ([step, , loss]) => {
              smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
              options.onProgress?.(step, steps, { epoch: epoch + 1, loss: smoothed });
            },
            cancel.token,
          );
          history.push({ epoch: epoch + 1, meanLoss: r.meanLoss, trainAccuracy: r.accuracy, seconds: r.seconds });
        }
        const evaluation = await model.evaluate(testX, testY, 1000);
        const result: TrainDemoResult = {
          dataset: 'fashion-mnist',
          device,
          threads: getThreads(),
          seed,
          parameters: model.parameterCount,
          trainImages: train.count,
          testImages: test.count,
          epochs: history,
          testAccuracy: evaluation.accuracy,
          testLoss: evaluation.loss,
          totalSeconds: (Date.now() - started) / 1000,
        };
        if (options.out) {
          fs.mkdirSync(options.out, { recursive: true });
          await model.save(path.join(options.out, 'model.pt'));
        }
        return result;
      } finally {
        cancel.release();
        for (const t of [trainX, trainY, testX, testY]) t.dispose();
      }
    },
    // interrupted: the epochs finished so far
    () => ({ epochs: history }),
  );
}
