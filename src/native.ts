/**
 * Loads the native addon with node-gyp-build (build/Release, then prebuilds/<platform>-<arch>), or the file
 * named by $TORCHNAS_ADDON when set, and types the
 * raw binding in one place. A failed load becomes a TorchnasError that says what was tried and what to do.
 */
import * as path from 'node:path';
import { TorchnasError } from './core/errors';

export interface CpuCacheStats {
  installed: boolean;
  limitBytes: number;
  cachedBytes: number;
  inUseBytes: number;
  hits: number;
  misses: number;
  /** Bytes this call released (limitMb lowered, empty). */
  releasedBytes: number;
}

export interface NativeRuntimeInfo {
  torch: string;
  cuda: boolean;
  cudaDeviceCount: number;
  threads: number;
  interopThreads: number;
  mkldnn: boolean;
  /** The GEMM behind the NAR ranker's linears: oneDNN's sgemm when LibTorch ships it, else ATen's (the BLAS). */
  sgemm: 'onednn' | 'aten';
  /** OpenBLAS when it is the process's BLAS: build string, threading model and thread count; else null. */
  openblas: OpenBlasInfo | null;
}

export interface OpenBlasInfo {
  config: string;
  parallel: 'sequential' | 'pthreads' | 'openmp' | 'unknown';
  threads: number;
}

export type NativeDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool' | string;

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: NativeDtype;
  readonly device: string;
  readonly numel: number;
  readonly nbytes: number;
  readonly disposed: boolean;
  toArray(): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  to(device: string): Promise<NativeTensor>;
  dispose(): void;
  /** `using t = ...` disposes at scope end (installed on the prototype when the addon loads). */
  [Symbol.dispose](): void;
}

export type NativeTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

/**
 * What every bound network or predictor has (native/napi/module_wrap.h): one job at a time (a second call
 * while one runs is BUSY), dispose() / `using` (later use is DISPOSED), parameter access, save/load.
 */
export interface NativeModule {
  dispose(): void;
  readonly disposed: boolean;
  /** True while a job (training, scoring, save/load) runs on this object. */
  readonly busy: boolean;
  readonly parameterCount: number;
  readonly bufferCount: number;
  /** Bytes of parameters and buffers, as reported to V8. */
  readonly parameterBytes: number;
  readonly device: string;
  /** A copy of one parameter on the CPU. */
  parameter(name: string): NativeTensor;
  setParameter(name: string, value: NativeTensor): void;
  parameterNames(): string[];
  parameterSummary(): { count: number; sum: number; weightCount: number; names: string[] };
  /** Copies every parameter of another object of the same class and layout. */
  copyParametersFrom(other: this): void;
  /** Collective: every rank's parameters and buffers become `root`'s (default 0), the start of a data-parallel run. */
  broadcastState(dist: NativeDistributed, root?: number): Promise<void>;
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  [Symbol.dispose](): void;
}

export interface NativeSgdOptions {
  lr?: number;
  momentum?: number;
  weightDecay?: number;
}

export interface NativeSmallCnn extends NativeModule {
  trainEpoch(
    images: NativeTensor,
    labels: NativeTensor,
    options?: NativeSgdOptions & { batchSize?: number; seed?: number },
    onProgress?: (row: number[]) => void,
    cancel?: NativeCancelToken,
  ): Promise<{ meanLoss: number; accuracy: number; steps: number; seconds: number }>;
  trainSteps(images: NativeTensor, labels: NativeTensor, steps: number, options?: NativeSgdOptions): Promise<Float64Array>;
  evaluate(images: NativeTensor, labels: NativeTensor, batchSize?: number): Promise<{ loss: number; accuracy: number; count: number }>;
  forward(images: NativeTensor): Promise<NativeTensor>;
  /** Model, SGD state, counters, generator states and `extras`, written atomically (verified archive). */
  saveCheckpoint(path: string, extras?: Record<string, NativeTensor>): Promise<void>;
  /** Restores everything saveCheckpoint wrote; `epochs` is the number of epochs trained before it. */
  loadCheckpoint(path: string): Promise<{ epochs: number; extras: Record<string, NativeTensor> }>;
  /** Data-parallel training from the next step on (gradients averaged over the ranks); null: one process. */
  setDistributed(dist: NativeDistributed | null): void;
}

/**
 * One process's membership of a c10d process group (TCPStore rendezvous at the master address, Gloo collectives on
 * CPU tensors or NCCL's on CUDA ones). Collectives must be called in the same order on every rank.
 */
export interface NativeDistributed {
  readonly rank: number;
  readonly worldSize: number;
  readonly closed: boolean;
  /** 'gloo' or 'nccl'. */
  readonly backend: string;
  /** The device its collectives run on ('cpu' for Gloo, 'cuda:N' for NCCL). */
  readonly device: string;
  /** Sum (or mean) of a tensor over the ranks, as a new tensor. */
  allReduce(tensor: NativeTensor, options?: { mean?: boolean }): Promise<NativeTensor>;
  /** Every rank's tensor (same shape everywhere), in rank order. */
  allGather(tensor: NativeTensor): Promise<NativeTensor[]>;
  /** Root's tensor on every rank, as a new tensor. */
  broadcast(tensor: NativeTensor, root?: number): Promise<NativeTensor>;
  barrier(): Promise<void>;
  /** Leaves the group; later calls are DISPOSED errors. */
  close(): void;
}

