/**
 * `torchnas densenas search`: the DenseNAS search loop (densenas.md §4.2) on the native super network.
 * Per epoch: from arch_update_epoch on, a pass of architecture steps over the search-val split; then a
 * pass of weight steps over the search-train split (uniform op sampling during the warm-up); from
 * val_start_epoch on, a validation pass with all ops. After every epoch, atomically: the checkpoint
 * (weights, α/β, both optimizers, cosine position, epoch, generator state), the derived architecture as
 * net_config (legacy text with its net_type line, and JSON), the per-epoch records with the chained cost,
 * the LUT cost of the derived network and the op-probability histograms (JSON and SVG), and the top-k.
 *
 * Data: Fashion-MNIST (Debian's dataset-fashion-mnist) or CIFAR-10 binary batches; the search splits the
 * training set deterministically (seeded shuffle, 80 % search-train / 20 % search-val, ambiguity of
 * §4.1 resolved this way) and normalises with the config's mean/std.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic-file';
import { isCancelled, throwIfAborted } from '../../core/cancel';
import { getThreads, resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { Random } from '../../core/random';
import { CHECKPOINT_FILE, checkResumeSettings, readResumePoint, writeRunIdentity } from '../../core/resume';
import { tensor } from '../../core/tensor';
import { loadCifar10 } from '../../data/cifar10';
import { loadFashionMnist } from '../../data/fashion-mnist';
import { imageFolderOf, loadImageFolder } from '../../data/image-folder';
import { native, NativeDenseSuperNet, NativeDistributed, NativeStepProfile } from '../../native';
import { joinProcessGroup, sumOverRanks } from '../../distributed/data-parallel';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { renderChart, stackCharts } from '../../report/svg';
import { checkLutFingerprint, costListFromLut, readLatListFile, readLutFile, type LutFingerprint } from '../../benchmarks/densenas-lut';
import { resolveTablePath } from '../../benchmarks/table-names';
import {
  DenseArchParameters,
  DenseCostList,
  DenseNasConfig,
  DenseSpace,
  buildDenseSpace,
  deriveArchitecture,
  flopsCostList,
  formatNetConfig,
  netConfigToJson,
  softmax,
  type Derivation,
} from '../../spaces/densenas';
import { currentFingerprint } from './lut';
import { archParametersOf, createSuperNet, nativeCosts, searchSettings, temperatureAt } from './supernet';

export interface DenseSearchOptions {
  /** The config's file, for the record. */
  configFile?: string;
  /** 'fashion-mnist' (default), 'cifar10:DIR' (cifar-10-batches-bin) or 'folder:DIR' (DIR/train/CLASS/*.jpg|png, resized to data.input_size). */
  data?: string;
  /** Fashion-MNIST folder (default $TORCHNAS_FASHION_MNIST, else Debian's). */
  dataDir?: string;
  /** A keyed LUT (JSON) or positional lat_list, by path or table name; default: the config's cost type (flops → counted). */
  lut?: string;
  /** Use a keyed LUT measured on another device (otherwise refused, naming what differs). */
  allowForeignLut?: boolean;
  out?: string;
  /** A previous run's out folder: continue after its last finished epoch, ending as an uninterrupted run would. */
  resume?: string;
  seed?: number;
  /** Overrides train_params.epochs. */
  epochs?: number;
  /** Training images of the search-train split used per epoch (a seeded subset; val gets a quarter). */
  limit?: number;
  /** Overrides data.batch_size. */
  batchSize?: number;
  /** Overrides search_params.arch_update_epoch (first epoch with architecture steps, 0-based). */
  archStart?: number;
  /** Overrides search_params.val_start_epoch (first epoch with a validation pass, 0-based). */
  valStart?: number;
  /** Beyond the original: 'log' (default, λ·log_τ cost), 'ratio' or 'hinge' against `target`. */
  penalty?: 'log' | 'ratio' | 'hinge';
  /** Target cost (the LUT's unit: ms, or MMAdds for FLOPs) for 'ratio' / 'hinge'. */
  target?: number;
  /**
   * Time the derived network on this device every epoch (whole network, eval, at the search's batch and input
   * size), next to the cost table's prediction. Default: on when the cost table is a latency LUT.
   */
  measureDerived?: boolean;
  /** How many derived architectures to keep (by validation accuracy, from val_start_epoch; default 2). */
  topK?: number;
  device?: string;
  threads?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /**
   * Data parallelism: a joined process group, or null for one process. Default: the group `torchnas launch` (or
   * torchrun) describes in RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, if any. The batch size stays the global
   * one (data.batch_size, as the original's, which DataParallel split over its 4 GPUs): each of W ranks takes a
   * disjoint 1/W of every epoch's images in batches of batch/W, so the run makes the same steps under the same
   * schedule as one process. Weight steps average the sampled ops' gradients, architecture steps the α/β
   * gradients; every rank draws the same op samples (one seed), so α/β stay identical on all ranks — checked after
   * every epoch. Only rank 0 writes `out` and times the derived network.
   */
  distributed?: NativeDistributed | null;
}

