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
  | 'TORCH_ERROR'
  | 'OUT_OF_MEMORY'
  | 'INTERNAL';

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
