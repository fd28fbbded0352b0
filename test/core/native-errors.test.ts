/**
 * Error translation (native/napi/common.cc): LibTorch's typed exceptions and CPU allocation failures
 * arrive with the code a user can act on, and the native side emits only codes the TS union knows.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../../src/core/errors';
import { native } from '../../src/native';

function caught(fn: () => unknown): TorchnasError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TorchnasError);
    return e as TorchnasError;
  }
  throw new Error('expected a TorchnasError');
}

test('a CPU allocation LibTorch cannot satisfy is OUT_OF_MEMORY, not TORCH_ERROR', () => {
  const b = native();
  const g = new b.Generator(1);
  // 2^52 float32 elements = 16 PiB: DefaultCPUAllocator's "can't allocate memory".
  const e = caught(() => g.randn([2 ** 20, 2 ** 20, 2 ** 12]));
  expect(e.code).toBe('OUT_OF_MEMORY');
  expect(e.message).toMatch(/allocate/);
});

test('the native code list equals the TS union (BUSY and DISPOSED included)', () => {
  const root = path.resolve(__dirname, '..', '..');
  const header = fs.readFileSync(path.join(root, 'native/core/errors.h'), 'utf8');
  const list = header.slice(header.indexOf('kErrorCodes[]'), header.indexOf('};', header.indexOf('kErrorCodes[]')));
  const nativeCodes = [...list.matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]).sort();
  const ts = fs.readFileSync(path.join(root, 'src/core/errors.ts'), 'utf8');
  const union = ts.slice(ts.indexOf('export type TorchnasErrorCode'), ts.indexOf(';', ts.indexOf('export type TorchnasErrorCode')));
  // Raised by TypeScript only: ADDON_LOAD_FAILED (src/native.ts; the addon cannot report its own failure to
  // load), NETWORK_ERROR (downloads of `torchnas data fetch`) and QUEUE_UNAVAILABLE (the Redis job queue).
  const tsOnly = ['ADDON_LOAD_FAILED', 'NETWORK_ERROR', 'QUEUE_UNAVAILABLE', 'DEPENDENCY_MISSING'];
  const tsCodes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).filter((c) => !tsOnly.includes(c)).sort();
  expect(nativeCodes).toEqual(tsCodes);
  expect(nativeCodes).toEqual(expect.arrayContaining(['BUSY', 'DISPOSED']));
});
