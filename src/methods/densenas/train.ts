/**
 * `torchnas densenas train`: retrains a derived network (densenas.md §6, scaled to small inputs): SGD
 * with momentum 0.9 and weight decay 4e-5 under a per-step cosine to 1e-5, label smoothing 0.1, then the
 * test accuracy (eval mode), parameters, MAdds, the measured latency of the whole network on this device
 * and — when the net_config comes from a search folder — the latency the search's cost table predicted.
 * Writes result.json, the weights (LibTorch archive) and a state dict that Python's torch.load opens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { linkCancelToken } from '../../core/cancel';
import { getThreads, resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { tensor } from '../../core/tensor';
import { loadCifar10 } from '../../data/cifar10';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, loadFashionMnist } from '../../data/fashion-mnist';
import { imageFolderOf, loadImageFolder } from '../../data/image-folder';
import { native, NativeDistributed } from '../../native';
import { joinProcessGroup, shardIndices, sumOverRanks, takeRows } from '../../distributed/data-parallel';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { NetConfig, countDerivedNet, readNetConfigFile } from '../../spaces/densenas';
import { DenseEpochRecord, SEARCH_FILES } from './search';

export interface DenseTrainOptions {
  /** 'fashion-mnist' (default), 'cifar10:DIR' or 'folder:DIR' (DIR/train/CLASS/*.jpg|png and DIR/val|test/CLASS/…). */
  data?: string;
  /** folder:DIR only: the side the images are resized to (default 32) and their channels (3: RGB, default; 1: luminance). */
  inputSize?: number;
  channels?: number;
  dataDir?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  labelSmoothing?: number;
  /** Use only the first N training images. */
  limit?: number;
  seed?: number;
  device?: string;
  threads?: number;
  /** Batch of the latency measurement (default 32, the LUTs' batch). */
  latencyBatch?: number;
  out?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /**
   * Data parallelism: a joined process group, or null for one process; default the group `torchnas launch` (or
   * torchrun) describes, if any. As in `densenas search`, `batchSize` is the global batch: each of W ranks trains
   * on a disjoint, seeded 1/W of every epoch in batches of batchSize/W with gradients averaged over the ranks (so the
   * cosine runs over the same number of steps as one process); the test set is shared out too. Only rank 0 times
   * the network and writes `out`.
   */
  distributed?: NativeDistributed | null;
}

export interface DenseTrainResult {
  netConfig: string;
  data: string;
  epochs: { epoch: number; meanLoss: number; trainAccuracy: number; lr: number; seconds: number }[];
  testAccuracy: number;
  testLoss: number;
  parameters: number;
  madds: number;
  /** Whole-network latency on this device (median of the timed runs, ms per batch). */
  measuredLatencyMs: number;
  latencyBatch: number;
  /** The search's cost-table sum for this network (same unit), when the net_config came from a search folder. */
  predictedCost: number | null;
  seed: number;
  device: string;
  threads: number;
  /** Processes that trained together (1: no data parallelism). */
  worldSize: number;
}

/** A derived network to train: its net_config, where it came from, and the search's predicted cost (if known). */
export interface DerivedSource {
  netConfig: NetConfig;
  file: string;
  predicted: number | null;
}

/** A net_config file, or a `densenas search --out` folder (its net_config and last record's predicted cost). */
export async function readDerived(source: string): Promise<DerivedSource> {
  if (fs.existsSync(source) && fs.statSync(source).isDirectory()) {
    const file = path.join(source, SEARCH_FILES.netConfig);
    const records = path.join(source, SEARCH_FILES.records);
    let predicted: number | null = null;
    if (fs.existsSync(records)) {
      const list = JSON.parse(fs.readFileSync(records, 'utf8')) as DenseEpochRecord[];
      predicted = list.length ? list[list.length - 1].derivedCost : null;
    }
    return { netConfig: await readNetConfigFile(file), file, predicted };
  }
  return { netConfig: await readNetConfigFile(source), file: source, predicted: null };
}

/** Trains the network of `source`: a net_config file or search folder (see readDerived), or an already parsed one. */
export async function trainDerivedNet(source: string | DerivedSource, options: DenseTrainOptions = {}): Promise<DenseTrainResult> {
  const dist = options.distributed !== undefined ? options.distributed : await joinProcessGroup(undefined, { device: options.device ?? 'cpu' });
  const joined = options.distributed === undefined && dist !== null && dist !== undefined;
  try {
    return await trainOn(source, dist ?? undefined, options);
  } finally {
    if (joined) dist!.close();
  }
}