export interface NativeDistributedClass {
  /** False where the addon was built without c10d (connect then fails with DISTRIBUTED_UNAVAILABLE). */
  readonly available: boolean;
  /** The backends built in: 'gloo' (CPU; Debian's LibTorch with libgloo-dev) and/or 'nccl' (a CUDA LibTorch with NCCL's headers). */
  readonly backends: string[];
  /**
   * Joins the group: resolves once every rank has reached the store at masterAddr:masterPort. `device` (default
   * 'cpu') is where the collectives run: NCCL on a CUDA device where built, else Gloo; `backend` forces one.
   * Tensors elsewhere than the group's device go through a copy there.
   */
  connect(options: {
    rank: number;
    worldSize: number;
    masterAddr?: string;
    masterPort?: number;
    timeoutMs?: number;
    bucketBytes?: number;
    device?: string;
    backend?: string;
  }): Promise<NativeDistributed>;
}

export interface NativeGenerator {
  randn(shape: number[]): NativeTensor;
  rand(shape: number[]): NativeTensor;
  randint(low: number, high: number, shape: number[]): NativeTensor;
}


// ---- TE-NAS cell networks (native/napi/tenas.cc, tenas_darts.cc) ----

export type NtkMode = 'logit_sum' | 'per_class_trace' | 'full';
/** How Jacobian rows are computed: 'batched' (one taped forward, a hand-derived backward carrying many rows
 * at once; NB201 cell networks), 'loop' (one autograd backward per row, the reference), 'auto' (batched
 * where the network supports it, else the loop). */
export type NtkPath = 'auto' | 'batched' | 'loop';

/** NTK options shared by the cell networks. */
export interface NtkOptions {
  mode?: NtkMode;
  singularEps?: number;
  fallback?: number;
  /** Loop path: rows on this many threads at once. */
  workers?: number;
  path?: NtkPath;
  /** Batched path: rows per backward pass (0: sized by batchedMemoryMb). */
  vjpChunk?: number;
  /** Batched path: memory for one folded activation gradient [rows·B, …], in MiB (default: 4× the per-core L2 cache, 2–32). */
  batchedMemoryMb?: number;
  /** Also return Θ (float64 tensor). */
  returnKernel?: boolean;
  cancel?: NativeCancelToken;
}

export interface NtkResult {
  kappa: number;
  lambdaMax: number;
  lambdaMin: number;
  columns: number;
  fallback: boolean;
  /** The path that ran: 'batched', 'loop' or 'wide' (copies > 1). */
  path: 'batched' | 'loop' | 'wide';
  /** path 'auto' ran the loop: why the batched path did not apply. */
  loopReason?: string;
  /** batched: rows per backward pass. */
  vjpChunk?: number;
  kernel?: NativeTensor;
}

/** Construction options of the NB201 cell network (native/napi/tenas.cc). */
export interface Nb201NetworkOptions {
  channels?: number;
  cellsPerStage?: number;
  numClasses?: number;
  inChannels?: number;
  useStem?: boolean;
  depth?: number;
  /** A single architecture: the op index of each of the 6 edges (the network then holds only those ops). */
  ops?: number[];
  seed?: number;
  init?: 'default' | 'kaiming_normal_fanout' | 'kaiming_normal_fanin';
  device?: string;
  dtype?: 'float32' | 'float64';
}

export interface NativeNb201Network extends NativeModule {
  ntk(
    inputs: NativeTensor,
    options?: NtkOptions & { alpha?: Float32Array; copies?: number },
  ): Promise<NtkResult>;
  linearRegions(inputs: NativeTensor, options?: { alpha?: Float32Array; batchSize?: number; cancel?: NativeCancelToken }): Promise<{ regions: number; samples: number; features: number }>;
  forward(inputs: NativeTensor): Promise<NativeTensor>;
  setAlpha(alpha: Float32Array): void;
  /** The ReLU sign patterns [n, D] (uint8) whose distinct rows linearRegions counts. */
  signPatterns(inputs: NativeTensor): Promise<NativeTensor>;
  macs(side?: number): { macs: number; parameters: number; allParameters: number };
}

/** Construction options of the raw binding (defaults: DARTS's C=16, N=5, stem multiplier 3, 4 steps). */
export interface DartsNetworkOptions {
  channels?: number;
  cellsPerStage?: number;
  steps?: number;
  multiplier?: number;
  stemMultiplier?: number;
  numClasses?: number;
  inChannels?: number;
  depth?: number;
  useStem?: boolean;
  /** Genotype network: per edge (sorted-key order) null (absent), an op index, or op indices. Both or neither. */
  normalOps?: (number | number[] | null)[];
  reduceOps?: (number | number[] | null)[];
  seed?: number;
  init?: 'default' | 'kaiming_normal_fanout' | 'kaiming_normal_fanin';
  device?: string;
  dtype?: 'float32' | 'float64';
}

