/**
 * The ranker as the library uses it: native construction options from a config, the run folder's files
 * (nar.json manifest, ckp_last.pt / ckp_best.pt checkpoints with their metadata) and {@link NarRankerModel}, a loaded
 * ranker that scores architectures and implements the search's {@link NarSearchRanker}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError, showValue } from '../../core/errors';
import { tensor } from '../../core/tensor';
import { native, NarRankerOptions, NativeNarRanker, NativeTensor } from '../../native';
import { NarConfig, narSpace } from './config';
import { NarBatchRecord, NarSearchRanker } from './types';

export const NAR_MANIFEST_FILE = 'nar.json';
export const NAR_CHECKPOINT_FILES = { best: 'ckp_best.pt', last: 'ckp_last.pt' } as const;
export const NAR_MANIFEST_FORMAT = 'torchnas-nar-run/1';
export const NAR_CHECKPOINT_FORMAT = 'torchnas-nar-checkpoint/1';

/** Native options of the ranker a config describes (§4.1, §4.5). */
export function narRankerOptions(config: NarConfig, seed: number, device = 'cpu'): NarRankerOptions {
  const r = config.ranker;
  return {
    nPatch: r.n_arch_patch,
    patchLen: r.d_patch * r.d_patch,
    dModel: r.d_model,
    dInner: r.d_ffn_inner,
    nLayers: r.n_layers,
    nHead: r.n_head,
    dK: r.d_k,
    dV: r.d_v,
    dropout: r.dropout,
    dTierInner: r.d_tier_prj_inner,
    dScoreInner: r.d_val_acc_prj_inner,
    nTier: r.n_tier,
    nPosition: r.n_position,
    scalePrj: r.scale_prj,
    optimizer: {
      lrMul: config.lr_scheduler.lr_mul,
      warmupSteps: config.lr_scheduler.n_warmup_steps,
      beta1: config.optimizer.beta1,
      beta2: config.optimizer.beta2,
      eps: config.optimizer.eps,
      weightDecay: config.optimizer.weight_decay,
    },
    seed,
    device,
  };
}

/** One row of the learning curves. */
export interface NarEpochRow {
  epoch: number;
  trainLoss: number;
  trainCe: number;
  trainRank: number;
  trainTierAccuracy: number;
  valTierAccuracy: number;
  /** lr of the epoch's last step. */
  lr: number;
  seconds: number;
  /** Peak resident set size of the process so far, MiB. */
  peakRssMiB: number;
}

/** What the run folder's nar.json holds: enough to rebuild the ranker and its data. */
export interface NarManifest {
  format: typeof NAR_MANIFEST_FORMAT;
  space: 'nb201' | 'nb101';
  config: NarConfig;
  seed: number;
  device: string;
  dataset: { source: string; count: number; networkType?: string };
  checkpoints: typeof NAR_CHECKPOINT_FILES;
}

/** Metadata stored inside each checkpoint (as a uint8 tensor of JSON, so the checkpoint is one atomic file). */
export interface NarCheckpointMeta {
  format: typeof NAR_CHECKPOINT_FORMAT;
  space: 'nb201' | 'nb101';
  config: NarConfig;
  seed: number;
  /** 0-based epoch the checkpoint was written after. */
  epoch: number;
  /** Dataset positions of the split (the rest is every other position). */
  split: { train: number[]; val: number[] };
  /** The epoch's batches in order (benchmark indices, true tiers): the search's tier statistics. */
  records: NarBatchRecord[];
  history: NarEpochRow[];
  best: { epoch: number; valTierAccuracy: number };
  dataset: { source: string; count: number };
}

export function metaTensor(meta: NarCheckpointMeta): NativeTensor {
  const bytes = new TextEncoder().encode(JSON.stringify(meta));
  return tensor(bytes, [bytes.length]);
}

export function readMeta(extras: Record<string, NativeTensor>, file: string): NarCheckpointMeta {
  const t = extras.meta;
  if (!t) throw new TorchnasError(`${file}: not a NAR checkpoint (it has no 'meta' record)`, 'FILE_CORRUPT');
  let meta: NarCheckpointMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(t.toArray() as Uint8Array)) as NarCheckpointMeta;
  } catch (e) {
    throw new TorchnasError(`${file}: the checkpoint's metadata is not valid JSON`, 'FILE_CORRUPT', { cause: e });
  } finally {
    for (const v of Object.values(extras)) v.dispose();
  }
  if (meta?.format !== NAR_CHECKPOINT_FORMAT) throw new TorchnasError(`${file}: checkpoint metadata format ${showValue(meta?.format)}, expected ${NAR_CHECKPOINT_FORMAT}`, 'FILE_CORRUPT');
  if (!Array.isArray(meta.split?.train) || !Array.isArray(meta.split?.val) || !Array.isArray(meta.records) || !Number.isInteger(meta.epoch)) {
    throw new TorchnasError(`${file}: the checkpoint's metadata lacks its split, records or epoch`, 'FILE_CORRUPT');
  }
  return meta;
}

