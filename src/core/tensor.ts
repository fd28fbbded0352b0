/**
 * Tensor handles: data crosses from/to TypedArrays by copy (the native side never aliases a JS buffer).
 * Memory is released by `dispose()`, by `using` (Symbol.dispose), or by GC; the native bytes are reported
 * to V8 so GC sees them.
 */
import { TorchnasError } from './errors';
import { native, NativeTensor, NativeTypedArray } from '../native';

export type Tensor = NativeTensor & Disposable;
export type TensorData = NativeTypedArray;
export type Dtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8';

/**
 * A CPU tensor holding a copy of `data` with the given shape (default: 1-D).
 * dtype follows the array: Float32Array → float32, Float64Array → float64, Int32Array → int32,
 * BigInt64Array → int64, Uint8Array → uint8. Other arrays: DTYPE_UNSUPPORTED; wrong element count: SHAPE_MISMATCH.
 */
export function tensor(data: TensorData, shape?: readonly number[]): Tensor {
  if (!ArrayBuffer.isView(data)) {
    throw new TorchnasError('tensor(data, shape): data must be a TypedArray', 'INVALID_ARGUMENT');
  }
  const length = (data as { length?: number }).length ?? 0;
  return new (native().Tensor)(data, shape ? [...shape] : [length]) as Tensor;
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof native().Tensor;
}

/** Writes named tensors to one file, atomically (temp file + rename). */
export async function saveTensors(path: string, tensors: Record<string, Tensor>): Promise<void> {
  return native().saveTensors(path, tensors);
}

/**
 * Reads named tensors written by saveTensors. FILE_NOT_FOUND when missing, FILE_CORRUPT when truncated
 * or not a tensor archive.
 */
export async function loadTensors(path: string, options: { device?: string } = {}): Promise<Record<string, Tensor>> {
  return (await native().loadTensors(path, options.device ?? 'cpu')) as Record<string, Tensor>;
}
