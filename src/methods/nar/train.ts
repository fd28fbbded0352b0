/**
 * `torchnas nar train` / `nar evaluate` (nar.md §4.2–4.6): NAR's ranker trained by tiers, and its evaluation.
 *
 * Split: a seeded permutation of all architectures (our xoshiro stream, not torch.randperm's: deterministic from the
 * seed, but a different permutation than the original's for the same seed); train = the first train_size, val = the
 * next val_size, "the rest" = all others. Tier labels are made within train and within val (§4.3). Each epoch
 * shuffles the training set from a stream seeded by (seed, epoch), drops the last partial batch, and runs one native
 * job: fresh buckets, forward with the bucket means, CE + loss_factor · rank loss, AdamW with the Noam lr set before
 * the step, then the batch's detached encoder outputs into the buckets of their true tiers. Validation: fresh
 * buckets filled by true labels. ckp_last.pt after every epoch; ckp_best.pt when val tier accuracy strictly improves.
 * A checkpoint holds weights, AdamW state, schedule position, counters, generators and (as JSON) config, split and
 * the epoch's batch records; resuming from ckp_last continues identically.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic, renameIntoPlace } from '../../core/atomic-file';
import { linkCancelToken, throwIfAborted } from '../../core/cancel';
import { getThreads, resolveDevice, setThreads } from '../../core/device';
import { TorchnasError } from '../../core/errors';
import { ProgressCallback } from '../../core/progress';
import { Random } from '../../core/random';
import { kendallTau } from '../../core/stats';
import { tensor } from '../../core/tensor';
import { EnvelopeTargets, recordRun } from '../../report/envelope';
import { renderChart, stackCharts } from '../../report/svg';
import { native, NativeDistributed, NativeNarRanker, NativeTensor } from '../../native';
import { joinProcessGroup, sumOverRanks } from '../../distributed/data-parallel';
import { NarConfig, narBatchSizes, narSpace } from './config';
import { loadNarDataset, NarDataset, narDatasetFromRecords, NarUserRecord, takeFeatures } from './data';
import { argmaxRows, rankingMetrics, RankingMetrics, tierLabels, tierMetrics, TierMetrics } from './metrics';
import {
  metaTensor,
  NarCheckpointMeta,
  NarEpochRow,
  NarManifest,
  NAR_CHECKPOINT_FILES,
  NAR_CHECKPOINT_FORMAT,
  NAR_MANIFEST_FILE,
  NAR_MANIFEST_FORMAT,
  narRankerOptions,
  readMeta,
  readNarManifest,
} from './ranker';
import { NarBatchRecord } from './types';

export interface NarSplit {
  train: Int32Array;
  val: Int32Array;
  rest: Int32Array;
}

/** The seeded split (see the file comment): dataset positions of train, val and the rest. */
export function narSplit(count: number, trainSize: number, valSize: number, seed: number): NarSplit {
  if (trainSize + valSize > count) {
    throw new TorchnasError(`train_size ${trainSize} + val_size ${valSize} exceed the ${count} architectures of the data`, 'INVALID_ARGUMENT');
  }
  const perm = new Random(seed).shuffle(Array.from({ length: count }, (_, i) => i));
  return { train: Int32Array.from(perm.slice(0, trainSize)), val: Int32Array.from(perm.slice(trainSize, trainSize + valSize)), rest: Int32Array.from(perm.slice(trainSize + valSize)) };
}