export interface NativeDartsNetwork extends NativeModule {
  ntk(
    inputs: NativeTensor,
    options?: NtkOptions & { alphaNormal?: Float32Array; alphaReduce?: Float32Array },
  ): Promise<NtkResult>;
  linearRegions(
    inputs: NativeTensor,
    options?: { alphaNormal?: Float32Array; alphaReduce?: Float32Array; batchSize?: number; cancel?: NativeCancelToken },
  ): Promise<{ regions: number; samples: number; features: number }>;
  forward(inputs: NativeTensor): Promise<NativeTensor>;
  /** Sets α; an omitted argument keeps that cell type's α. SHAPE_MISMATCH unless 112 numbers. */
  setAlpha(normal?: Float32Array, reduce?: Float32Array): void;
  alpha(): { normal: Float32Array; reduce: Float32Array };
  macs(side?: number): { macs: number; parameters: number; allParameters: number };
}

// ---- NAR family (native/napi/nar.cc) ----

/** Construction options of NAR's ranker (nar.md §4.1); defaults are NB201's sizes. */
export interface NarRankerOptions {
  nPatch?: number;
  patchLen?: number;
  dModel?: number;
  dInner?: number;
  nLayers?: number;
  nHead?: number;
  dK?: number;
  dV?: number;
  dropout?: number;
  dTierInner?: number;
  dScoreInner?: number;
  nTier?: number;
  nPosition?: number;
  scalePrj?: boolean;
  /** AdamW under the Noam schedule (§4.5–4.6). */
  optimizer?: { lrMul?: number; warmupSteps?: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };
  seed?: number;
  device?: string;
}

export interface NativeNarEpoch {
  /** Per step: total loss, cross-entropy, rank loss, the lr the step used. */
  loss: Float64Array;
  ce: Float64Array;
  rank: Float64Array;
  lr: Float64Array;
  correct: number;
  count: number;
  seconds: number;
}

export interface NativeNarRanker extends NativeModule {
  /** One epoch over `order` cut into batches of batchSize; fresh buckets; progress rows [step, steps, loss]. */
  /** Data-parallel training from the next step on (gradients averaged over the ranks); null: one process again. */
  setDistributed(dist: NativeDistributed | null): void;
  trainEpoch(
    features: NativeTensor,
    accuracies: NativeTensor,
    tiers: NativeTensor,
    order: ArrayLike<number>,
    batchSize: number,
    options?: { lossFactor?: number; auxLoss?: boolean },
    onStep?: (row: number[]) => void,
    cancel?: NativeCancelToken,
  ): Promise<NativeNarEpoch>;
  /** Eval-mode validation with fresh buckets filled by true tier after each batch. logits: n × nTier. */
  validate(features: NativeTensor, tiers: NativeTensor, batchSize?: number): Promise<{ logits: Float32Array; scores: Float32Array }>;
  /** Eval-mode score head only. */
  scores(features: NativeTensor, batchSize?: number, cancel?: NativeCancelToken): Promise<Float32Array>;
  /** Eval-mode per-tier means of the encoder outputs → [nTier, nPatch, dModel]. */
  tierMeans(features: NativeTensor, tiers: NativeTensor, batchSize?: number): Promise<NativeTensor>;
  /** Eval-mode forward with fixed tier embeddings [nTier, nPatch, dModel]. */
  predict(features: NativeTensor, tierEmbeddings: NativeTensor, batchSize?: number, cancel?: NativeCancelToken): Promise<{ logits: Float32Array; scores: Float32Array }>;
  resetSearchBuckets(): void;
  rankSearchBatch(features: NativeTensor): Promise<{ tierProbs: Float32Array; scores: Float32Array }>;
  /** Weights, AdamW state, schedule position, counters, generators and `extras`, written atomically. */
  saveCheckpoint(path: string, extras?: Record<string, NativeTensor>): Promise<void>;
  loadCheckpoint(path: string): Promise<{ epoch: number; steps: number; extras: Record<string, NativeTensor> }>;
  /** Optimiser steps taken, epochs ended, and the lr of the next step. */
  readonly steps: number;
  readonly epoch: number;
  readonly lr: number;
}

// ---- NCP family (native/napi/ncp.cc, multi_resolution_net.cc) ----

export interface NativeMultiResolutionSetting {
  inputChannel: [number, number];
  modules: { branches: number; blocks: number[]; channels: number[] }[];
  lastChannel: number;
}

export interface MultiResolutionNetOptions {
  /** 27-number embedding (ncp.md §2.2), or `setting`. */
  embedding?: ArrayLike<number>;
  setting?: NativeMultiResolutionSetting;
  /** Default 19 (the original's default); the benchmark's stored costs use 50. */
  numClasses?: number;
  /** Default 'segmentation' (the original's default). */
  head?: 'classification' | 'segmentation' | 'cls' | 'seg';
  device?: string;
  seed?: number;
}

