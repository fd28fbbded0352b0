/**
 * The one error family of torchnas. Every failure a user can act on carries a `code`;
 * native (C++/LibTorch) failures arrive as this class too (the addon is handed the class at load).
 */
export type TorchnasErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CODE'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_UNSUPPORTED'
  | 'DEVICE_UNAVAILABLE'
  | 'FILE_NOT_FOUND'
  | 'FILE_CORRUPT'
  | 'CONFIG_INVALID'
  | 'TENSOR_DISPOSED'
  | 'DISPOSED'
  | 'BUSY'
  | 'CANCELLED'
  | 'ADDON_LOAD_FAILED'
  | 'NETWORK_ERROR'
  /** Redis (the job queue of `torchnas worker` and `--queue`) cannot be reached. */
  | 'QUEUE_UNAVAILABLE'
  /** An optional JavaScript dependency (e.g. the image decoders of folder data) is not installed. */
  | 'DEPENDENCY_MISSING'
  | 'TORCH_ERROR'
  | 'OUT_OF_MEMORY'
  /** A training run met a NaN or infinite loss: recorded as that run's failure (result.json says where). */
  | 'NON_FINITE_LOSS'
  | 'INTERNAL'
  /** This build has no c10d process groups (its LibTorch lacks the c10d/Gloo headers). */
  | 'DISTRIBUTED_UNAVAILABLE'
  /** A collective (broadcast, all-reduce, …) of a data-parallel run failed: another rank died or disagreed. */
  | 'DISTRIBUTED_ERROR'
  /** The ranks of a data-parallel run did not all reach the store at the master address in time. */
  | 'DISTRIBUTED_TIMEOUT';

export class TorchnasError extends Error {
  readonly code: TorchnasErrorCode;
  constructor(message: string, code: TorchnasErrorCode = 'INTERNAL', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchnasError';
    this.code = code;
  }
}

export function isTorchnasError(e: unknown, code?: TorchnasErrorCode): e is TorchnasError {
  return e instanceof TorchnasError && (code === undefined || e.code === code);
}

/**
 * A short, never-throwing description of any value for error messages: BigInts as `5n`, symbols,
 * cyclic or huge structures and objects without `toString` all print, cut to `max` characters.
 * (JSON.stringify and template strings throw on some of these, which let TypeErrors escape.)
 */
export function showValue(value: unknown, max = 80): string {
  let text: string;
  try {
    if (typeof value === 'bigint') text = `${value}n`;
    else if (typeof value === 'symbol') text = value.toString();
    else if (typeof value === 'function') text = '[function]';
    else if (typeof value === 'string') return value.length > max ? `${JSON.stringify(value.slice(0, max))}…` : JSON.stringify(value);
    else if (value === undefined || typeof value === 'number' || typeof value === 'boolean' || value === null) text = String(value);
    else text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? Object.prototype.toString.call(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
