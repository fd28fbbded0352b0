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
import { native, NativeDistributed, NativeTensor } from '../../native';
import { joinProcessGroup, shardIndices, takeRows } from '../../distributed/data-parallel';
import { CHECKPOINT_FILE, checkResumeSettings, readResumePoint, writeRunIdentity } from '../../core/resume';
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
  /** Folder for result.json (the shared envelope), model.pt, and checkpoint.pt + run.json after every epoch. */
  out?: string;
  /**
   * A previous run's `out` folder: continue after its last finished epoch (model, SGD momentum, counters and
   * generator states restored), ending bit-identical to an uninterrupted run. Settings must equal the stored
   * ones except `epochs` (the lr is constant, so more epochs extend the same computation).
   */
  resume?: string;
  /** Per training step: steps done of the epoch's steps, with the smoothed loss and the epoch. */
  onProgress?: ProgressCallback;
  /** Aborting cancels the native epoch (CANCELLED); result.json then says 'interrupted'. */
  signal?: AbortSignal;
  /** Receives the result.json envelope when the run ends, however it ends (the CLI's `--json`). */
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /**
   * Data parallelism: a joined process group, or null for a single process. Default: join the group that
   * `torchnas launch` (or torchrun) describes in RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, if any. Each rank
   * trains on its shard of every epoch (batch `batchSize` per rank) with gradients averaged over the ranks; only
   * rank 0 writes `out`.
   */
  distributed?: NativeDistributed | null;
}

export interface TrainDemoResult {
  dataset: 'fashion-mnist';
  device: string;
  threads: number;
  seed: number;
  parameters: number;
  trainImages: number;
  testImages: number;
  /** Processes that trained together (1: no data parallelism). */
  worldSize: number;
  /** Mean over the ranks of each rank's mean loss and accuracy. */
  epochs: { epoch: number; meanLoss: number; trainAccuracy: number; seconds: number }[];
  /** Epochs restored from the `resume` checkpoint (0: an uninterrupted run). */
  resumedAtEpoch: number;
  testAccuracy: number;
  testLoss: number;
  totalSeconds: number;
}