/** Reads DIR/nar.json (FILE_NOT_FOUND / FILE_CORRUPT naming what is wrong). */
export function readNarManifest(dir: string): NarManifest {
  const file = path.join(dir, NAR_MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TorchnasError(`${dir} is not a NAR run folder: ${NAR_MANIFEST_FILE} is missing`, 'FILE_NOT_FOUND');
    throw new TorchnasError(`cannot read ${file}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
  }
  let m: NarManifest;
  try {
    m = JSON.parse(text) as NarManifest;
  } catch (e) {
    throw new TorchnasError(`${file}: not valid JSON`, 'FILE_CORRUPT', { cause: e });
  }
  if (m?.format !== NAR_MANIFEST_FORMAT) throw new TorchnasError(`${file}: format ${showValue(m?.format)}, expected ${NAR_MANIFEST_FORMAT}`, 'FILE_CORRUPT');
  if (m.space !== 'nb201' && m.space !== 'nb101') throw new TorchnasError(`${file}: space must be nb201 or nb101, got ${showValue(m.space)}`, 'FILE_CORRUPT');
  if (typeof m.config !== 'object' || m.config === null || typeof m.config.ranker !== 'object') throw new TorchnasError(`${file}: the manifest has no ranker config`, 'FILE_CORRUPT');
  return m;
}

/**
 * A ranker loaded from a run folder's checkpoint: scoring, tier prediction and the search's interface. Dispose it
 * when done (or `using`).
 */
export class NarRankerModel implements NarSearchRanker {
  readonly space: 'nb201' | 'nb101';
  readonly tiers: number;
  readonly featureSize: number;

  constructor(
    readonly native: NativeNarRanker,
    readonly manifest: NarManifest,
    readonly meta: NarCheckpointMeta,
  ) {
    this.space = manifest.space;
    this.tiers = manifest.config.ranker.n_tier;
    const d = manifest.config.ranker.d_patch;
    this.featureSize = manifest.config.ranker.n_arch_patch * d * d;
  }

  private features(values: Float32Array, n: number): NativeTensor {
    if (!(values instanceof Float32Array)) throw new TorchnasError('features must be a Float32Array', 'INVALID_ARGUMENT');
    if (!Number.isInteger(n) || n < 1 || values.length !== n * this.featureSize) {
      throw new TorchnasError(`features must hold n × ${this.featureSize} values (n = ${showValue(n)}), got ${values.length}`, 'SHAPE_MISMATCH');
    }
    return tensor(values, [n, this.featureSize]);
  }

  resetSearchBuckets(): void {
    this.native.resetSearchBuckets();
  }

  async rankSearchBatch(features: Float32Array, n: number): Promise<{ tierProbs: Float32Array; scores: Float32Array }> {
    const t = this.features(features, n);
    try {
      return await this.native.rankSearchBatch(t);
    } finally {
      t.dispose();
    }
  }

  /** Score head outputs (higher = better) of n architectures. */
  async scores(features: Float32Array, n: number, batchSize = 256): Promise<Float32Array> {
    const t = this.features(features, n);
    try {
      return await this.native.scores(t, batchSize);
    } finally {
      t.dispose();
    }
  }

  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Loads DIR's best or last checkpoint into a new ranker (CPU unless `device`). */
export async function loadNarRanker(dir: string, which: 'best' | 'last' = 'best', device?: string): Promise<NarRankerModel> {
  const manifest = readNarManifest(dir);
  const file = path.join(dir, NAR_CHECKPOINT_FILES[which]);
  if (!fs.existsSync(file)) throw new TorchnasError(`${dir}: no ${NAR_CHECKPOINT_FILES[which]} (has the run finished an epoch?)`, 'FILE_NOT_FOUND');
  const ranker = new (native().NarRanker)(narRankerOptions(manifest.config, manifest.seed, device ?? 'cpu'));
  try {
    const loaded = await ranker.loadCheckpoint(file);
    return new NarRankerModel(ranker, manifest, readMeta(loaded.extras, file));
  } catch (e) {
    ranker.dispose();
    throw e;
  }
}

export { narSpace };