/** Positions 0..n−1 in epoch `epoch`'s shuffled order, cut to whole batches when dropLast. */
export function epochOrder(n: number, batchSize: number, seed: number, epoch: number, dropLast: boolean): number[] {
  const rng = new Random((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  return dropLast ? order.slice(0, Math.floor(n / batchSize) * batchSize) : order;
}

export interface TrainNarOptions {
  /** A cell-information file (NB201 or NB101 format, by the config's space); default: config.data, else for NB201 the regenerated table. */
  data?: string;
  /** Or a dataset built in memory (narDatasetFromRecords, narDatasetFromNb201, ...). */
  dataset?: NarDataset;
  /** Or a user's own (architecture, accuracy) list. */
  records?: NarUserRecord[];
  /** Run folder (nar.json, ckp_last.pt, ckp_best.pt, result.json, SVGs); default: a temporary folder, removed after. */
  out?: string;
  seed?: number;
  /** Overrides ranker_epochs. */
  epochs?: number;
  /** A run folder to continue from its ckp_last.pt (its settings are used; outputs go to `out`, default that folder). */
  resume?: string;
  device?: string;
  threads?: number;
  /** Evaluate the best and last checkpoints at the end (default true). */
  evaluate?: boolean;
  /** Per step: steps done of the run's total, with the loss; per epoch also the tier accuracies. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  onEnvelope?: EnvelopeTargets['onEnvelope'];
  /** The run record's start line (events.jsonl of the dashboard), set by the CLI. */
  onStart?: EnvelopeTargets['onStart'];
  /**
   * Data parallelism: a joined process group, or null for one process; default the group `torchnas launch` (or
   * torchrun) describes, if any. The batch size stays the config's (global) one: each of W ranks takes every W-th
   * architecture of each batch (train_batch_size / W per rank; a last partial batch of fewer than W is left out),
   * gradients are averaged over the ranks, and the run makes the same steps under the same Noam schedule as one
   * process. The tier buckets, dropout and the rank loss's pairs stay per rank. Only rank 0 writes the run folder and
   * evaluates the checkpoints.
   */
  distributed?: NativeDistributed | null;
}

/** This rank's positions of a global epoch order cut in batches of `batchSize`: every `world`-th of each batch. */
export function rankOrder(order: readonly number[], batchSize: number, rank: number, world: number): number[] {
  const mine: number[] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize);
    if (batch.length < world) break; // a last partial batch too small to give every rank an architecture
    for (let k = rank; k < batch.length; k += world) mine.push(batch[k]);
  }
  return mine;
}

export interface NarEvaluation {
  checkpoint: 'best' | 'last';
  epoch: number;
  /** Score head vs true (validation) accuracy. */
  val: RankingMetrics;
  train: RankingMetrics;
  rest: RankingMetrics;
  /** Validation tier accuracy as training measures it (buckets filled by true labels). */
  valTiers: TierMetrics;
  /** Tier prediction on a seeded subset of the rest with tier embeddings = per-true-tier means of the training encodings. */
  restTiers: TierMetrics;
  /** Kendall τ of total params alone on the rest (the §7.4 baseline). */
  paramsBaselineKendallTau: number;
  seconds: number;
}

export interface TrainNarResult {
  space: 'nb201' | 'nb101';
  dataset: { source: string; count: number };
  seed: number;
  device: string;
  threads: number;
  parameters: number;
  split: { train: number; val: number; rest: number };
  /** Processes that trained together (absent: one). */
  worldSize?: number;
  epochs: number;
  resumedAtEpoch: number;
  bestEpoch: number;
  bestValTierAccuracy: number;
  history: NarEpochRow[];
  wallSeconds: { training: number; evaluation: number; total: number };
  /** Peak resident set size of the process, MiB. */
  peakRssMiB: number;
  evaluation?: { best: NarEvaluation; last: NarEvaluation };
  out?: string;
}

/**
 * Scoring batch: 256 keeps each activation block of the NB201 encoder under glibc's 32 MB mmap threshold, so a
 * worker thread's malloc arena reuses its memory instead of mapping (and page-faulting) fresh blocks per batch; at
 * 2,048 the job spent ~40 % of its time in the kernel (measured: 4.9 M vs 2.2 M minor faults for 4,096 archs).
 */
const SCORE_BATCH = 256;

const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

