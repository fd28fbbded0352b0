/**
 * Tensor handles: data crosses from/to TypedArrays by copy (the native side never aliases a JS buffer).
 * Memory is released by `dispose()`, by `using` (Symbol.dispose), or by GC; the native bytes are reported
 * to V8 so GC sees them.
 */
import * as fs from 'node:fs';
import { TorchnasError, showValue } from './errors';
import { native, NativeTensor, NativeTypedArray } from '../native';

export type Tensor = NativeTensor & Disposable;
export type TensorData = NativeTypedArray;
export type Dtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8';

/** The most dimensions a tensor may have here (LibTorch kernels commonly stop at 25; nothing here needs more). */
const MAX_RANK = 64;

// The intrinsic %TypedArray% getters, taken once: an own `length` or Symbol.toStringTag property on the
// caller's array (user code) can then neither lie about the data nor run between the checks and the copy.
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, key)?.get as (this: unknown) => unknown;
const typedArrayTag = intrinsic(Symbol.toStringTag);
const typedArrayLength = intrinsic('length');
const typedArrayBuffer = intrinsic('buffer');

const DTYPE_OF: Readonly<Record<string, Dtype>> = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Int32Array: 'int32',
  BigInt64Array: 'int64',
  Uint8Array: 'uint8',
};

const COPY: Readonly<Record<string, new (source: NativeTypedArray) => NativeTypedArray>> = {
  Float32Array: Float32Array as never,
  Float64Array: Float64Array as never,
  Int32Array: Int32Array as never,
  BigInt64Array: BigInt64Array as never,
  Uint8Array: Uint8Array as never,
};

function invalid(message: string, code: 'INVALID_ARGUMENT' | 'SHAPE_MISMATCH' | 'DTYPE_UNSUPPORTED' = 'INVALID_ARGUMENT'): TorchnasError {
  return new TorchnasError(`tensor(data, shape): ${message}`, code);
}

/**
 * The shape as a fresh array of checked integers. Reading it runs whatever getters or proxy traps the
 * caller's array has, so it happens before the data is looked at.
 */
function snapshotShape(shape: unknown): number[] {
  if (!Array.isArray(shape)) throw invalid(`shape must be an array of non-negative integers, got ${showValue(shape)}`);
  const rank: unknown = shape.length;
  if (typeof rank !== 'number' || rank > MAX_RANK) throw invalid(`shape has ${showValue(rank)} dimensions; at most ${MAX_RANK} are supported`);
  const dims: unknown[] = [];
  for (let i = 0; i < rank; i++) dims.push(shape[i]);
  return dims.map((d, i) => {
    if (typeof d !== 'number') throw invalid(`shape[${i}] must be a number, got ${showValue(d)}`);
    if (!Number.isFinite(d)) throw invalid(`shape[${i}] must be finite, got ${d}`);
    if (!Number.isInteger(d)) throw invalid(`shape[${i}] must be an integer, got ${d}`);
    if (d < 0) throw invalid(`shape[${i}] must be >= 0, got ${d}`);
    if (d > Number.MAX_SAFE_INTEGER) throw invalid(`shape[${i}] is ${d}, beyond any tensor's size`);
    return d;
  });
}

/**
 * A CPU tensor holding a copy of `data` with the given shape (default: 1-D).
 * dtype follows the array: Float32Array → float32, Float64Array → float64, Int32Array → int32,
 * BigInt64Array → int64, Uint8Array → uint8 (a Node Buffer counts as Uint8Array).
 * @throws TorchnasError INVALID_ARGUMENT for data that is not a typed array or a shape that is not an array
 *   of non-negative integers; DTYPE_UNSUPPORTED for other typed arrays; SHAPE_MISMATCH when the shape's
 *   element count differs from the data's length.
 */
export function tensor(data: TensorData, shape?: readonly number[]): Tensor {
  // The shape first: its getters are the only caller code that runs here, and they run before the data
  // is read, so nothing can change or detach the data between the checks below and the native copy.
  const dims = shape === undefined ? undefined : snapshotShape(shape);
  const kind = ArrayBuffer.isView(data) ? (typedArrayTag.call(data) as string | undefined) : undefined;
  if (kind === undefined) throw invalid(`data must be a typed array, got ${ArrayBuffer.isView(data) ? 'a DataView' : showValue(data)}`);
  if (!(kind in DTYPE_OF)) {
    throw invalid(`unsupported data type ${kind}: use Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array`, 'DTYPE_UNSUPPORTED');
  }
  const length = typedArrayLength.call(data) as number;
  const finalShape = dims ?? [length];
  let count = 1;
  let nonZero = 1;
  for (const d of finalShape) {
    count *= d;
    if (d !== 0) nonZero *= d;
  }
  // Even with a 0 dimension, LibTorch multiplies the others into strides; keep those in int64 range.
  if (nonZero > Number.MAX_SAFE_INTEGER) throw invalid(`shape [${finalShape.join(', ')}] is too large for any tensor`);
  if (count !== length) {
    throw invalid(`shape [${finalShape.join(', ')}] holds ${count} elements but the data has ${length}`, 'SHAPE_MISMATCH');
  }
  // The native side takes plain (non-shared) buffers only; a SharedArrayBuffer view is copied here first.
  const shared = Object.prototype.toString.call(typedArrayBuffer.call(data)) === '[object SharedArrayBuffer]';
  const source = shared ? new COPY[kind](data) : data;
  return new (native().Tensor)(source, finalShape) as Tensor;
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof native().Tensor;
}

function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path === '') throw new TorchnasError(`${what}: path must be a non-empty string, got ${showValue(path)}`, 'INVALID_ARGUMENT');
}

/**
 * Writes named tensors to one file, atomically (temp file + rename).
 * @throws TorchnasError INVALID_ARGUMENT when `path` exists and is not a regular file (a FIFO would block
 *   the writing thread forever); FILE_NOT_FOUND when its folder is missing.
 */
export async function saveTensors(path: string, tensors: Record<string, Tensor>): Promise<void> {
  checkPath(path, 'saveTensors');
  const stat = await fs.promises.stat(path).catch(() => undefined);
  if (stat !== undefined && !stat.isFile()) throw new TorchnasError(`saveTensors: ${path} exists and is not a regular file`, 'INVALID_ARGUMENT');
  return native().saveTensors(path, tensors);
}

/**
 * Reads named tensors written by saveTensors. FILE_NOT_FOUND when missing, INVALID_ARGUMENT when not a
 * regular file (checked before any native thread opens it), FILE_CORRUPT when truncated or not a tensor archive.
 */
export async function loadTensors(path: string, options: { device?: string } = {}): Promise<Record<string, Tensor>> {
  checkPath(path, 'loadTensors');
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TorchnasError(`loadTensors: file not found: ${path}`, 'FILE_NOT_FOUND', { cause: e });
    throw new TorchnasError(`loadTensors: cannot read ${path}: ${(e as Error).message}`, 'INVALID_ARGUMENT', { cause: e });
  }
  if (!stat.isFile()) throw new TorchnasError(`loadTensors: ${path} is not a regular file`, 'INVALID_ARGUMENT');
  return (await native().loadTensors(path, options.device ?? 'cpu')) as Record<string, Tensor>;
}
