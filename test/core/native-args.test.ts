/**
 * Argument checks that used to kill the process (each runs in a child process, so a regression fails
 * this test instead of killing jest): a shape getter detaching the data's buffer (SIGSEGV), a step count
 * that V8 could not allocate (abort), a thread count OpenMP would try to honour.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

function inChild(body: string): { value?: unknown; error?: { name: string; code: string; message: string } } {
  const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'fuzz', 'child', 'eval.js'), body], { encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`the process died: ${child.signal ?? `status ${child.status}`}\n${child.stderr.slice(-2000)}`);
  return JSON.parse(child.stdout);
}

test('new Tensor(data, shape) with a shape getter that detaches the data is an error, not a SIGSEGV', () => {
  const r = inChild(`
    const data = new Float32Array(1 << 16).fill(1);
    const shape = [];
    Object.defineProperty(shape, 0, { get() { structuredClone(data.buffer, { transfer: [data.buffer] }); return 1 << 16; }, enumerable: true });
    new b.Tensor(data, shape);`);
  expect(r.error?.name).toBe('TorchnasError');
  expect(r.error?.code).toBe('SHAPE_MISMATCH');
  expect(r.error?.message).toBe('shape [65536] holds 65536 elements but the data has 0');
});

test('shapes whose element count overflows int64 are SHAPE_MISMATCH, not a wrapped product', () => {
  const r = inChild('new b.Tensor(new Float32Array(4), [2 ** 52, 2 ** 52, 4]);');
  expect(r.error?.code).toBe('SHAPE_MISMATCH');
  expect(r.error?.message).toBe('shape [4503599627370496, 4503599627370496, 4] holds more than 2^64 elements but the data has 4');
});

test('oneCycleSchedule(1e12) is INVALID_ARGUMENT instead of a V8 out-of-memory abort', () => {
  const r = inChild('b.oneCycleSchedule(1e12);');
  expect(r.error).toEqual({
    name: 'TorchnasError',
    code: 'INVALID_ARGUMENT',
    message: 'totalSteps must be between 1 and 10000000, got 1000000000000',
  });
  const ok = inChild('const s = b.oneCycleSchedule(5, { maxLr: 0.1 }); return [s.lr.length, s.momentum.length];');
  expect(ok.value).toEqual([5, 5]);
});

test('setThreads and option counts are bounded before use', () => {
  expect(inChild('b.setThreads(1e6);').error?.message).toBe('threads must be between 1 and 1024, got 1000000');
  expect(inChild('b.setThreads(-3);').error?.code).toBe('INVALID_ARGUMENT');
});

test('a Tensor getter called on a foreign object is a TorchnasError', () => {
  const r = inChild(`Object.getOwnPropertyDescriptor(b.Tensor.prototype, 'shape').get.call({});`);
  expect(r.error?.name).toBe('TorchnasError');
  expect(r.error?.code).toBe('INVALID_ARGUMENT');
});