export interface NativeMultiResolutionNet extends NativeModule {
  /** Eval-mode forward: classification [N, K, 1, 1], segmentation [N, K, H/4, W/4]. */
  forward(input: NativeTensor): Promise<NativeTensor>;
  /** SGD steps with cross-entropy on one batch; labels [N] or [N, H/4, W/4] int64. Returns each step's loss. */
  trainSteps(input: NativeTensor, labels: NativeTensor, steps: number, options?: { lr?: number; momentum?: number; weightDecay?: number }): Promise<Float64Array>;
  /** thop-2020 ops/params of one forward of the built module (ncp.md §4). */
  countOps(options?: { height?: number; width?: number; batch?: number }): Promise<{ ops: number; params: number }>;
  readonly head: 'classification' | 'segmentation';
  readonly numClasses: number;
}

export interface NcpPredictorOptions {
  inputDim: number;
  groups: number[];
  sharedLayer: number;
  separatedLayer: number;
  activation: 'relu' | 'relu6' | 'tanh' | 'swish';
  trunkDropout: number;
  headDropouts: number[];
  seed: number;
  device: string;
  /**
   * How train() trains: true = autograd through PyTorch's op sequence with torch's Adam per parameter
   * (bit-identical to PyTorch-in-Python on the same LibTorch and BLAS); false (default) = on the CPU, a
   * hand-derived forward/backward over one flat parameter buffer with one fused Adam/AdamW update per
   * step (same math, last-bit rounding differs). Prediction and propagation are the same either way.
   */
  exactLinear?: boolean;
}

export interface NativeNormalization {
  inputMean: Float32Array;
  inputStd: Float32Array;
  outputMean: Float32Array;
  outputStd: Float32Array;
}

export interface NativeTrainOptions {
  epochs?: number;
  batchSize?: number;
  optimizer?: 'adam' | 'adamw' | 'sgd';
  lr?: number;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
  scheduler?: 'onecycle' | 'cosine' | 'exp' | 'step';
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  baseMomentum?: number;
  maxMomentum?: number;
  etaMin?: number;
  gamma?: number;
  milestones?: number[];
  loss?: 'smoothl1' | 'mse' | 'l1';
  /**
   * Written atomically at epoch ends: weights, optimizer and schedule state, epoch, records, RNG state; after
   * the first and the last epoch, and in between once `checkpointInterval` seconds passed since the last one.
   */
  checkpointPath?: string;
  /** Seconds between checkpoints (default 1; 0: after every epoch). */
  checkpointInterval?: number;
  /** A checkpoint to continue from; the run then ends bit-identical to an uninterrupted one. */
  resumeFrom?: string;
}

export interface NativeTrainResult {
  epochs: number;
  outputs: number;
  trainLoss: Float64Array;
  /** [epochs × outputs] validation L1 in original units (mean of batch means). */
  valL1: Float64Array;
  lr: Float64Array;
  bestEpoch: number;
  bestLoss: number;
  seconds: number;
  /** Epochs restored from `resumeFrom` (0: a fresh run); the arrays above hold every epoch. */
  resumedAtEpoch: number;
  /** Set when the run stopped early on a non-finite loss: that run's recorded failure. */
  failure?: string;
  /** Trained by the fast path (hand-derived backward, fused optimizer) rather than autograd. */
  fastPath: boolean;
  /**
   * Wall seconds by phase in this call: batches (shuffle gather), step.prepare (schedule, zero_grad),
   * step.compute (forward and loss; the fast path's backward too), step.backward (autograd), step.update
   * (optimizer, schedule), validation, checkpoint, other.
   */
  profile: Record<string, number>;
}

/** NcpPredictor.gradientCheck's result: per parameter (named_parameters order), both paths' gradients. */
export interface NativeGradientCheck {
  names: string[];
  fast: Float32Array[];
  autograd: Float32Array[];
  fastLoss: number;
  autogradLoss: number;
  /** BatchNorm buffers after the step, by name. */
  buffers: Record<string, { fast: Float32Array; autograd: Float32Array }>;
  /** Both paths left the predictor's generator in the same state (the dropout draws consumed it alike). */
  sameGeneratorState: boolean;
  /** Eval-mode predictions [N × outputs] after the step: the fast path's eval forward and the module's. */
  evalFast: Float32Array;
  evalModule: Float32Array;
}

export interface NativeObjective {
  output: number;
  mode: 'increase' | 'decrease' | 'target';
  step?: number;
  target?: number;
  /** One per start code. */
  weights: number[];
}

export interface NativePropagation {
  iterations: number;
  batch: number;
  /** [T × B × D] */
  rounded: Int32Array;
  continuous: Float64Array;
  /** [T × B × M] in original units. */
  predicted: Float64Array;
  predictedRounded: Float64Array;
  /** [B × D] after the last step. */
  finalRounded: Int32Array;
  finalContinuous: Float64Array;
}

