/**
 * The numpy part of the pickle reader (ncp.md §1.2): the three globals numpy pickles an ndarray
 * through, what REDUCE makes of them, and what BUILD then fills in. Anything else is refused, so
 * a pickle can never make the reader call arbitrary code.
 */
import { TorchnasError } from '../core/errors';

/** The typed array a numpy array's data comes back as (int64/uint64 as BigInt arrays, bool as Uint8Array). */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** A numpy array whose rank is not 1 (rank-1 arrays come back as a bare typed array). */
export interface NdArray {
  /** numpy's type string without byte order, e.g. 'f4'. */
  dtype: string;
  shape: number[];
  /** The values in storage order: row-major unless `fortranOrder`. */
  data: NumericArray;
  fortranOrder: boolean;
}

type GlobalKind = 'reconstruct' | 'ndarray' | 'dtype';

/** A class or function named by STACK_GLOBAL; only these three are ever produced. */
export class NumpyGlobal {
  constructor(
    readonly kind: GlobalKind,
    readonly qualifiedName: string,
  ) {}
}

/** numpy 2 moved `numpy.core` to `numpy._core`; pickles written by either must load. */
const KNOWN_GLOBALS: ReadonlyMap<string, GlobalKind> = new Map([
  ['numpy.core.multiarray._reconstruct', 'reconstruct'],
  ['numpy._core.multiarray._reconstruct', 'reconstruct'],
  ['numpy.ndarray', 'ndarray'],
  ['numpy.dtype', 'dtype'],
]);

/** The global `module.name` if it is one the reader knows, else undefined. */
export function lookupGlobal(module: string, name: string): NumpyGlobal | undefined {
  const qualifiedName = `${module}.${name}`;
  const kind = KNOWN_GLOBALS.get(qualifiedName);
  return kind === undefined ? undefined : new NumpyGlobal(kind, qualifiedName);
}

interface DTypeInfo {
  make: (buffer: ArrayBuffer) => NumericArray;
  itemSize: number;
}

const DTYPES: ReadonlyMap<string, DTypeInfo> = new Map<string, DTypeInfo>([
  ['f4', { itemSize: 4, make: (b) => new Float32Array(b) }],
  ['f8', { itemSize: 8, make: (b) => new Float64Array(b) }],
  ['i1', { itemSize: 1, make: (b) => new Int8Array(b) }],
  ['i2', { itemSize: 2, make: (b) => new Int16Array(b) }],
  ['i4', { itemSize: 4, make: (b) => new Int32Array(b) }],
  ['i8', { itemSize: 8, make: (b) => new BigInt64Array(b) }],
  ['u1', { itemSize: 1, make: (b) => new Uint8Array(b) }],
  ['u2', { itemSize: 2, make: (b) => new Uint16Array(b) }],
  ['u4', { itemSize: 4, make: (b) => new Uint32Array(b) }],
  ['u8', { itemSize: 8, make: (b) => new BigUint64Array(b) }],
  ['b1', { itemSize: 1, make: (b) => new Uint8Array(b) }],
]);

/** A `numpy.dtype(typestr, align, copy)` instance; BUILD sets its byte order. */
export class NumpyDType {
  /** '<' little, '>' big, '|' not applicable (1-byte types); numpy writes '<' for f4 on x86. */
  byteOrder: '<' | '>' | '|' = '|';
  constructor(
    readonly typeString: string,
    readonly info: DTypeInfo,
  ) {}
}

/** What `_reconstruct(ndarray, (0,), b'b')` returns: an empty array that BUILD fills in. */
export class PendingArray {
  result: NumericArray | NdArray | undefined;
}

function corrupt(where: string, what: string): TorchnasError {
  return new TorchnasError(`corrupt pickle: ${where}: ${what}`, 'FILE_CORRUPT');
}

function isTuple(x: unknown): x is readonly unknown[] {
  return Array.isArray(x) && Object.isFrozen(x);
}