async function trainOn(source: string | DerivedSource, dist: NativeDistributed | undefined, options: DenseTrainOptions): Promise<DenseTrainResult> {
  const rank = dist?.rank ?? 0;
  const world = dist?.worldSize ?? 1;
  // only rank 0 writes results and weights
  const out = rank === 0 ? options.out : undefined;
  const seed = options.seed ?? 0;
  const device = resolveDevice(options.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 128;
  const lr = options.lr ?? 0.1;
  for (const [name, v] of Object.entries({ epochs, batchSize })) {
    if (!Number.isInteger(v) || v < 1) throw new TorchnasError(`${name} must be an integer >= 1, got ${v}`, 'INVALID_ARGUMENT');
  }
  if (!(lr > 0)) throw new TorchnasError(`lr must be > 0, got ${lr}`, 'INVALID_ARGUMENT');
  if (batchSize % world !== 0) {
    throw new TorchnasError(`the batch size (${batchSize}, the global batch) must be a multiple of the ${world} ranks: each takes batch/${world} images per step`, 'INVALID_ARGUMENT');
  }
  const data = options.data ?? 'fashion-mnist';
  const history: DenseTrainResult['epochs'] = [];
  return recordRun(
    { method: 'densenas train', device, seed, config: { source: typeof source === 'string' ? source : source.file, data, epochs, batchSize, lr, limit: options.limit ?? null, ...(world > 1 ? { worldSize: world } : {}) } },
    rank === 0 ? options : { ...options, out: undefined },
    async () => {
      const { netConfig, file, predicted } = typeof source === 'string' ? await readDerived(source) : source;
      let train: { images: Uint8Array; labels: Uint8Array; count: number };
      let test: typeof train;
      let channels: number;
      let side: number;
      let norm: { mean: number; std: number };
      let numClasses = 10;
      const folder = imageFolderOf(data);
      if (folder === undefined && (options.inputSize !== undefined || options.channels !== undefined)) {
        throw new TorchnasError(`inputSize and channels (--input-size, --channels) apply to folder:DIR data only, not to ${data}`, 'INVALID_ARGUMENT');
      }
      if (folder !== undefined && options.channels !== undefined && options.channels !== 1 && options.channels !== 3) {
        throw new TorchnasError(`channels (--channels) must be 1 or 3, got ${options.channels}`, 'INVALID_ARGUMENT');
      }
      if (data === 'fashion-mnist') {
        [train, test] = await Promise.all([loadFashionMnist('train', { dir: options.dataDir, limit: options.limit }), loadFashionMnist('test', { dir: options.dataDir })]);
        [channels, side, norm] = [1, 28, { mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD }];
      } else if (data.startsWith('cifar10:')) {
        const dir = data.slice('cifar10:'.length);
        const all = await loadCifar10(dir, 'train');
        const n = Math.min(all.count, options.limit ?? all.count);
        train = { images: all.images.subarray(0, n * 3072), labels: all.labels.subarray(0, n), count: n };
        test = await loadCifar10(dir, 'test');
        // One mean/std for all channels (the classifier trainer normalises uint8 with a scalar pair).
        [channels, side, norm] = [3, 32, { mean: 0.4733, std: 0.2515 }];
      } else if (folder !== undefined) {
        side = options.inputSize ?? 32;
        channels = options.channels ?? 3;
        if (!Number.isInteger(side) || side < 8) throw new TorchnasError(`inputSize (--input-size) must be an integer >= 8, got ${side}`, 'INVALID_ARGUMENT');
        const shape = { channels, height: side, width: side };
        const trainSplit = await loadImageFolder(folder, 'train', { ...shape, limit: options.limit });
        test = await loadImageFolder(folder, 'test', { ...shape, classes: trainSplit.classes });
        train = trainSplit;
        numClasses = trainSplit.classes.length;
        // One mean/std for all channels (the classifier trainer normalises uint8 with a scalar pair), from the training images.
        norm = pixelStats(train.images);
      } else {
        throw new TorchnasError(`--data ${data}: expected fashion-mnist, cifar10:DIR or folder:DIR`, 'INVALID_ARGUMENT');
      }
      const net = new (native().DenseDerivedNet)(netConfig, { inChannels: channels, numClasses, seed, device, mean: norm.mean, std: norm.std, bn: { momentum: 0.1, eps: 1e-3 } });
      const x = tensor(train.images, [train.count, channels, side, side]);
      const y = tensor(train.labels, [train.count]);
      const tx = tensor(test.images, [test.count, channels, side, side]);
      const ty = tensor(test.labels, [test.count]);
      const cancel = linkCancelToken(options.signal);
      const rankBatch = batchSize / world;
      const pixels = channels * side * side;
      const steps = Math.ceil(Math.floor(train.count / world) / rankBatch);
      if (dist) {
        // every rank starts from rank 0's weights and averages its gradients with the others from now on
        await net.broadcastState(dist);
        net.setDistributed(dist);
      }
      try {
        for (let epoch = 0; epoch < epochs; epoch++) {
          // this rank's disjoint shard of the epoch (the whole set for one process)
          const shard = dist ? shardIndices(train.count, rank, world, seed * 1000 + epoch) : undefined;
          using shardX = shard ? tensor(takeRows(train.images, pixels, shard), [shard.length, channels, side, side]) : undefined;
          using shardY = shard ? tensor(takeRows(train.labels, 1, shard), [shard.length]) : undefined;
          const r = await net.trainEpoch(
            shardX ?? x,
            shardY ?? y,
            {
              batchSize: rankBatch,
              lr,
              momentum: 0.9,
              weightDecay: 4e-5,
              cosineSteps: steps * epochs,
              minLr: 1e-5,
              labelSmoothing: options.labelSmoothing ?? 0.1,
              seed: seed * 1000 + epoch,
            },
            ([step, , loss]) => options.onProgress?.(epoch * steps + step, steps * epochs, { epoch: epoch + 1, loss }),
            cancel.token,
          );
          if (r.failure) throw new TorchnasError(`training stopped in epoch ${epoch + 1}: ${r.failure}`, 'NON_FINITE_LOSS');
          let [meanLoss, accuracy] = [r.meanLoss, r.accuracy];
          if (dist) [meanLoss, accuracy] = (await sumOverRanks(dist, [meanLoss / world, accuracy / world])) as [number, number];
          history.push({ epoch: epoch + 1, meanLoss, trainAccuracy: accuracy, lr, seconds: r.seconds });
        }
        let evaluation: { loss: number; accuracy: number };
        if (dist) {
          // the test set shared out in contiguous parts (all of it: the last rank takes the remainder), then pooled
          const from = Math.floor((rank * test.count) / world);
          const to = Math.floor(((rank + 1) * test.count) / world);
          using px = tensor(test.images.subarray(from * pixels, to * pixels), [to - from, channels, side, side]);
          using py = tensor(test.labels.subarray(from, to), [to - from]);
          const part = await net.evaluate(px, py, 500);
          const [loss, hits, n] = await sumOverRanks(dist, [part.loss * part.count, part.accuracy * part.count, part.count]);
          evaluation = { loss: loss / n, accuracy: hits / n };
        } else {
          evaluation = await net.evaluate(tx, ty, 500);
        }
        const latencyBatch = options.latencyBatch ?? 32;
        // timed on rank 0 while the others wait at the barrier (not competing for the cores)
        const latency = rank === 0 ? await net.measureLatency({ batch: latencyBatch, h: side, w: side }) : { median: NaN };
        if (dist) await dist.barrier();
        const count = countDerivedNet(netConfig, { inputSize: side, inChannels: channels, numClasses });
        if (out) {
          fs.mkdirSync(out, { recursive: true });
          await net.save(path.join(out, 'weights.pt'));
          await net.exportStateDict(path.join(out, 'state_dict.pt'));
        }
        const result: DenseTrainResult = {
          netConfig: file,
          data,
          epochs: history,
          testAccuracy: evaluation.accuracy,
          testLoss: evaluation.loss,
          parameters: net.parameterCount,
          madds: count.madds,
          measuredLatencyMs: latency.median,
          latencyBatch,
          predictedCost: predicted,
          seed,
          device,
          threads: getThreads(),
          worldSize: world,
        };
        return result;
      } finally {
        cancel.release();
        for (const t of [x, y, tx, ty]) t.dispose();
        net.dispose();
      }
    },
    () => ({ epochs: history }),
  );
}

/** Mean and standard deviation of uint8 pixels, as fractions of 255. */
export function pixelStats(pixels: Uint8Array): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] / 255;
    sum += v;
    squares += v * v;
  }
  const n = Math.max(1, pixels.length);
  const mean = sum / n;
  return { mean, std: Math.max(1e-3, Math.sqrt(Math.max(0, squares / n - mean * mean))) };
}