export interface NativeNcpPredictor extends Omit<NativeModule, 'save'> {
  setNormalization(n: NativeNormalization): void;
  readonly normalization: NativeNormalization | undefined;
  train(
    data: { trainX: NativeTensor; trainY: NativeTensor; valX: NativeTensor; valY: NativeTensor },
    options: NativeTrainOptions,
    onEpoch?: (row: number[]) => void,
    cancel?: NativeCancelToken,
  ): Promise<NativeTrainResult>;
  useState(which: 'best' | 'last'): void;
  /** Normalised codes [N, D] → normalised predictions [N, M]. */
  predict(codes: NativeTensor): Promise<NativeTensor>;
  propagate(
    startCodes: ArrayLike<number>,
    options: { iterations: number; lr: number; loss?: 'l1' | 'smoothl1'; minCode: number[]; maxCode: number[]; divisors: number[]; objectives: NativeObjective[] },
    cancel?: NativeCancelToken,
  ): Promise<NativePropagation>;
  save(path: string, which?: 'current' | 'best' | 'last'): Promise<void>;
  load(path: string): Promise<void>;
  readonly outputDim: number;
  /**
   * Test hook: one train-mode batch through the fast path's hand-derived backward and through autograd,
   * from the same state and generator position (CPU); the predictor is left as it was.
   */
  gradientCheck(x: NativeTensor, y: NativeTensor, loss?: 'smoothl1' | 'mse' | 'l1'): Promise<NativeGradientCheck>;
}

// ---- DenseNAS (native/napi/densenas.cc) ----

/** A resolved DenseNAS space as the native super network takes it (built by src/spaces/densenas). */
export interface NativeDenseSpace {
  netType: 'mbv2' | 'res';
  inChannels: number;
  numClasses: number;
  stemStride: number;
  initDim: number;
  headDim: number;
  lastDim: number;
  /** BN momentum/eps of every BatchNorm; null: PyTorch's defaults (the ResNet super net). */
  bn: { momentum: number; eps: number } | null;
  headOps: string[];
  stackOps: string[];
  /** Blocks 0..N: predecessors nearest first, successors ascending. */
  blocks: { channels: number; numLayers: number; predecessors: { from: number; stride: number }[]; successors: number[] }[];
}

/** Search settings (defaults: the MBV2 search YAML of specs/densenas.md §1.2, §4.3). */
export interface NativeDenseSearchSettings {
  weightLr?: number;
  weightMomentum?: number;
  weightDecay?: number;
  /** Cosine floor (the inherited 1e-5). */
  minLr?: number;
  /** T_max of the per-step cosine. */
  totalWeightSteps?: number;
  alphaLr?: number;
  betaLr?: number;
  archWeightDecay?: number;
  weightSampleNum?: number;
  archSampleNum?: number;
  samplePolicy?: 'prob' | 'uniform';
  temperature?: number;
  /** Gumbel-softmax relaxation in the architecture step. */
  gumbel?: boolean;
  costTerm?: boolean;
  /** 'log': λ·log_τ(cost) (the original); 'ratio': λ·cost/target; 'hinge': λ·max(0, cost/target − 1). */
  penalty?: 'log' | 'ratio' | 'hinge';
  subLossFactor?: number;
  logBase?: number;
  target?: number;
}

/** Per-op costs in the positional lat_list layout (§5.2), cut to the space: head[j][h][op], stack[j][l][op]. */
export interface NativeDenseCosts {
  stem: number;
  head: number[][][];
  stack: number[][][];
  last: number[];
  classifier: number;
}

export interface NativeDenseStep {
  loss: number;
  ce: number;
  /** Chained expected cost (§3.5); 0 without a cost table. */
  cost: number;
  correct: number;
  count: number;
  /** The weight lr in effect for this step. */
  lr: number;
}

/** One op to time: a DenseNAS op (super-net BN), the stem ('relu6' mbv2 / 'relu' res), a conv1_1 branch or the classifier. */
export interface NativeLatencyEntry {
  kind: 'op' | 'stem' | 'conv1_1' | 'linear';
  op?: string;
  cIn: number;
  cOut: number;
  stride?: number;
  h?: number;
  w?: number;
}

/** Timed runs of one entry, in ms per batch. */
export interface NativeLatencyStats {
  count: number;
  mean: number;
  median: number;
  std: number;
  min: number;
  /** Distribution-free standard error of the median (order statistics; native/core/measure/latency.h). */
  medianSe: number;
}

/** SGD options of classifier training: a constant lr, or a per-step cosine to minLr over cosineSteps; label smoothing. */
export interface NativeClassifierSgd {
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  cosineSteps?: number;
  minLr?: number;
  labelSmoothing?: number;
}

/** What every classifier trained by the core's ClassifierTrainer offers (SmallCnn, DenseDerivedNet). */
export interface NativeClassifier extends NativeModule {
  trainEpoch(
    images: NativeTensor,
    labels: NativeTensor,
    options?: NativeClassifierSgd & { batchSize?: number; seed?: number },
    onProgress?: (row: number[]) => void,
    cancel?: NativeCancelToken,
  ): Promise<{ meanLoss: number; accuracy: number; steps: number; seconds: number; failure?: string }>;
  trainSteps(images: NativeTensor, labels: NativeTensor, steps: number, options?: NativeClassifierSgd): Promise<Float64Array>;
  evaluate(images: NativeTensor, labels: NativeTensor, batchSize?: number): Promise<{ loss: number; accuracy: number; count: number }>;
  forward(images: NativeTensor): Promise<NativeTensor>;
  saveCheckpoint(path: string, extras?: Record<string, NativeTensor>): Promise<void>;
  loadCheckpoint(path: string): Promise<{ epochs: number; extras: Record<string, NativeTensor> }>;
  /** Data-parallel training from the next step on (gradients averaged over the ranks); null: one process. */
  setDistributed(dist: NativeDistributed | null): void;
}

