import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchnasError } from '../../src/core/errors';
import { tensor, saveTensors, loadTensors, Tensor } from '../../src/core/tensor';
import { resolveDevice, info } from '../../src/core/device';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-tensor-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TorchnasError);
    expect((e as TorchnasError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected a TorchnasError ${code}`);
}

async function expectReject(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(TorchnasError);
  await p.catch((e: TorchnasError) => {
    expect(e.code).toBe(code);
    if (message) expect(e.message).toMatch(message);
  });
}

const SHAPES: number[][] = [[0], [7], [2, 3], [1, 1, 1, 1], [2, 3, 4, 5], [3, 0, 2], []];

function sample(kind: string, n: number) {
  switch (kind) {
    case 'float32': return Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3.25);
    case 'float64': return Float64Array.from({ length: n }, (_, i) => Math.PI * i - 1e-300);
    case 'int32': return Int32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (2 ** 31 - 1 - i));
    case 'int64': return BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 9007199254740993n - 5n);
    default: return Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
  }
}

describe('tensor round trips', () => {
  for (const dtype of ['float32', 'float64', 'int32', 'int64', 'uint8']) {
    for (const shape of SHAPES) {
      test(`${dtype} ${JSON.stringify(shape)}`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = sample(dtype, n);
        const t = tensor(data, shape);
        expect(t.dtype).toBe(dtype);
        expect(t.shape).toEqual(shape);
        expect(t.numel).toBe(n);
        expect(t.device).toBe('cpu');
        const back = t.toArray();
        // Native arrays come from the main realm, jest's from a vm context: compare by name.
        expect(back.constructor.name).toBe(data.constructor.name);
        expect(Array.from(back as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
        t.dispose();
      });
    }
  }

  test('data is copied: later writes to the source do not change the tensor', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = tensor(data);
    data[0] = 99;
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 2, 3]);
  });

  test('a view into a larger buffer copies only the view', () => {
    const buf = new Float64Array([9, 9, 1, 2, 3, 9]);
    const t = tensor(buf.subarray(2, 5), [3]);
    expect(Array.from(t.toArray() as Float64Array)).toEqual([1, 2, 3]);
  });

  test('to(cpu) gives a new tensor with equal values', async () => {
    const t = tensor(new Int32Array([4, 5, 6]), [3, 1]);
    const u = await t.to('cpu');
    expect(u.shape).toEqual([3, 1]);
    expect(Array.from(u.toArray() as Int32Array)).toEqual([4, 5, 6]);
  });

  test('Symbol.dispose releases the tensor', () => {
    let kept: Tensor;
    {
      using t = tensor(new Float32Array(4), [2, 2]);
      kept = t;
      expect(kept.disposed).toBe(false);
    }
    expect(kept.disposed).toBe(true);
    expectCode(() => kept.shape, 'TENSOR_DISPOSED', /disposed/);
  });
});

describe('bad input is a clean TorchnasError', () => {
  test('unsupported dtype', () => {
    expectCode(() => tensor(new Int16Array(4) as unknown as Float32Array, [4]), 'DTYPE_UNSUPPORTED', /Int16Array/);
    expectCode(() => tensor(new Uint32Array(2) as unknown as Float32Array, [2]), 'DTYPE_UNSUPPORTED', /Uint32Array/);
  });
  test('shape mismatch', () => {
    expectCode(() => tensor(new Float32Array(5), [2, 3]), 'SHAPE_MISMATCH', /\[2, 3\] holds 6 elements but the data has 5/);
  });
  test('bad shape entries', () => {
    expectCode(() => tensor(new Float32Array(2), [-1, -2]), 'INVALID_ARGUMENT', /shape\[0\] must be >= 0/);
    expectCode(() => tensor(new Float32Array(2), [2.5] as number[]), 'INVALID_ARGUMENT', /shape\[0\] must be an integer/);
  });
  test('unknown and unavailable devices', async () => {
    expectCode(() => resolveDevice('tpu'), 'INVALID_ARGUMENT', /unknown device 'tpu'/);
    expectCode(() => resolveDevice('cuda:x'), 'INVALID_ARGUMENT');
    if (!info().cuda) {
      expectCode(() => resolveDevice('cuda'), 'DEVICE_UNAVAILABLE', /CUDA is not available/);
      expectCode(() => tensor(new Float32Array(1)).to('cuda:0'), 'DEVICE_UNAVAILABLE');
    } else {
      expect(resolveDevice('cuda')).toBe('cuda:0');
      expectCode(() => resolveDevice(`cuda:${info().cudaDeviceCount}`), 'DEVICE_UNAVAILABLE', /only \d+ CUDA device/);
    }
  });
});

describe('tensor files', () => {
  test('save/load round trip keeps names, dtypes, shapes and values', async () => {
    const file = path.join(tmp, 'a.pt');
    const a = tensor(Float32Array.from([1.5, -2, 3]), [3]);
    const b = tensor(BigInt64Array.from([1n, -2n, 3n, 4n]), [2, 2]);
    const c = tensor(new Uint8Array(0), [0, 4]);
    await saveTensors(file, { a, b, c });
    const loaded = await loadTensors(file);
    expect(Object.keys(loaded).sort()).toEqual(['a', 'b', 'c']);
    expect(Array.from(loaded.a.toArray() as Float32Array)).toEqual([1.5, -2, 3]);
    expect(loaded.b.dtype).toBe('int64');
    expect(loaded.b.shape).toEqual([2, 2]);
    expect(Array.from(loaded.b.toArray() as BigInt64Array)).toEqual([1n, -2n, 3n, 4n]);
    expect(loaded.c.shape).toEqual([0, 4]);
    // no temp files left behind
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  test('missing file', async () => {
    await expectReject(loadTensors(path.join(tmp, 'nope.pt')), 'FILE_NOT_FOUND', /nope\.pt/);
  });

  test('truncated and garbage files', async () => {
    const good = path.join(tmp, 'good.pt');
    await saveTensors(good, { x: tensor(new Float32Array(1000).fill(1), [1000]) });
    const bytes = fs.readFileSync(good);
    for (const cut of [10, Math.floor(bytes.length / 2), bytes.length - 20]) {
      const bad = path.join(tmp, `cut-${cut}.pt`);
      fs.writeFileSync(bad, bytes.subarray(0, cut));
      await expectReject(loadTensors(bad), 'FILE_CORRUPT', /truncated or not a torchnas\/LibTorch archive/);
    }
    const garbage = path.join(tmp, 'garbage.pt');
    fs.writeFileSync(garbage, 'this is not a zip archive at all');
    await expectReject(loadTensors(garbage), 'FILE_CORRUPT');
  });

  test('a failed save leaves the previous file intact', async () => {
    const file = path.join(tmp, 'keep.pt');
    await saveTensors(file, { x: tensor(new Float32Array([7]), [1]) });
    const disposed = tensor(new Float32Array([1]), [1]);
    disposed.dispose();
    await expect(saveTensors(file, { x: disposed })).rejects.toMatchObject({ code: 'TENSOR_DISPOSED' });
    const again = await loadTensors(file);
    expect(Array.from(again.x.toArray() as Float32Array)).toEqual([7]);
  });

  test('saving into a missing folder is FILE_NOT_FOUND', async () => {
    await expectReject(saveTensors(path.join(tmp, 'no', 'such', 'dir.pt'), { x: tensor(new Float32Array(1)) }), 'FILE_NOT_FOUND');
  });
});

describe('issue 7: tensor() checks its arguments in TypeScript first', () => {
  test('a shape that is not an array, or has too many dimensions, is INVALID_ARGUMENT (was a TypeError)', () => {
    expectCode(() => tensor(new Float32Array(2), 2 as unknown as number[]), 'INVALID_ARGUMENT', /^tensor\(data, shape\): shape must be an array of non-negative integers, got 2$/);
    expectCode(() => tensor(new Float32Array(2), { length: 1, 0: 2 } as unknown as number[]), 'INVALID_ARGUMENT', /shape must be an array/);
    expectCode(() => tensor(new Float32Array(1), new Array(65).fill(1)), 'INVALID_ARGUMENT', /shape has 65 dimensions; at most 64 are supported/);
  });

  test('NaN, BigInt, huge and fractional dimensions name the entry', () => {
    expectCode(() => tensor(new Float32Array(2), [NaN]), 'INVALID_ARGUMENT', /^tensor\(data, shape\): shape\[0\] must be finite, got NaN$/);
    expectCode(() => tensor(new Float32Array(2), [1, 2n] as unknown as number[]), 'INVALID_ARGUMENT', /shape\[1\] must be a number, got 2n/);
    expectCode(() => tensor(new Float32Array(2), [2 ** 60]), 'INVALID_ARGUMENT', /shape\[0\] is 1152921504606847000, beyond any tensor's size/);
    expectCode(() => tensor(new Float32Array(0), [0, 2 ** 40, 2 ** 40]), 'INVALID_ARGUMENT', /shape \[0, 1099511627776, 1099511627776\] is too large for any tensor/);
    expectCode(() => tensor(new Float32Array(0), [2 ** 20, 2 ** 20]), 'SHAPE_MISMATCH', /holds 1099511627776 elements but the data has 0/);
  });

  test('data that is not a typed array, or of another kind, is refused by name', () => {
    expectCode(() => tensor([1, 2] as unknown as Float32Array), 'INVALID_ARGUMENT', /^tensor\(data, shape\): data must be a typed array, got \[1,2\]$/);
    expectCode(() => tensor(new DataView(new ArrayBuffer(8)) as unknown as Float32Array, [2]), 'INVALID_ARGUMENT', /got a DataView/);
    expectCode(() => tensor(new Uint8ClampedArray(2) as unknown as Uint8Array), 'DTYPE_UNSUPPORTED', /unsupported data type Uint8ClampedArray/);
  });

  test('a SharedArrayBuffer view is copied and works (was a bare "Error: Invalid argument")', () => {
    const data = new Float32Array(new SharedArrayBuffer(12));
    data.set([1, 2, 3]);
    const t = tensor(data, [3, 1]);
    expect(t.shape).toEqual([3, 1]);
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 2, 3]);
  });

  test('an own `length` property on the data cannot lie about its size', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    Object.defineProperty(data, 'length', { value: 3 });
    expect(tensor(data).shape).toEqual([6]);
  });

  test('shape getters run before the data is read: a getter that detaches the buffer is seen', () => {
    const data = new Float32Array(4);
    const shape = [4];
    Object.defineProperty(shape, 0, {
      get() {
        structuredClone(data.buffer, { transfer: [data.buffer] });
        return 4;
      },
    });
    expectCode(() => tensor(data, shape), 'SHAPE_MISMATCH', /shape \[4\] holds 4 elements but the data has 0/);
  });
});

describe('issue 7: tensor files refuse paths that are not regular files', () => {
  (process.platform === 'win32' ? test.skip : test)('a FIFO is refused before any native thread opens it (it blocked forever)', async () => {
    const fifo = path.join(tmp, 'pipe.pt');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    await expectReject(loadTensors(fifo), 'INVALID_ARGUMENT', /^loadTensors: .*pipe\.pt is not a regular file$/);
    await expectReject(saveTensors(fifo, { x: tensor(new Float32Array(1)) }), 'INVALID_ARGUMENT', /^saveTensors: .*pipe\.pt exists and is not a regular file$/);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  test('a folder and a non-string path are INVALID_ARGUMENT', async () => {
    await expectReject(loadTensors(tmp), 'INVALID_ARGUMENT', /is not a regular file/);
    await expectReject(loadTensors(42 as unknown as string), 'INVALID_ARGUMENT', /path must be a non-empty string, got 42/);
  });
});