export async function trainDemo(options: TrainDemoOptions = {}): Promise<TrainDemoResult> {
  const started = Date.now();
  const epochs = options.epochs ?? 1;
  const resume = options.resume !== undefined ? readResumePoint(options.resume, 'train-demo') : undefined;
  const seed = options.seed ?? resume?.identity.seed ?? 0;
  const dist = options.distributed !== undefined ? options.distributed : await joinProcessGroup(undefined, { device: options.device ?? 'cpu' });
  const joined = options.distributed === undefined && dist !== null && dist !== undefined;
  const rank = dist?.rank ?? 0;
  const world = dist?.worldSize ?? 1;
  // only rank 0 writes results and checkpoints
  const out = rank === 0 ? options.out ?? options.resume : undefined;
  const device = resolveDevice(options.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  if (!Number.isInteger(epochs) || epochs < 1) throw new TorchnasError(`epochs must be an integer >= 1, got ${epochs}`, 'INVALID_ARGUMENT');
  const batchSize = options.batchSize ?? 64;
  const sgd = { lr: options.lr ?? 0.05, momentum: options.momentum ?? 0.9 };
  // What decides the computation (a resumed run must match it; `epochs` may grow).
  const runSettings = { epochs, batchSize, ...sgd, limit: options.limit ?? null, device, ...(world > 1 ? { worldSize: world } : {}) };
  if (resume) checkResumeSettings(resume, { seed: options.seed, settings: runSettings }, ['epochs']);
  const { signal: _signal, onProgress: _onProgress, onEnvelope: _onEnvelope, distributed: _distributed, ...config } = options;
  const history: TrainDemoResult['epochs'] = [];
  return recordRun(
    { method: 'train-demo', device, seed, config: world > 1 ? { ...config, worldSize: world } : config },
    rank === 0 ? options : { ...options, out: undefined },
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
      const pixels = train.height * train.width;
      try {
        let first = 0;
        if (resume) {
          const restored = await model.loadCheckpoint(resume.checkpoint);
          first = restored.epochs;
          history.push(...historyFrom(restored.extras.history, resume.checkpoint));
          if (first > epochs) {
            throw new TorchnasError(`--resume: the checkpoint is after epoch ${first}, past this run's ${epochs} epochs`, 'INVALID_ARGUMENT');
          }
        }
        if (dist) {
          // every rank starts from rank 0's weights and averages its gradients with the others from now on
          await model.broadcastState(dist);
          model.setDistributed(dist);
        }
        if (out) await writeRunIdentity(out, 'train-demo', seed, runSettings);
        for (let epoch = first; epoch < epochs; epoch++) {
          // this rank's disjoint shard of the epoch (the whole set for one process)
          const shard = world > 1 ? shardIndices(train.count, rank, world, seed * 1000 + epoch) : undefined;
          using shardX = shard ? tensor(takeRows(train.images, pixels, shard), [shard.length, train.height, train.width]) : undefined;
          using shardY = shard ? tensor(takeRows(train.labels, 1, shard), [shard.length]) : undefined;
          const count = shard?.length ?? train.count;
          const steps = Math.ceil(count / batchSize);
          let smoothed = NaN;
          const r = await model.trainEpoch(
            shardX ?? trainX,
            shardY ?? trainY,
            { batchSize, ...sgd, seed: seed * 1000 + epoch },
            ([step, , loss]) => {
              smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
              options.onProgress?.(step, steps, { epoch: epoch + 1, loss: smoothed });
            },
            cancel.token,
          );
          let [meanLoss, accuracy] = [r.meanLoss, r.accuracy];
          if (dist) {
            using local = tensor(new Float64Array([meanLoss, accuracy]), [2]);
            using mean = await dist.allReduce(local, { mean: true });
            [meanLoss, accuracy] = Array.from(mean.toArray() as Float64Array);
          }
          history.push({ epoch: epoch + 1, meanLoss, trainAccuracy: accuracy, seconds: r.seconds });
          if (out) {
            using record = historyTensor(history);
            await model.saveCheckpoint(path.join(out, CHECKPOINT_FILE), { history: record });
          }
        }
        const evaluation = await model.evaluate(testX, testY, 1000);
        const result: TrainDemoResult = {
          dataset: 'fashion-mnist',
          device,
          threads: getThreads(),
          seed,
          parameters: model.parameterCount,
          resumedAtEpoch: first,
          trainImages: train.count,
          testImages: test.count,
          worldSize: world,
          epochs: history,
          testAccuracy: evaluation.accuracy,
          testLoss: evaluation.loss,
          totalSeconds: (Date.now() - started) / 1000,
        };
        if (out) {
          fs.mkdirSync(out, { recursive: true });
          await model.save(path.join(out, 'model.pt'));
        }
        return result;
      } finally {
        cancel.release();
        for (const t of [trainX, trainY, testX, testY]) t.dispose();
        if (joined) dist!.close();
      }
    },
    // interrupted: the epochs finished so far
    () => ({ epochs: history }),
  );
}

// The per-epoch records travel in the checkpoint as a float64 [epochs, 4] tensor.
function historyTensor(history: TrainDemoResult['epochs']) {
  return tensor(Float64Array.from(history.flatMap((h) => [h.epoch, h.meanLoss, h.trainAccuracy, h.seconds])), [history.length, 4]);
}

function historyFrom(t: NativeTensor | undefined, file: string): TrainDemoResult['epochs'] {
  if (!t || t.shape.length !== 2 || t.shape[1] !== 4 || t.dtype !== 'float64') {
    throw new TorchnasError(`${file}: the checkpoint has no per-epoch history (a float64 [epochs, 4] tensor)`, 'FILE_CORRUPT');
  }
  const rows = t.shape[0];
  const v = t.toArray() as Float64Array;
  t.dispose();
  return Array.from({ length: rows }, (_, i) => ({ epoch: v[i * 4], meanLoss: v[i * 4 + 1], trainAccuracy: v[i * 4 + 2], seconds: v[i * 4 + 3] }));
}