/** A network derived by DenseNAS, built from a net_config (src/spaces/densenas/net-config.ts form). */
export interface NativeDenseDerivedNet extends NativeClassifier {
  /** Latency of the whole network (eval, no grad) on its device, ms per batch. */
  measureLatency(options?: { batch?: number; h?: number; w?: number; warmup?: number; minRuns?: number; maxRuns?: number; relSe?: number }): Promise<NativeLatencyStats>;
  /** Parameters and buffers as a {name: tensor} dict that Python's torch.load opens. */
  exportStateDict(path: string): Promise<void>;
}

export type NativeDenseSample = { sample?: 'all' | 'prob' | 'uniform'; k?: number };

/**
 * One step's op sample: head[j][h] and stack[j][l] are the ascending op indices of block j's head branch h and
 * stack layer l (blocks 1..N−1, the layout of archParameters(); null or [] where a block has no rows).
 */
export interface NativeDenseOps {
  head: (number[][] | null)[];
  stack: (number[][] | null)[];
}

export interface NativeDenseSuperNetOptions {
  seed?: number;
  device?: string;
  search?: NativeDenseSearchSettings;
}

/** An opaque handle: a super network built by buildDenseSuperNet, not yet wrapped. */
export interface NativeDenseSuperNetParts {
  readonly __denseSuperNetParts: unique symbol;
}

export interface NativeDenseSuperNet extends NativeModule {
  readonly archParameterCount: number;
  /** β per block 0..N−1, α_head and α_stack per block (row-major; null where a block has none). */
  archParameters(): { betas: (Float32Array | null)[]; alphaHead: (Float32Array | null)[]; alphaStack: (Float32Array | null)[] };
  setCosts(costs: NativeDenseCosts): void;
  forward(images: NativeTensor, options?: NativeDenseSample): Promise<NativeTensor>;
  expectedCost(options?: NativeDenseSample): Promise<number>;
  /** `ops`: the step's sampled ops given instead of drawn (the generator is not used for them). */
  weightStep(images: NativeTensor, labels: NativeTensor, options?: { warmup?: boolean; ops?: NativeDenseOps }): Promise<NativeDenseStep>;
  archStep(images: NativeTensor, labels: NativeTensor, options?: { ops?: NativeDenseOps }): Promise<NativeDenseStep>;
  evaluate(images: NativeTensor, labels: NativeTensor): Promise<NativeDenseStep>;
  /** Ends a search epoch; returns the number of epochs done (stored in checkpoints). */
  endEpoch(): number;
  /** The softmax temperature of the following steps (> 0); the search sets it every epoch. */
  setTemperature(temperature: number): void;
  /** Weights, α/β, both optimizers, the cosine position, counters, the generator and `extras`, atomically. */
  saveCheckpoint(path: string, extras?: Record<string, NativeTensor>): Promise<void>;
  /** Restores a checkpoint of the same space in place. */
  loadCheckpoint(path: string): Promise<{ epoch: number; steps: number; extras: Record<string, NativeTensor> }>;
  /**
   * Data-parallel search from the next step on (null: one process again): weight steps average the sampled ops'
   * weight gradients over the ranks, architecture steps the α/β gradients. Every rank passes the same group, builds
   * the super net with the same seed (so draws the same op samples) and runs the same number of steps.
   * broadcastState(dist) sends rank 0's weights, buffers and α/β to every rank.
   */
  setDistributed(dist: NativeDistributed | null): void;
  /** Seconds spent in the search's steps so far, by phase (communicate: data-parallel collectives), and the step count. */
  stepProfile(): NativeStepProfile;
}

export interface NativeStepProfile {
  prepare: number;
  compute: number;
  backward: number;
  communicate: number;
  update: number;
  steps: number;
}

