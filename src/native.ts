/**
 * Loads the native addon with node-gyp-build (build/Release, then prebuilds/<platform>-<arch>), or the file
 * named by $TORCHNAS_ADDON when set, and types the
 * raw binding in one place. A failed load becomes a TorchnasError that says what was tried and what to do.
 */
import * as path from 'node:path';
import { TorchnasError } from './core/errors';

export interface NativeRuntimeInfo {
  torch: string;
  cuda: boolean;
  cudaDeviceCount: number;
  threads: number;
  interopThreads: number;
  mkldnn: boolean;
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
}

export type NativeTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

export interface NativeSgdOptions {
  lr?: number;
  momentum?: number;
  weightDecay?: number;
}

export interface NativeSmallCnn {
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
  save(path: string): Promise<void>;
  load(path: string): Promise<void>;
  readonly parameterCount: number;
  readonly device: string;
}

export interface NativeGenerator {
  randn(shape: number[]): NativeTensor;
  rand(shape: number[]): NativeTensor;
  randint(low: number, high: number, shape: number[]): NativeTensor;
}

export interface NativeBinding {
  version: string;
  setErrorClass(cls: new (message: string, code: string) => Error): void;
  info(): NativeRuntimeInfo;
  setSeed(seed: number): void;
  setThreads(n: number): void;
  getThreads(): number;
  checkDevice(device: string): string;
  Tensor: new (data: NativeTypedArray, shape: number[]) => NativeTensor;
  saveTensors(path: string, tensors: Record<string, NativeTensor>): Promise<void>;
  loadTensors(path: string, device?: string): Promise<Record<string, NativeTensor>>;
  CancelToken: new () => NativeCancelToken;
  /** A seeded LibTorch CPU generator (streams equal torch.Generator's). */
  Generator: new (seed: number) => NativeGenerator;
  /** NB201 cell network; typed in src/methods/tenas/networks.ts. */
  Nb201Network: new (options: Record<string, unknown>) => unknown;
  /** DARTS cell network; typed in src/methods/tenas/darts-networks.ts. */
  DartsNetwork: new (options: Record<string, unknown>) => unknown;
  /** NCP family: NcpPredictor, MultiResolutionNet, countMultiResolutionOps, oneCycleSchedule; typed in src/methods/ncp/binding.ts. */
  NcpPredictor: new (options: Record<string, unknown>) => unknown;
  MultiResolutionNet: new (options: Record<string, unknown>) => unknown;
  SmallCnn: new (options?: {
    inChannels?: number;
    imageSize?: number;
    numClasses?: number;
    seed?: number;
    device?: string;
  }) => NativeSmallCnn;
}

/** The package root (holds package.json, build/, prebuilds/), both from src/ under ts-jest and from dist/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

let cached: NativeBinding | undefined;

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
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require(path.resolve(explicit)) as NativeBinding;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = require('node-gyp-build') as (dir: string) => NativeBinding;
      binding = load(PACKAGE_ROOT);
    }
  } catch (e) {
    throw explainLoadFailure(e);
  }
  binding.setErrorClass(TorchnasError as unknown as new (message: string, code: string) => Error);
  // `using t = tensor(...)` releases native memory at scope end (explicit resource management).
  const proto = binding.Tensor.prototype as unknown as Record<symbol, unknown>;
  proto[disposeSymbol] = function (this: NativeTensor) {
    this.dispose();
  };
  cached = binding;
  return binding;
}
