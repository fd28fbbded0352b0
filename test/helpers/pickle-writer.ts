/**
 * A small pickle writer for tests: the opcodes the reader supports (protocol 4 header), so tests and the
 * fuzzer can make real pickles in code without Python. JS → Python as the reader maps them back:
 * frozen arrays are tuples, Float32Array/Float64Array/Int32Array are 1-D numpy arrays, {@link NumpyMatrix}
 * a 2-D one.
 */

/** A 2-D numpy float32 array. */
export interface NumpyMatrix {
  numpy2d: Float32Array;
  shape: [number, number];
}

const NUMPY_DTYPES: [new (n: number) => ArrayBufferView, string][] = [
  [Float32Array, 'f4'],
  [Float64Array, 'f8'],
  [Int32Array, 'i4'],
  [BigInt64Array, 'i8'],
];

export function writePickle(value: unknown): Uint8Array {
  const out: number[] = [0x80, 4];
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const str = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length < 256) out.push(0x8c, bytes.length);
    else {
      out.push(0x58);
      u32(bytes.length);
    }
    out.push(...bytes);
  };
  const raw = (bytes: Uint8Array) => {
    if (bytes.length < 256) out.push(0x43, bytes.length);
    else {
      out.push(0x42);
      u32(bytes.length);
    }
    for (const b of bytes) out.push(b);
  };
  const global = (module: string, name: string) => {
    str(module);
    str(name);
    out.push(0x93);
  };
  const int = (n: number) => {
    if (n >= 0 && n < 256) out.push(0x4b, n);
    else if (n >= 0 && n < 65536) out.push(0x4d, n & 0xff, n >> 8);
    else {
      out.push(0x4a);
      u32(n | 0);
    }
  };
  const numpy = (data: ArrayBufferView, typeString: string, shape: number[]) => {
    global('numpy.core.multiarray', '_reconstruct');
    global('numpy', 'ndarray');
    out.push(0x4b, 0, 0x85, 0x43, 1, 0x62, 0x87, 0x52); // (ndarray, (0,), b'b') REDUCE
    out.push(0x28, 0x4b, 1); // MARK, version 1
    out.push(0x28);
    shape.forEach(int);
    out.push(0x74); // shape tuple
    global('numpy', 'dtype');
    str(typeString);
    out.push(0x89, 0x88, 0x87, 0x52); // dtype(typeString, False, True)
    out.push(0x28, 0x4b, 3);
    str('<');
    out.push(0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74, 0x62); // dtype BUILD
    out.push(0x89); // fortran_order False
    raw(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    out.push(0x74, 0x62); // state tuple, BUILD
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 && !Object.is(v, -0)) int(v);
      else {
        out.push(0x47);
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v);
        out.push(...b);
      }
    } else if (typeof v === 'string') str(v);
    else if (v instanceof Uint8Array) raw(v);
    else if (ArrayBuffer.isView(v)) {
      const kind = NUMPY_DTYPES.find(([C]) => v instanceof C);
      if (kind === undefined) throw new Error(`writePickle: no numpy dtype for ${v.constructor.name}`);
      numpy(v, kind[1], [(v as unknown as { length: number }).length]);
    } else if (Array.isArray(v) && Object.isFrozen(v)) {
      out.push(0x28);
      v.forEach(write);
      out.push(0x74);
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      if (v.length > 0) {
        out.push(0x28);
        v.forEach(write);
        out.push(0x65);
      }
    } else if (typeof v === 'object' && 'numpy2d' in (v as object)) {
      const m = v as NumpyMatrix;
      numpy(m.numpy2d, 'f4', m.shape);
    } else if (typeof v === 'object') {
      out.push(0x7d);
      const entries = Object.entries(v as object);
      if (entries.length > 0) {
        out.push(0x28);
        for (const [k, x] of entries) {
          str(k);
          write(x);
        }
        out.push(0x75);
      }
    } else throw new Error(`writePickle: cannot write ${typeof v}`);
  };
  write(value);
  out.push(0x2e);
  return Uint8Array.from(out);
}