export interface NativeBinding {
  version: string;
  setErrorClass(cls: new (message: string, code: string) => Error): void;
  info(): NativeRuntimeInfo;
  setSeed(seed: number): void;
  setThreads(n: number): void;
  getThreads(): number;
  checkDevice(device: string): string;
  /**
   * Kernel choices made by timing on this machine (native/core/ops/kernel_choice.h): returns the cache file
   * and every choice made or loaded. `file` redirects the cache ("" keeps choices in memory only; default
   * `$TORCHNAS_HOME/kernel-choices.tsv`); `force` fixes candidates ("conv_input_grad=flipped", "first", ""
   * for none; default `$TORCHNAS_KERNELS`).
   */
  kernelChoices(options?: { file?: string; force?: string }): { file: string; choices: { key: string; choice: string }[] };
  /**
   * The caching CPU allocator (native/core/cpu_allocator.h): LibTorch's buffers of 1 MiB and more are kept when
   * freed and reused, so a training step's activations do not fault in fresh pages every step. `limitMb` sets
   * the bound on idle cached memory (0 turns caching off; default min(2 GiB, 1/8 of RAM) or
   * `$TORCHNAS_CPU_CACHE_MB`), `empty: true` releases every idle block. `installed` is false when
   * `TORCHNAS_CPU_ALLOCATOR=system` kept LibTorch's own allocator.
   */
  cpuCache(options?: { limitMb?: number; empty?: boolean }): CpuCacheStats;
  Tensor: new (data: NativeTypedArray, shape: number[]) => NativeTensor;
  saveTensors(path: string, tensors: Record<string, NativeTensor>): Promise<void>;
  loadTensors(path: string, device?: string): Promise<Record<string, NativeTensor>>;
  CancelToken: new () => NativeCancelToken;
  /** A seeded LibTorch CPU generator (streams equal torch.Generator's). */
  Generator: new (seed: number) => NativeGenerator;
  Nb201Network: new (options: Nb201NetworkOptions) => NativeNb201Network;
  DartsNetwork: new (options: DartsNetworkOptions) => NativeDartsNetwork;
  NcpPredictor: new (options: NcpPredictorOptions) => NativeNcpPredictor;
  NarRanker: new (options: NarRankerOptions) => NativeNarRanker;
  /** The Noam lr of optimiser steps 1..steps (the ranker's schedule). */
  narNoamSchedule(lrMul: number, dModel: number, warmupSteps: number, steps: number): Float64Array;
  /** The ranker's rank loss of one batch (float64): mean over ordered pairs i≠j of log(1 + exp(−(s_i − s_j)·sign(y_i − y_j))). */
  narRankLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number;
  /** Test hook: the ranker's training dropout (hashed mask) on `values`, and its gradient for upstream ones. */
  narDropout(values: ArrayLike<number>, p: number, seed: number, threads?: number, float64?: boolean): { output: Float32Array; gradient: Float32Array };
  /** Test hook: the ranker's fused attention and ATen's composition on the same seeded inputs (ops/attention.h). */
  narAttention(options: {
    g: number; bq: number; lq: number; b: number; lk: number; heads: number; d: number; p: number; seed: number;
  }): Record<'fused' | 'aten', { output: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array }>;
  /** Test hook: the ranker's Linear on ops/gemm.h (oneDNN's sgemm where found) and ATen's linear on the same seeded inputs. */
  narLinear(options: { rows: number; in: number; out: number; bias: boolean; seed: number }): {
    backend: 'onednn' | 'aten';
    fast: { output: Float32Array; dx?: Float32Array; dw?: Float32Array; db?: Float32Array };
    aten: { output: Float32Array; dx?: Float32Array; dw?: Float32Array; db?: Float32Array };
  };
  MultiResolutionNet: new (options: MultiResolutionNetOptions) => NativeMultiResolutionNet;
  /** Times DenseNAS ops in isolation (LUT entries, §5.1) → ms per batch; progress rows [done, total, median]. */
  measureDenseOps(
    entries: NativeLatencyEntry[],
    options?: { batch?: number; device?: string; warmup?: number; minRuns?: number; maxRuns?: number; relSe?: number; bn?: { momentum: number; eps: number } | null; seed?: number },
    onProgress?: (row: number[]) => void,
    cancel?: NativeCancelToken,
  ): Promise<NativeLatencyStats[]>;
  DenseDerivedNet: new (
    netConfig: { netType: 'mbv2' | 'res'; entries: ({ kind: 'block'; inChannels: number; outChannels: number; headOp: string; stackOps: string[]; stride: number } | { kind: 'conv1_1'; inChannels: number; outChannels: number })[] },
    options?: { inChannels?: number; numClasses?: number; stemStride?: number; bn?: { momentum: number; eps: number } | null; seed?: number; device?: string; mean?: number; std?: number },
  ) => NativeDenseDerivedNet;
  /**
   * The raw constructor: `new DenseSuperNet(space, options)` builds on the calling thread and blocks the event loop
   * (seconds for a full space; fine for the tiny spaces of tests); `new DenseSuperNet(parts)` wraps what
   * buildDenseSuperNet resolved with. The library's createSuperNet uses the latter.
   */
  DenseSuperNet: {
    new (space: NativeDenseSpace, options?: NativeDenseSuperNetOptions): NativeDenseSuperNet;
    new (parts: NativeDenseSuperNetParts): NativeDenseSuperNet;
  };
  /** Builds a super network on a worker thread; the promise resolves with parts that `new DenseSuperNet(parts)` takes (once). */
  buildDenseSuperNet(space: NativeDenseSpace, options?: NativeDenseSuperNetOptions): Promise<NativeDenseSuperNetParts>;
  countMultiResolutionOps(
    embeddings: ArrayLike<number>,
    options?: { head?: string; numClasses?: number; height?: number; width?: number },
    onProgress?: (row: number[]) => void,
  ): Promise<{ ops: Float64Array; params: Float64Array }>;
  oneCycleSchedule(
    totalSteps: number,
    options?: { maxLr?: number; pctStart?: number; divFactor?: number; finalDivFactor?: number; baseMomentum?: number; maxMomentum?: number },
  ): { lr: Float64Array; momentum: Float64Array };
  /**
   * Test hook: one parameter vector stepped by the fused Adam/AdamW and by torch's, on the same seeded
   * gradients, with lr and β1 changed before every step (lr·(1 + 0.5·t), β1 − 0.02·t).
   */
  fusedAdamCheck(options?: {
    optimizer?: 'adam' | 'adamw';
    size?: number;
    steps?: number;
    lr?: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
    seed?: number;
  }): { initial: Float32Array; fused: Float32Array; reference: Float32Array };
  /** The intra-op thread count a job sees on its own thread (tests: thread counts never leak between jobs). */
  jobThreads(threads?: number): Promise<number>;
  SmallCnn: new (options?: {
    inChannels?: number;
    imageSize?: number;
    numClasses?: number;
    seed?: number;
    device?: string;
    /** false: conv (with bias) → ReLU, no BatchNorm. Default true. */
    batchNorm?: boolean;
  }) => NativeSmallCnn;
  Distributed: NativeDistributedClass;
}