export interface DenseEpochRecord {
  epoch: number;
  /** 'warmup' (weights only, uniform sampling) or 'search' (arch then weight steps). */
  stage: 'warmup' | 'search';
  weightLoss: number;
  trainAccuracy: number;
  archLoss: number | null;
  /** Validation accuracy with all ops (from val_start_epoch), else null. */
  valAccuracy: number | null;
  lr: number;
  /** Chained (expected) cost of the super network with all ops (§3.5). */
  expectedCost: number;
  /** The cost table's sum over the derived network's ops. */
  derivedCost: number;
  /** The derived network timed on this device (ms per batch; median of a stable run), or null when not measured. */
  derivedLatency: { median: number; mean: number; min: number; std: number; count: number } | null;
  /** The softmax temperature of this epoch (config softmax_temp, annealed by softmax_temp_decay). */
  temperature: number;
  derived: string;
  /** Mean op probability over the head rows and over the stack rows, by op name. */
  headOpProbability: Record<string, number>;
  stackOpProbability: Record<string, number>;
  seconds: number;
}

export interface DenseSearchResult {
  config: string;
  netType: string;
  data: string;
  costSource: string;
  costUnit: 'ms' | 'MMAdds';
  seed: number;
  device: string;
  threads: number;
  epochs: number;
  resumedAtEpoch: number;
  trainImages: number;
  valImages: number;
  records: DenseEpochRecord[];
  derived: { netConfig: string; path: number[]; pathProbability: number; cost: number };
  topK: { epoch: number; valAccuracy: number; netConfig: string; cost: number }[];
  /** The final architecture parameters (β per block, α_head, α_stack rows), from which `derived` follows. */
  archParameters: DenseArchParameters;
  /** Processes that searched together (1: no data parallelism). */
  worldSize: number;
  /**
   * This process's seconds in the steps of this run (a resumed run: since the resume), by phase: forward (compute),
   * backward, data-parallel collectives (communicate), optimizer (update); `steps`: the search's weight and arch steps
   * (those before a resume included).
   */
  stepProfile: NativeStepProfile;
  wallSeconds: number;
}