/** REDUCE of a known global: `_reconstruct` makes a PendingArray, `dtype` a NumpyDType. */
export function reduceNumpy(callable: NumpyGlobal, args: unknown, where: string): PendingArray | NumpyDType {
  if (!isTuple(args)) throw corrupt(where, `arguments of ${callable.qualifiedName} are not a tuple`);
  if (callable.kind === 'reconstruct') {
    const [cls] = args;
    if (args.length !== 3 || !(cls instanceof NumpyGlobal) || cls.kind !== 'ndarray') {
      throw corrupt(where, `${callable.qualifiedName} expects (numpy.ndarray, shape, typecode)`);
    }
    return new PendingArray();
  }
  if (callable.kind === 'dtype') {
    const [typeString] = args;
    if (typeof typeString !== 'string') throw corrupt(where, 'numpy.dtype expects a type string');
    const info = DTYPES.get(typeString);
    if (info === undefined) {
      throw corrupt(where, `numpy dtype '${typeString}' is not supported (supported: ${[...DTYPES.keys()].join(', ')})`);
    }
    return new NumpyDType(typeString, info);
  }
  throw corrupt(where, `${callable.qualifiedName} cannot be called`);
}

/** BUILD on a NumpyDType (state version 3 or 4) or on a PendingArray (state version 1). */
export function buildNumpy(target: unknown, state: unknown, where: string): void {
  if (!isTuple(state)) throw corrupt(where, 'BUILD state is not a tuple');
  if (target instanceof NumpyDType) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    const [version, byteOrder, subarray, names, fields] = state;
    if ((version !== 3 && version !== 4) || state.length < 8) throw corrupt(where, `numpy dtype state version ${String(version)} not supported`);
    if (subarray !== null || names !== null || fields !== null) throw corrupt(where, 'structured numpy dtypes are not supported');
    if (byteOrder === '<' || byteOrder === '>' || byteOrder === '|') target.byteOrder = byteOrder;
    // '=' is "native to the writer"; every machine numpy runs on in practice is little-endian.
    else if (byteOrder === '=') target.byteOrder = '<';
    else throw corrupt(where, `numpy byte order ${JSON.stringify(byteOrder)} unknown`);
    return;
  }
  if (target instanceof PendingArray) {
    if (target.result !== undefined) throw corrupt(where, 'numpy array built twice');
    const [version, shape, dtype, fortranOrder, raw] = state;
    if (version !== 1 || state.length !== 5) throw corrupt(where, `numpy array state version ${String(version)} not supported`);
    if (!isTuple(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw corrupt(where, 'numpy array shape is not a tuple of non-negative integers');
    }
    if (!(dtype instanceof NumpyDType)) throw corrupt(where, 'numpy array state has no dtype');
    if (typeof fortranOrder !== 'boolean') throw corrupt(where, 'numpy array fortran flag is not a bool');
    if (!(raw instanceof Uint8Array)) throw corrupt(where, 'numpy array data is not raw bytes (object arrays are not supported)');
    target.result = makeArray(dtype, [...shape], fortranOrder, raw, where);
    return;
  }
  throw corrupt(where, 'BUILD on an object that is not a numpy array or dtype');
}

function makeArray(dtype: NumpyDType, shape: number[], fortranOrder: boolean, raw: Uint8Array, where: string): NumericArray | NdArray {
  const count = shape.reduce((a, b) => a * b, 1);
  const size = dtype.info.itemSize;
  if (raw.length !== count * size) {
    const what = `numpy array of shape (${shape.join(', ')}) and dtype ${dtype.typeString}`;
    throw corrupt(where, `${what} needs ${count * size} bytes, got ${raw.length}`);
  }
  // A fresh, offset-0 buffer: typed arrays need an alignment the pickle's byte offset does not give.
  // (Typed arrays read in host order; every platform Node supports is little-endian.)
  const bytes = new Uint8Array(raw);
  if (dtype.byteOrder === '>' && size > 1) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  const data = dtype.info.make(bytes.buffer);
  return shape.length === 1 ? data : { dtype: dtype.typeString, shape, data, fortranOrder };
}