function dataTensors(d: NarDataset, positions: Int32Array, tiers: Int32Array) {
  const [c, h, w] = d.featureShape;
  const acc = new Float32Array(positions.length);
  positions.forEach((p, i) => {
    acc[i] = d.valAccuracy[p];
  });
  return { x: tensor(takeFeatures(d, positions), [positions.length, c, h, w]), y: tensor(acc, [positions.length]), t: tensor(tiers, [tiers.length]) };
}

const pick = (values: Float64Array, positions: Int32Array) => Float64Array.from(positions, (p) => values[p]);

async function resolveDataset(config: NarConfig, options: { data?: string; dataset?: NarDataset; records?: NarUserRecord[] }): Promise<NarDataset> {
  const space = narSpace(config);
  let d: NarDataset;
  if (options.dataset) d = options.dataset;
  else if (options.records) d = narDatasetFromRecords(space, options.records, config.network_type ?? 'imagenet16');
  else d = await loadNarDataset(space, config.network_type, options.data ?? config.data);
  if (d.space !== space) throw new TorchnasError(`the data is ${d.space} but the config's space is ${config.space}`, 'INVALID_ARGUMENT');
  const shape = d.featureShape;
  const r = config.ranker;
  if (shape[1] !== r.d_patch || shape[0] !== r.n_arch_patch) {
    throw new TorchnasError(`the ranker expects ${r.n_arch_patch} tokens of ${r.d_patch}×${r.d_patch} but the data's feature tensors are ${shape.join('×')}`, 'CONFIG_INVALID');
  }
  return d;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}-${Date.now()}`;
  await fs.promises.copyFile(from, tmp);
  await renameIntoPlace(tmp, to);
}

export async function trainNarRanker(config: NarConfig, options: TrainNarOptions = {}): Promise<TrainNarResult> {
  const dist = options.distributed !== undefined ? options.distributed : await joinProcessGroup(undefined, { device: options.device ?? config.device ?? 'cpu' });
  const joined = options.distributed === undefined && dist !== null && dist !== undefined;
  try {
    return await trainRanker(config, options, dist ?? undefined);
  } finally {
    if (joined) dist!.close();
  }
}

async function trainRanker(config: NarConfig, options: TrainNarOptions, dist: NativeDistributed | undefined): Promise<TrainNarResult> {
  const rank = dist?.rank ?? 0;
  const world = dist?.worldSize ?? 1;
  if (rank > 0) {
    // ranks other than 0 write nothing where the user looks: a private folder, removed after, and no evaluation
    options = { ...options, out: undefined, evaluate: false, onEnvelope: undefined, onStart: undefined };
  }
  const started = Date.now();
  let resumeMeta: NarCheckpointMeta | undefined;
  let resumeManifest: NarManifest | undefined;
  if (options.resume !== undefined) {
    resumeManifest = readNarManifest(options.resume);
    config = resumeManifest.config;
  }
  const seed = options.seed ?? resumeManifest?.seed ?? config.seed;
  const device = resolveDevice(options.device ?? config.device ?? 'cpu');
  if (options.threads !== undefined) setThreads(options.threads);
  const totalEpochs = options.epochs ?? config.ranker_epochs;
  if (!Number.isInteger(totalEpochs) || totalEpochs < 1) throw new TorchnasError(`epochs must be a positive integer, got ${totalEpochs}`, 'INVALID_ARGUMENT');
  const temporary = rank > 0 || (options.out === undefined && options.resume === undefined);
  const out = rank > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), 'nar-train-')) : options.out ?? options.resume ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nar-train-'));
  let epochsDone = 0;
  const history: NarEpochRow[] = [];
  try {
    return await recordRun(
      { method: 'nar train', device, seed, config: world > 1 ? { ...config, worldSize: world } : config },
      { out: temporary ? undefined : out, onEnvelope: options.onEnvelope, onStart: options.onStart },
      async () => {
        const space = narSpace(config);
        const dataset = await resolveDataset(config, options);
        const split = narSplit(dataset.count, config.train_size, config.val_size, seed);
        const trainTiers = tierLabels(pick(dataset.valAccuracy, split.train), config.ranker.n_tier);
        const valTiers = tierLabels(pick(dataset.valAccuracy, split.val), config.ranker.n_tier);
        const batch = narBatchSizes(config);
        fs.mkdirSync(out, { recursive: true });
        const manifest: NarManifest = {
          format: NAR_MANIFEST_FORMAT,
          space,
          config,
          seed,
          device,
          dataset: { source: dataset.source, count: dataset.count, networkType: config.network_type },
          checkpoints: NAR_CHECKPOINT_FILES,
        };
        const ranker = new (native().NarRanker)(narRankerOptions(config, seed, device));
        const train = dataTensors(dataset, split.train, trainTiers);
        const val = dataTensors(dataset, split.val, valTiers);
        const cancel = linkCancelToken(options.signal);
        const lastFile = path.join(out, NAR_CHECKPOINT_FILES.last);
        const bestFile = path.join(out, NAR_CHECKPOINT_FILES.best);
        let best = { epoch: -1, valTierAccuracy: -Infinity };
        let startEpoch = 0;
        let trainingSeconds = 0;
        try {
          if (options.resume !== undefined) {
            const file = path.join(options.resume, NAR_CHECKPOINT_FILES.last);
            if (!fs.existsSync(file)) throw new TorchnasError(`${options.resume}: no ${NAR_CHECKPOINT_FILES.last} to resume from`, 'FILE_NOT_FOUND');
            const loaded = await ranker.loadCheckpoint(file);
            resumeMeta = readMeta(loaded.extras, file);
            if (resumeMeta.dataset.count !== dataset.count) {
              throw new TorchnasError(`${file} was trained on ${resumeMeta.dataset.count} architectures, the data given has ${dataset.count}`, 'INVALID_ARGUMENT');
            }
            if (resumeMeta.seed !== seed) throw new TorchnasError(`${file} was trained with seed ${resumeMeta.seed}, not ${seed}`, 'INVALID_ARGUMENT');
            if (resumeMeta.split.train.some((p, i) => p !== split.train[i]) || resumeMeta.split.val.some((p, i) => p !== split.val[i])) {
              throw new TorchnasError(`${file}: the checkpoint's split differs from this data's split (different data?)`, 'INVALID_ARGUMENT');
            }
            history.push(...resumeMeta.history);
            best = resumeMeta.best;
            startEpoch = resumeMeta.epoch + 1;
            epochsDone = startEpoch;
          }
          await writeJsonAtomic(path.join(out, NAR_MANIFEST_FILE), manifest);
          if (dist) {
            if (batch.train % world !== 0) {
              throw new TorchnasError(`train_batch_size (${batch.train}, the global batch) must be a multiple of the ${world} ranks`, 'CONFIG_INVALID');
            }
            // every rank starts from rank 0's weights and averages its gradients with the others from now on
            await ranker.broadcastState(dist);
            ranker.setDistributed(dist);
          }
          const stepsPerEpoch = Math.floor((config.drop_last ? Math.floor(split.train.length / batch.train) * batch.train : split.train.length + batch.train - 1) / batch.train);
          const totalSteps = stepsPerEpoch * totalEpochs;
          for (let epoch = startEpoch; epoch < totalEpochs; epoch++) {
            throwIfAborted(options.signal, 'nar train');
            const order = epochOrder(split.train.length, batch.train, seed, epoch, config.drop_last);
            const r = await ranker.trainEpoch(
              train.x,
              train.y,
              train.t,
              dist ? rankOrder(order, batch.train, rank, world) : order,
              batch.train / world,
              { lossFactor: config.loss_factor, auxLoss: config.aux_loss },
              ([step, , loss]) => options.onProgress?.(epoch * stepsPerEpoch + step, totalSteps, { epoch, loss }),
              cancel.token,
            );
            const v = await ranker.validate(val.x, val.t, batch.val);
            const valAccuracy = tierMetrics(argmaxRows(v.logits, config.ranker.n_tier), valTiers, config.ranker.n_tier).accuracy;
            const records: NarBatchRecord[] = [];
            for (let s = 0; s < order.length; s += batch.train) {
              const positions = order.slice(s, s + batch.train);
              records.push({ indices: positions.map((p) => dataset.benchmarkIndex[split.train[p]]), tiers: positions.map((p) => trainTiers[p]) });
            }
            const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
            let [trainLoss, trainCe, trainRank, correct, count] = [mean(r.loss), mean(r.ce), mean(r.rank), r.correct, r.count];
            if (dist) {
              // the ranks' means averaged, their hits summed
              [trainLoss, trainCe, trainRank, correct, count] = await sumOverRanks(dist, [trainLoss / world, trainCe / world, trainRank / world, correct, count]);
            }
            const row: NarEpochRow = {
              epoch,
              trainLoss,
              trainCe,
              trainRank,
              trainTierAccuracy: count ? correct / count : NaN,
              valTierAccuracy: valAccuracy,
              lr: r.lr[r.lr.length - 1],
              seconds: r.seconds,
              peakRssMiB: peakRssMiB(),
            };
            trainingSeconds += r.seconds;
            history.push(row);
            const improved = valAccuracy > best.valTierAccuracy;
            if (improved) best = { epoch, valTierAccuracy: valAccuracy };
            const meta: NarCheckpointMeta = {
              format: NAR_CHECKPOINT_FORMAT,
              space,
              config,
              seed,
              epoch,
              split: { train: Array.from(split.train), val: Array.from(split.val) },
              records,
              history,
              best,
              dataset: { source: dataset.source, count: dataset.count },
            };
            if (rank === 0) {
              const m = metaTensor(meta);
              try {
                await ranker.saveCheckpoint(lastFile, { meta: m });
              } finally {
                m.dispose();
              }
              if (improved) await copyAtomic(lastFile, bestFile);
            }
            epochsDone = epoch + 1;
            options.onProgress?.((epoch + 1) * stepsPerEpoch, totalSteps, { epoch, loss: row.trainLoss, trainTier: row.trainTierAccuracy, valTier: valAccuracy });
          }
          const parameters = ranker.parameterCount;
          const result: TrainNarResult = {
            space,
            dataset: { source: dataset.source, count: dataset.count },
            seed,
            device,
            threads: getThreads(),
            parameters,
            split: { train: split.train.length, val: split.val.length, rest: split.rest.length },
            epochs: totalEpochs,
            resumedAtEpoch: startEpoch,
            bestEpoch: best.epoch,
            bestValTierAccuracy: best.valTierAccuracy,
            history,
            wallSeconds: { training: trainingSeconds, evaluation: 0, total: 0 },
            peakRssMiB: 0,
            out: temporary ? undefined : out,
            ...(world > 1 ? { worldSize: world } : {}),
          };
          if (options.evaluate !== false) {
            const t0 = Date.now();
            const evalBest = await evaluateCheckpoint(ranker, path.join(out, NAR_CHECKPOINT_FILES.best), 'best', dataset, split, config, seed, options.signal, cancel.token);
            const evalLast = await evaluateCheckpoint(ranker, lastFile, 'last', dataset, split, config, seed, options.signal, cancel.token);
            result.evaluation = { best: evalBest.evaluation, last: evalLast.evaluation };
            result.wallSeconds.evaluation = (Date.now() - t0) / 1000;
            if (!temporary) await writeSvgs(out, history, dataset, split, evalBest.scores);
          } else if (!temporary) {
            await writeSvgs(out, history);
          }
          result.peakRssMiB = peakRssMiB();
          result.wallSeconds.total = (Date.now() - started) / 1000;
          return result;
        } finally {
          cancel.release();
          for (const t of [train.x, train.y, train.t, val.x, val.y, val.t]) t.dispose();
          ranker.dispose();
        }
      },
      () => ({ epochsDone, history }),
    );
  } finally {
    if (temporary) fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Loads `file` into `ranker` and evaluates it (§4.4 and item 4 of the issue). */
async function evaluateCheckpoint(
  ranker: NativeNarRanker,
  file: string,
  which: 'best' | 'last',
  dataset: NarDataset,
  split: NarSplit,
  config: NarConfig,
  seed: number,
  signal: AbortSignal | undefined,
  cancel: ReturnType<typeof linkCancelToken>['token'],
): Promise<{ evaluation: NarEvaluation; scores: Float32Array }> {
  const t0 = Date.now();
  throwIfAborted(signal, 'nar evaluate');
  const loaded = await ranker.loadCheckpoint(file);
  const meta = readMeta(loaded.extras, file);
  const tiers = config.ranker.n_tier;
  const [c, h, w] = dataset.featureShape;
  const all = tensor(dataset.features, [dataset.count, c, h, w]);
  let scores: Float32Array;
  try {
    scores = await ranker.scores(all, SCORE_BATCH, cancel);
  } finally {
    all.dispose();
  }
  const ranking = (positions: Int32Array) => rankingMetrics(Float64Array.from(positions, (p) => scores[p]), pick(dataset.valAccuracy, positions));
  const trainTiers = tierLabels(pick(dataset.valAccuracy, split.train), tiers);
  const valTiers = tierLabels(pick(dataset.valAccuracy, split.val), tiers);
  const train = dataTensors(dataset, split.train, trainTiers);
  const val = dataTensors(dataset, split.val, valTiers);
  let valTierMetrics: TierMetrics;
  let restTierMetrics: TierMetrics;
  try {
    const v = await ranker.validate(val.x, val.t, narBatchSizes(config).val);
    valTierMetrics = tierMetrics(argmaxRows(v.logits, tiers), valTiers, tiers);
    // Tier prediction on the rest: embeddings = per-true-tier means of the training encodings (§7.4).
    const subsetSize = Math.min(config.eval_rest_tier_subset, split.rest.length);
    const subset = Int32Array.from(new Random((seed ^ 0x5bd1e995) >>> 0).shuffle(Array.from(split.rest)).slice(0, subsetSize));
    if (subset.length > 0) {
      const means = await ranker.tierMeans(train.x, train.t, 256);
      const subsetTiers = tierLabels(pick(dataset.valAccuracy, subset), tiers);
      const x = tensor(takeFeatures(dataset, subset), [subset.length, c, h, w]);
      try {
        const p = await ranker.predict(x, means, 256, cancel);
        restTierMetrics = tierMetrics(argmaxRows(p.logits, tiers), subsetTiers, tiers);
      } finally {
        x.dispose();
        means.dispose();
      }
    } else {
      restTierMetrics = tierMetrics([], [], tiers);
    }
  } finally {
    for (const t of [train.x, train.y, train.t, val.x, val.y, val.t] as NativeTensor[]) t.dispose();
  }
  const evaluation: NarEvaluation = {
    checkpoint: which,
    epoch: meta.epoch,
    val: ranking(split.val),
    train: ranking(split.train),
    rest: ranking(split.rest),
    valTiers: valTierMetrics,
    restTiers: restTierMetrics,
    paramsBaselineKendallTau: kendallTau(pick(dataset.params, split.rest), pick(dataset.valAccuracy, split.rest)),
    seconds: (Date.now() - t0) / 1000,
  };
  return { evaluation, scores };
}

async function writeSvgs(out: string, history: NarEpochRow[], dataset?: NarDataset, split?: NarSplit, scores?: Float32Array): Promise<void> {
  const curves = stackCharts([
    renderChart(
      [
        { name: 'train loss', points: history.map((r) => [r.epoch, r.trainLoss]) },
        { name: 'train CE', points: history.map((r) => [r.epoch, r.trainCe]) },
      ],
      { title: 'NAR ranker: training loss', xLabel: 'epoch', yLabel: 'loss' },
    ),
    renderChart(
      [
        { name: 'train tier accuracy', points: history.map((r) => [r.epoch, r.trainTierAccuracy]) },
        { name: 'val tier accuracy', points: history.map((r) => [r.epoch, r.valTierAccuracy]) },
      ],
      { title: 'NAR ranker: tier accuracy', xLabel: 'epoch', yLabel: 'accuracy' },
    ),
  ]);
  await writeFileAtomic(path.join(out, 'learning-curves.svg'), curves);
  if (dataset && split && scores) {
    // At most 4,000 rest points (seeded pick) keep the file small.
    const rest = new Random(1).shuffle(Array.from(split.rest)).slice(0, 4000);
    const chart = renderChart(
      [
        { name: 'rest', style: 'points', points: rest.map((p) => [dataset.valAccuracy[p], scores[p]]) },
        { name: 'val', style: 'points', points: Array.from(split.val, (p) => [dataset.valAccuracy[p], scores[p]]) },
      ],
      { title: 'NAR ranker (best checkpoint): predicted score vs true accuracy', xLabel: 'true accuracy', yLabel: 'score head output' },
    );
    await writeFileAtomic(path.join(out, 'score-vs-accuracy.svg'), chart);
  }
}

export interface EvaluateNarOptions {
  /** 'best' (default), 'last' or 'both'. */
  which?: 'best' | 'last' | 'both';
  /** The data the run was trained on, when not the manifest's source (a user file or in-memory dataset/records). */
  data?: string;
  dataset?: NarDataset;
  records?: NarUserRecord[];
  device?: string;
  threads?: number;
  signal?: AbortSignal;
}

export interface EvaluateNarResult {
  checkpoint: string;
  space: 'nb201' | 'nb101';
  dataset: { source: string; count: number };
  evaluations: NarEvaluation[];
}

/** Evaluates a run folder's checkpoints on its split: τ/ρ on val, train and the rest, tier accuracy and confusion. */
export async function evaluateNarRanker(dir: string, options: EvaluateNarOptions = {}): Promise<EvaluateNarResult> {
  const manifest = readNarManifest(dir);
  if (options.threads !== undefined) setThreads(options.threads);
  const config = manifest.config;
  const source = manifest.dataset.source;
  const fileSource = source !== 'records' && !source.startsWith('nb201 table') && !source.endsWith('records') ? source : undefined;
  if (!options.dataset && !options.records && !options.data && source === 'records') {
    throw new TorchnasError(`${dir} was trained on in-memory records: pass them (records/dataset) to evaluate it`, 'INVALID_ARGUMENT');
  }
  const dataset = await resolveDataset(config, { data: options.data ?? fileSource, dataset: options.dataset, records: options.records });
  if (dataset.count !== manifest.dataset.count) {
    throw new TorchnasError(`${dir} was trained on ${manifest.dataset.count} architectures, the data given has ${dataset.count}`, 'INVALID_ARGUMENT');
  }
  const split = narSplit(dataset.count, config.train_size, config.val_size, manifest.seed);
  const which = options.which ?? 'best';
  const kinds: ('best' | 'last')[] = which === 'both' ? ['best', 'last'] : [which];
  const ranker = new (native().NarRanker)(narRankerOptions(config, manifest.seed, resolveDevice(options.device ?? 'cpu')));
  const cancel = linkCancelToken(options.signal);
  try {
    const evaluations: NarEvaluation[] = [];
    for (const kind of kinds) {
      const file = path.join(dir, NAR_CHECKPOINT_FILES[kind]);
      if (!fs.existsSync(file)) throw new TorchnasError(`${dir}: no ${NAR_CHECKPOINT_FILES[kind]}`, 'FILE_NOT_FOUND');
      evaluations.push((await evaluateCheckpoint(ranker, file, kind, dataset, split, config, manifest.seed, options.signal, cancel.token)).evaluation);
    }
    return { checkpoint: dir, space: manifest.space, dataset: { source: dataset.source, count: dataset.count }, evaluations };
  } finally {
    cancel.release();
    ranker.dispose();
  }
}