/** The package root (holds package.json, build/, prebuilds/), both from src/ under ts-jest and from dist/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

let cached: NativeBinding | undefined;
let addonFile: string | undefined;

/** The absolute path of the loaded addon file (undefined before the first `native()`). */
export function addonPath(): string | undefined {
  return cached ? addonFile : undefined;
}

// Node 20 defines Symbol.dispose as Symbol.for('nodejs.dispose') in its main realm; vm realms lack it.
const disposeSymbol: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

/** Builds the error thrown when the addon cannot be loaded: what was tried and what to do. */
export function explainLoadFailure(cause: unknown): TorchnasError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  // node-gyp-build's order: a local build wins over a shipped prebuild.
  const explicit = process.env.TORCHNAS_ADDON;
  const tried = explicit ? [path.resolve(explicit)] : [
    path.join(PACKAGE_ROOT, 'build', 'Release'),
    path.join(PACKAGE_ROOT, 'build', 'Debug'),
    path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`),
  ];
  const libtorchMissing = /libtorch|libc10|libtorch_cpu/.test(detail);
  const otherSystems =
    'elsewhere (or for CUDA), set Torch_DIR to the cmake folder of a LibTorch: <libtorch>/share/cmake/Torch of the LibTorch zip from pytorch.org, ' +
    'or of a pip torch: python3 -c "import torch;print(torch.utils.cmake_prefix_path)" + "/Torch"; then rebuild with `npm run build`';
  const advice = libtorchMissing
    ? `the addon is built but LibTorch's libraries were not found by the loader. On Debian/Ubuntu: \`sudo apt-get install libtorch-dev\`; ${otherSystems} (the build records that LibTorch's lib folder in the addon).`
    : `build the addon. On Debian/Ubuntu: \`bash scripts/setup.sh\` (installs libtorch-dev with apt-get, then builds), or \`sudo apt-get install libtorch-dev\` and \`npm run build:native\`; ${otherSystems}.`;
  return new TorchnasError(
    `torchnas native addon could not be loaded.\n  tried: ${tried.join(', ')}\n  cause: ${detail}\n  fix: ${advice}`,
    'ADDON_LOAD_FAILED',
    { cause },
  );
}

/** The raw binding, loaded once per process (jest: once per test file). */
export function native(): NativeBinding {
  if (cached) return cached;
  let binding: NativeBinding;
  try {
    // TORCHNAS_ADDON: an explicit torchnas.node (the sanitizer build of scripts/sanitize.sh, a test build).
    const explicit = process.env.TORCHNAS_ADDON;
    if (explicit) {
      addonFile = path.resolve(explicit);
    } else {
      // node-gyp-build picks the file (a local build, else the matching prebuild); we require it ourselves so that
      // the path of what was loaded is known (`info().addon`; the install test checks it is the shipped prebuild).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = require('node-gyp-build') as { path(dir: string): string };
      addonFile = load.path(PACKAGE_ROOT);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(addonFile) as NativeBinding;
  } catch (e) {
    throw explainLoadFailure(e);
  }
  binding.setErrorClass(TorchnasError as unknown as new (message: string, code: string) => Error);
  // `using t = tensor(...)` releases native memory at scope end (explicit resource management).
  for (const cls of [binding.Tensor, binding.Nb201Network, binding.DartsNetwork, binding.NcpPredictor, binding.NarRanker, binding.MultiResolutionNet, binding.SmallCnn, binding.DenseSuperNet, binding.DenseDerivedNet]) {
    const proto = cls.prototype as unknown as Record<symbol, unknown>;
    proto[disposeSymbol] = function (this: { dispose(): void }) {
      this.dispose();
    };
  }
  cached = binding;
  return binding;
}