interface ImageSet {
  /** Normalised float32 [n, C, H, W]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  channels: number;
  side: number;
}

/** The training images of `source`, normalised with the config's mean/std. */
async function loadImages(source: string, config: DenseNasConfig, dataDir?: string): Promise<ImageSet> {
  const [channels, h, w] = config.data.input_size;
  let raw: { images: Uint8Array; labels: Uint8Array; count: number; channels: number; side: number };
  if (source === 'fashion-mnist') {
    const s = await loadFashionMnist('train', { dir: dataDir });
    raw = { images: s.images, labels: s.labels, count: s.count, channels: 1, side: s.height };
  } else if (source.startsWith('cifar10:')) {
    const s = await loadCifar10(source.slice('cifar10:'.length), 'train');
    raw = { ...s, channels: 3, side: 32 };
  } else if (imageFolderOf(source) !== undefined) {
    if (h !== w) throw new TorchnasError(`data.input_size (${channels},${h},${w}): the super network takes square images`, 'CONFIG_INVALID');
    // Decoded and resized to the config's input; labels = sorted class folders, which must match num_classes.
    const s = await loadImageFolder(imageFolderOf(source)!, 'train', { channels, height: h, width: w });
    if (s.classes.length !== config.num_classes) {
      throw new TorchnasError(`${s.dir} has ${s.classes.length} class folders but the config's num_classes is ${config.num_classes}: set num_classes to ${s.classes.length}`, 'CONFIG_INVALID');
    }
    raw = { images: s.images, labels: s.labels, count: s.count, channels, side: h };
  } else {
    throw new TorchnasError(`--data ${source}: expected fashion-mnist, cifar10:DIR or folder:DIR`, 'INVALID_ARGUMENT');
  }
  if (raw.channels !== channels || raw.side !== h || raw.side !== w) {
    throw new TorchnasError(
      `${source} has ${raw.channels}×${raw.side}×${raw.side} images but the config's data.input_size is (${channels},${h},${w}); ` +
        `use a config for that input (configs/densenas/mbv2-fmnist28.yaml for Fashion-MNIST, mbv2-small32.yaml for CIFAR-10)`,
      'CONFIG_INVALID',
    );
  }
  const mean = config.data.mean;
  const std = config.data.std;
  if (mean.length !== channels || std.length !== channels) {
    throw new TorchnasError(`data.mean and data.std need ${channels} entries (one per channel)`, 'CONFIG_INVALID');
  }
  // The original normalises with mean/std given ×255 (ImageNet); values below 1 are taken as fractions.
  const scale = Math.max(...mean) > 1 ? 1 : 255;
  const plane = h * w;
  const images = new Float32Array(raw.count * channels * plane);
  for (let i = 0; i < raw.count; i++) {
    for (let c = 0; c < channels; c++) {
      const m = mean[c] * scale;
      const s = std[c] * scale;
      const offset = (i * channels + c) * plane;
      for (let p = 0; p < plane; p++) images[offset + p] = (raw.images[offset + p] - m) / s;
    }
  }
  return { images, labels: Int32Array.from(raw.labels), count: raw.count, channels, side: h };
}

function shuffled(count: number, random: Random): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The batches of `indices` (in order), as tensors; the last partial batch is kept. */
function* batches(set: ImageSet, indices: Int32Array, batchSize: number) {
  const size = set.channels * set.side * set.side;
  for (let start = 0; start < indices.length; start += batchSize) {
    const part = indices.subarray(start, Math.min(indices.length, start + batchSize));
    const x = new Float32Array(part.length * size);
    const y = new Int32Array(part.length);
    part.forEach((index, k) => {
      x.set(set.images.subarray(index * size, (index + 1) * size), k * size);
      y[k] = set.labels[index];
    });
    yield { x: tensor(x, [part.length, set.channels, set.side, set.side]), y: tensor(y, [part.length]) };
  }
}

const FLOPS_SOURCE = 'flops (counted)';

/** The cost table: a keyed LUT or lat_list by name/path, else the config's own (flops counted; latency needs --lut). */
async function costTable(config: DenseNasConfig, space: DenseSpace, options: DenseSearchOptions, batch: number, device: string) {
  if (options.lut) {
    const file = resolveTablePath(options.lut);
    const head = fs.readFileSync(file).subarray(0, 2);
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    const text = gz ? null : fs.readFileSync(file, 'utf8').trimStart();
    if (text !== null && text.startsWith('{')) {
      const lut = await readLutFile(file);
      // This device exactly as `torchnas lut build` stamps it (one fingerprint function for both).
      const here: Partial<LutFingerprint> = currentFingerprint(device, batch);
      checkLutFingerprint(lut, here, { mode: options.allowForeignLut ? 'warn' : 'refuse' });
      return { costs: costListFromLut(space, lut), source: file, unit: 'ms' as const };
    }
    return { costs: await readLatListFile(file, space), source: file, unit: 'ms' as const };
  }
  if (config.optim.sub_obj.type === 'latency' && config.optim.if_sub_obj) {
    throw new TorchnasError(
      'this config searches against latency (optim.sub_obj.type: latency): give a LUT with --lut (build one with `torchnas lut build`)',
      'INVALID_ARGUMENT',
    );
  }
  return { costs: flopsCostList(space, { skipReg: config.optim.sub_obj.skip_reg }), source: FLOPS_SOURCE, unit: 'MMAdds' as const };
}

/** The cost table's sum over the ops of the derived network (skip stack layers are dropped from it). */
export function derivedCost(space: DenseSpace, costs: DenseCostList, arch: DenseArchParameters, derivation: Derivation): number {
  const first = (v: number[]) => v.indexOf(Math.max(...v));
  let total = costs.stem + costs.classifier;
  const p = derivation.path;
  for (let k = 1; k < p.length; k++) {
    const [a, b] = [p[k - 1], p[k]];
    const h = space.blocks[b].predecessors.findIndex((e) => e.from === a);
    if (b === space.blocks.length - 1) {
      total += costs.conv1x1[h];
      continue;
    }
    const block = costs.blocks[b - 1];
    total += block.head[h][first(softmax(arch.alphaHead[b - 1][h]))];
    arch.alphaStack[b - 1].forEach((row, l) => {
      const op = first(softmax(row));
      if (space.stackOps[op] !== 'skip_connect') total += block.stack[l][op];
    });
  }
  return total;
}

function opProbabilities(rows: number[][][], ops: string[]): Record<string, number> {
  const sums = new Array(ops.length).fill(0);
  let n = 0;
  for (const block of rows) {
    for (const row of block) {
      softmax(row).forEach((v, k) => (sums[k] += v));
      n++;
    }
  }
  return Object.fromEntries(ops.map((op, k) => [op, n ? sums[k] / n : 0]));
}

export const SEARCH_FILES = {
  records: 'search-records.json',
  netConfig: 'net_config',
  netConfigJson: 'net_config.json',
  topK: 'top_results.json',
  histogram: 'op-probabilities.svg',
} as const;

export async function runDenseSearch(config: DenseNasConfig, options: DenseSearchOptions = {}): Promise<DenseSearchResult> {
  const started = Date.now();
  const resume = options.resume !== undefined ? readResumePoint(options.resume, 'densenas search') : undefined;
  if (resume) options = { ...resumedOptions(resume.identity.settings), ...definedOnly(options) };
  const seed = options.seed ?? resume?.identity.seed ?? config.train_params.seed;
  const dist = options.distributed !== undefined ? options.distributed : await joinProcessGroup(undefined, { device: options.device ?? 'cpu' });
  const joined = options.distributed === undefined && dist !== null && dist !== undefined;
  const rank = dist?.rank ?? 0;
  const world = dist?.worldSize ?? 1;
  // only rank 0 writes results and checkpoints
  const out = rank === 0 ? options.out ?? options.resume : undefined;
  const device = resolveDevice(options.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  const epochs = options.epochs ?? config.train_params.epochs;
  const batchSize = options.batchSize ?? config.data.batch_size;
  if (!Number.isInteger(epochs) || epochs < 1) throw new TorchnasError(`epochs must be an integer >= 1, got ${epochs}`, 'INVALID_ARGUMENT');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TorchnasError(`batch size must be an integer >= 1, got ${batchSize}`, 'INVALID_ARGUMENT');
  if (batchSize % world !== 0) {
    throw new TorchnasError(`the batch size (${batchSize}, the global batch) must be a multiple of the ${world} ranks: each takes batch/${world} images per step`, 'INVALID_ARGUMENT');
  }
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new TorchnasError(`limit must be an integer >= 1, got ${options.limit}`, 'INVALID_ARGUMENT');
  }
  if ((options.penalty === 'ratio' || options.penalty === 'hinge') && !(options.target! > 0)) {
    throw new TorchnasError(`--penalty ${options.penalty} needs --target > 0 (in the cost table's unit)`, 'INVALID_ARGUMENT');
  }
  const space = buildDenseSpace(config);
  const data = options.data ?? 'fashion-mnist';
  const records: DenseEpochRecord[] = [];
  try {
    return await searchRun();
  } finally {
    if (joined) dist!.close();
  }

  function searchRun() {
    return recordRun(
      { method: 'densenas search', device, seed, config: world > 1 ? { ...config, worldSize: world } : config },
      rank === 0 ? options : { ...options, out: undefined },
      async () => {
        const set = await loadImages(data, config, options.dataDir);
        const split = shuffled(set.count, new Random(seed));
        const nTrain = Math.floor(set.count * 0.8);
        const trainAll = split.subarray(0, nTrain);
        const valAll = split.subarray(nTrain);
        const trainPerEpoch = Math.min(trainAll.length, options.limit ?? trainAll.length);
        const valPerEpoch = Math.min(valAll.length, options.limit !== undefined ? Math.max(1, Math.ceil(options.limit / 4)) : valAll.length);
        const { costs, source, unit } = await costTable(config, space, options, batchSize, device);
        const measureDerived = options.measureDerived ?? unit === 'ms';
        const settings = {
          ...searchSettings(config, (Math.floor(trainPerEpoch / batchSize) + 1) * epochs),
          penalty: options.penalty ?? 'log',
          target: options.target ?? 0,
        };
        const runSettings = {
          config,
          data,
          costSource: source,
          epochs,
          batchSize,
          limit: options.limit ?? null,
          archStart: options.archStart ?? null,
          valStart: options.valStart ?? null,
          settings,
          device,
          ...(world > 1 ? { worldSize: world } : {}),
        };
        if (resume) checkResumeSettings(resume, { seed: options.seed, settings: runSettings }, ['config.source', 'epochs', 'settings.totalWeightSteps']);
        const net: NativeDenseSuperNet = await createSuperNet(space, { seed, device, search: settings });
        net.setCosts(nativeCosts(costs));
        let first = 0;
        if (resume) {
          const restored = await net.loadCheckpoint(resume.checkpoint);
          first = restored.epoch;
          const stored = JSON.parse(fs.readFileSync(path.join(options.resume!, SEARCH_FILES.records), 'utf8')) as DenseEpochRecord[];
          records.push(...stored.slice(0, first));
          if (records.length !== first) throw new TorchnasError(`--resume: ${SEARCH_FILES.records} holds fewer epochs than the checkpoint (${first})`, 'FILE_CORRUPT');
        }
        if (dist) {
          // every rank starts from rank 0's weights, buffers and α/β, and averages its gradients with the others
          await net.broadcastState(dist);
          net.setDistributed(dist);
        }
        if (out) await writeRunIdentity(out, 'densenas search', seed, runSettings);
        const archStart = options.archStart ?? config.search_params.arch_update_epoch;
        const valStart = options.valStart ?? config.search_params.val_start_epoch;
        // This rank's share of an epoch's (seeded, rank-independent) order: every world-th image from `rank`, the
        // same count on every rank (a remainder of fewer than `world` images is left out), in batches of batch/world.
        const rankBatch = batchSize / world;
        const shard = (order: Int32Array): Int32Array => {
          if (world === 1) return order;
          const per = Math.floor(order.length / world);
          if (per < 1) throw new TorchnasError(`${order.length} image(s) per epoch cannot be shared by ${world} ranks`, 'INVALID_ARGUMENT');
          return Int32Array.from({ length: per }, (_, k) => order[k * world + rank]);
        };
        const trainBatches = Math.ceil(Math.floor(trainPerEpoch / world) / rankBatch);
        const valBatches = Math.ceil(Math.floor(valPerEpoch / world) / rankBatch);
        const stepsPerEpoch = (e: number) => trainBatches + (e >= archStart ? valBatches : 0) + (e >= valStart ? valBatches : 0);
        let totalSteps = 0;
        for (let e = 0; e < epochs; e++) totalSteps += stepsPerEpoch(e);
        let done = 0;
        for (let e = 0; e < first; e++) done += stepsPerEpoch(e);
        const topK: DenseSearchResult['topK'] = [];
        for (const r of records) if (r.valAccuracy !== null) topK.push({ epoch: r.epoch, valAccuracy: r.valAccuracy, netConfig: r.derived, cost: r.derivedCost });
        let derivation: Derivation | undefined;
        try {
          for (let epoch = first; epoch < epochs; epoch++) {
            const epochStarted = Date.now();
            // Per-epoch subsets and orders from (seed, epoch): a resumed run sees the same batches.
            const random = new Random(seed * 100003 + epoch + 1);
            const train = shard(shuffled(trainAll.length, random).subarray(0, trainPerEpoch).map((i) => trainAll[i]));
            const val = shard(shuffled(valAll.length, random).subarray(0, valPerEpoch).map((i) => valAll[i]));
            const searching = epoch >= archStart;
            const temperature = temperatureAt(config, epoch, archStart);
            net.setTemperature(temperature);
            let archLoss = 0;
            if (searching) {
              for (const { x, y } of batches(set, val, rankBatch)) {
                throwIfAborted(options.signal, 'DenseNAS search');
                const r = await net.archStep(x, y);
                x.dispose();
                y.dispose();
                archLoss += r.loss / valBatches;
                options.onProgress?.(++done, totalSteps, { epoch: epoch + 1, phase: 'arch', loss: r.loss, cost: r.cost });
              }
            }
            let weightLoss = 0;
            let correct = 0;
            let seen = 0;
            let lr = 0;
            for (const { x, y } of batches(set, train, rankBatch)) {
              throwIfAborted(options.signal, 'DenseNAS search');
              const r = await net.weightStep(x, y, { warmup: !searching });
              x.dispose();
              y.dispose();
              weightLoss += r.loss / trainBatches;
              correct += r.correct;
              seen += r.count;
              lr = r.lr;
              options.onProgress?.(++done, totalSteps, { epoch: epoch + 1, phase: searching ? 'weights' : 'warm-up', loss: r.loss, lr });
            }
            let valAccuracy: number | null = null;
            if (epoch >= valStart) {
              let hits = 0;
              let count = 0;
              for (const { x, y } of batches(set, val, rankBatch)) {
                throwIfAborted(options.signal, 'DenseNAS search');
                const r = await net.evaluate(x, y);
                x.dispose();
                y.dispose();
                hits += r.correct;
                count += r.count;
                options.onProgress?.(++done, totalSteps, { epoch: epoch + 1, phase: 'validation' });
              }
              if (dist) [hits, count] = await sumOverRanks(dist, [hits, count]);
              valAccuracy = hits / count;
            }
            if (dist) {
              // the epoch's figures over all ranks, and the check that every rank holds the same α/β
              [weightLoss, archLoss, correct, seen] = await sumOverRanks(dist, [weightLoss / world, archLoss / world, correct, seen]);
              await checkArchAgreement(dist, net);
            }
            net.endEpoch();
            const arch = archParametersOf(space, net);
            derivation = deriveArchitecture(space, arch);
            let derivedLatency: DenseEpochRecord['derivedLatency'] = null;
            if (measureDerived && rank === 0) {
              throwIfAborted(options.signal, 'DenseNAS search');
              // Built and timed per epoch (not part of the search's state: a resumed run measures afresh).
              const derivedNet = new (native().DenseDerivedNet)(derivation.netConfig, {
                inChannels: set.channels,
                numClasses: config.num_classes,
                stemStride: config.stem_stride,
                seed,
                device,
              });
              try {
                // A bounded measurement per epoch (≤ 50 timed runs, stop at 2 % relative SE of the median): the search's
                // clock matters more than the last percent; `densenas train` times the final network at full precision.
                const t = await derivedNet.measureLatency({ batch: batchSize, h: set.side, w: set.side, warmup: 3, minRuns: 10, maxRuns: 50, relSe: 0.02 });
                derivedLatency = { median: t.median, mean: t.mean, min: t.min, std: t.std, count: t.count };
              } finally {
                derivedNet.dispose();
              }
            }
            const record: DenseEpochRecord = {
              epoch: epoch + 1,
              stage: searching ? 'search' : 'warmup',
              weightLoss,
              trainAccuracy: correct / Math.max(1, seen),
              archLoss: searching ? archLoss : null,
              valAccuracy,
              lr,
              expectedCost: await net.expectedCost(),
              derivedCost: derivedCost(space, costs, arch, derivation),
              derivedLatency,
              temperature,
              derived: formatNetConfig(derivation.netConfig),
              headOpProbability: opProbabilities(arch.alphaHead, space.headOps),
              stackOpProbability: opProbabilities(arch.alphaStack, space.stackOps),
              seconds: (Date.now() - epochStarted) / 1000,
            };
            records.push(record);
            if (valAccuracy !== null) {
              topK.push({ epoch: record.epoch, valAccuracy, netConfig: record.derived, cost: record.derivedCost });
              topK.sort((a, b) => b.valAccuracy - a.valAccuracy || a.epoch - b.epoch);
              topK.splice(options.topK ?? 2);
            }
            if (out) await writeEpoch(out, net, space, derivation, records, topK);
          }
        } catch (e) {
          if (isCancelled(e)) throw new TorchnasError('DenseNAS search was cancelled', 'CANCELLED', { cause: e });
          throw e;
        }
        if (!derivation) derivation = deriveArchitecture(space, archParametersOf(space, net));
        const arch = archParametersOf(space, net);
        const result: DenseSearchResult = {
          config: options.configFile ?? '(in memory)',
          netType: config.net_type,
          data,
          costSource: source,
          costUnit: unit,
          seed,
          device,
          threads: getThreads(),
          epochs,
          resumedAtEpoch: first,
          trainImages: trainPerEpoch,
          valImages: valPerEpoch,
          records,
          derived: {
            netConfig: formatNetConfig(derivation.netConfig),
            path: derivation.path,
            pathProbability: derivation.pathProbability,
            cost: derivedCost(space, costs, arch, derivation),
          },
          topK,
          archParameters: arch,
          worldSize: world,
          stepProfile: net.stepProfile(),
          wallSeconds: (Date.now() - started) / 1000,
        };
        net.dispose();
        return result;
      },
      () => ({ epochsDone: records.length, records }),
    );
  }
}


/**
 * What a resumed search takes from its run.json when the caller does not say it again: the data, the cost table
 * (a LUT's path), epochs, batch, limit, schedule overrides, penalty and device. `--resume DIR` alone continues a
 * run; a value given anyway must equal the stored one (checkResumeSettings), except `epochs`, which may grow.
 */
function resumedOptions(stored: Record<string, unknown>): Partial<DenseSearchOptions> {
  const s = stored as {
    data?: string;
    costSource?: string;
    epochs?: number;
    batchSize?: number;
    limit?: number | null;
    archStart?: number | null;
    valStart?: number | null;
    settings?: { penalty?: DenseSearchOptions['penalty']; target?: number };
    device?: string;
  };
  const lut = typeof s.costSource === 'string' && s.costSource !== FLOPS_SOURCE ? s.costSource : undefined;
  return {
    data: s.data,
    lut,
    epochs: s.epochs,
    batchSize: s.batchSize,
    limit: s.limit ?? undefined,
    archStart: s.archStart ?? undefined,
    valStart: s.valStart ?? undefined,
    penalty: s.settings?.penalty,
    target: s.settings?.target ? s.settings.target : undefined,
    device: s.device,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Fails (DISTRIBUTED_ERROR) unless every rank holds bit-identical α/β: a diverged search would derive different networks. */
async function checkArchAgreement(dist: NativeDistributed, net: NativeDenseSuperNet): Promise<void> {
  const raw = net.archParameters();
  // an order-sensitive checksum of the float32 bits, exact in float64 (values < 2^32, sums < 2^53)
  let a = 0;
  let b = 0;
  for (const rows of [raw.betas, raw.alphaHead, raw.alphaStack]) {
    for (const row of rows) {
      if (!row) continue;
      const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
      for (let i = 0; i < bits.length; i++) {
        a = (a + bits[i]) % 4294967291;
        b = (b + a) % 4294967291;
      }
    }
  }
  using local = tensor(Float64Array.from([a, b]), [2]);
  const all = await dist.allGather(local);
  const sums = all.map((t) => {
    const v = Array.from(t.toArray() as Float64Array);
    t.dispose();
    return v.join(',');
  });
  const differ = sums.findIndex((v) => v !== sums[0]);
  if (differ >= 0) {
    throw new TorchnasError(`rank ${differ}'s α/β differ from rank 0's: the ranks' searches diverged (do they share the seed and the config?)`, 'DISTRIBUTED_ERROR');
  }
}

async function writeEpoch(out: string, net: NativeDenseSuperNet, space: DenseSpace, derivation: Derivation, records: DenseEpochRecord[], topK: DenseSearchResult['topK']) {
  fs.mkdirSync(out, { recursive: true });
  // Records first, then the checkpoint: a checkpoint never points past the records a resume reads.
  await writeJsonAtomic(path.join(out, SEARCH_FILES.records), records);
  await net.saveCheckpoint(path.join(out, CHECKPOINT_FILE));
  await writeFileAtomic(path.join(out, SEARCH_FILES.netConfig), formatNetConfig(derivation.netConfig, { netTypeLine: true }));
  await writeFileAtomic(path.join(out, SEARCH_FILES.netConfigJson), netConfigToJson(derivation.netConfig));
  await writeJsonAtomic(path.join(out, SEARCH_FILES.topK), topK);
  const series = (key: 'headOpProbability' | 'stackOpProbability', ops: string[]) =>
    ops.map((op) => ({ name: op, points: records.map((r) => [r.epoch, r[key][op]] as [number, number]) }));
  const svg = stackCharts([
    renderChart(series('headOpProbability', space.headOps), { title: 'Head ops: mean probability per epoch', xLabel: 'epoch', yLabel: 'p' }),
    renderChart(series('stackOpProbability', space.stackOps), { title: 'Stack ops: mean probability per epoch', xLabel: 'epoch', yLabel: 'p' }),
    renderChart(
      [
        { name: 'expected (chained)', points: records.map((r) => [r.epoch, r.expectedCost] as [number, number]) },
        { name: 'derived network (table)', points: records.map((r) => [r.epoch, r.derivedCost] as [number, number]) },
        ...(records.some((r) => r.derivedLatency)
          ? [{ name: 'derived network (measured)', points: records.filter((r) => r.derivedLatency).map((r) => [r.epoch, r.derivedLatency!.median] as [number, number]) }]
          : []),
      ],
      { title: 'Cost per epoch', xLabel: 'epoch', yLabel: 'cost' },
    ),
  ]);
  await writeFileAtomic(path.join(out, SEARCH_FILES.histogram), svg);
}
