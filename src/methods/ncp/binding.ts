/**
 * The typed surface of the NCP family of the native binding (native/napi/ncp.cc and
 * native/napi/multi_resolution_net.cc): the metric predictor with its training and code propagation,
 * the MultiResolutionNet supernet, and thop-2020 counts of built networks.
 */
import type { Tensor } from '../../core/tensor';
import { native, NativeCancelToken, NativeTensor } from '../../native';

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

export interface NativeMultiResolutionNet {
  /** Eval-mode forward: classification [N, K, 1, 1], segmentation [N, K, H/4, W/4]. */
  forward(input: NativeTensor): Promise<Tensor>;
  /** SGD steps with cross-entropy on one batch; labels [N] or [N, H/4, W/4] int64. Returns each step's loss. */
  trainSteps(input: NativeTensor, labels: NativeTensor, steps: number, options?: { lr?: number; momentum?: number; weightDecay?: number }): Promise<Float64Array>;
  /** thop-2020 ops/params of one forward of the built module (ncp.md §4). */
  countOps(options?: { height?: number; width?: number; batch?: number }): Promise<{ ops: number; params: number }>;
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  readonly parameterCount: number;
  readonly device: string;
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
   * Linear layers through at::linear (PyTorch's nn.Linear op sequence: bit-identical to PyTorch-in-Python on
   * the same LibTorch) instead of oneDNN 1×1 convolutions (default; ~10× faster where LibTorch's BLAS is netlib's).
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

export interface NativeNcpPredictor {
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
  predict(codes: NativeTensor): Promise<Tensor>;
  propagate(
    startCodes: ArrayLike<number>,
    options: { iterations: number; lr: number; loss?: 'l1' | 'smoothl1'; minCode: number[]; maxCode: number[]; divisors: number[]; objectives: NativeObjective[] },
    cancel?: NativeCancelToken,
  ): Promise<NativePropagation>;
  save(path: string, which?: 'current' | 'best' | 'last'): Promise<void>;
  load(path: string): Promise<void>;
  readonly parameterCount: number;
  readonly bufferCount: number;
  readonly outputDim: number;
  readonly device: string;
}

interface NcpBinding {
  MultiResolutionNet: new (options: MultiResolutionNetOptions) => NativeMultiResolutionNet;
  NcpPredictor: new (options: NcpPredictorOptions) => NativeNcpPredictor;
  countMultiResolutionOps(
    embeddings: ArrayLike<number>,
    options?: { head?: string; numClasses?: number; height?: number; width?: number },
    onProgress?: (row: number[]) => void,
  ): Promise<{ ops: Float64Array; params: Float64Array }>;
  oneCycleSchedule(
    totalSteps: number,
    options?: { maxLr?: number; pctStart?: number; divFactor?: number; finalDivFactor?: number; baseMomentum?: number; maxMomentum?: number },
  ): { lr: Float64Array; momentum: Float64Array };
}

/** The NCP family of the loaded addon. */
export function ncpNative(): NcpBinding {
  return native() as unknown as NcpBinding;
}
