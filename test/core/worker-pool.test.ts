/**
 * Issue 7: the worker pool that takes parsing off the event loop, from the TypeScript sources (as here,
 * under ts-jest) and from a compiled `.js` layout like dist/ (checked in a child process).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { TorchnasError } from '../../src/core/errors';
import { runInWorker } from '../../src/core/worker-pool';
import { writePickle } from '../helpers/pickle-writer';

const SRC = path.join(__dirname, '..', '..', 'src');
const ENCODINGS = path.join(SRC, 'spaces', 'nb201', 'encodings.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-workers-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('runs an export of a TypeScript module in a worker, many at once, each with its own answer', async () => {
  const ordinals = Array.from({ length: 12 }, (_, k) => k * 1301);
  const results = await Promise.all(ordinals.map((o) => runInWorker<number[]>(ENCODINGS, 'nb201FromOrdinal', [o])));
  results.forEach((ops, k) => {
    expect(ops).toHaveLength(6);
    expect(ops.reduce((acc, op) => acc * 5 + op, 0)).toBe(ordinals[k]);
  });
});

test('errors come back with their class, code and message', async () => {
  const error = await runInWorker(ENCODINGS, 'nb201FromOrdinal', [-1]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TorchnasError);
  expect(error).toMatchObject({ code: 'INVALID_CODE', message: 'invalid NB201 ordinal -1: expected an integer in 0..15624' });
  await expect(runInWorker(ENCODINGS, 'noSuchExport', [])).rejects.toThrow(`${ENCODINGS} has no function noSuchExport`);
});

test('from a compiled layout (.js beside .js, as in dist/) it starts worker-entry.js, without TypeScript', () => {
  // Compile the few modules readPickleFile needs into tmp/{core,benchmarks}, mirroring src/.
  const out = path.join(tmp, 'dist');
  for (const rel of ['core/errors', 'core/worker-pool', 'core/worker-entry', 'benchmarks/pickle', 'benchmarks/pickle-numpy', 'benchmarks/read-bytes']) {
    const source = fs.readFileSync(path.join(SRC, `${rel}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
    fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    fs.writeFileSync(path.join(out, `${rel}.js`), outputText);
  }
  const file = path.join(tmp, 'v.pkl');
  fs.writeFileSync(file, writePickle({ a: Object.freeze([1, 'two']), b: Float32Array.from([0.5, -1]) }));
  const script = `
    const { readPickleFile } = require(${JSON.stringify(path.join(out, 'benchmarks', 'pickle.js'))});
    readPickleFile(${JSON.stringify(file)}).then((v) => {
      console.log(JSON.stringify({ a: v.a, tuple: Object.isFrozen(v.a), b: Array.from(v.b), f32: v.b instanceof Float32Array }));
    });`;
  // NODE_PATH empty and cwd outside the repository: the child cannot find `typescript`, so it must not need it.
  const stdout = execFileSync(process.execPath, ['-e', script], { cwd: tmp, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  expect(JSON.parse(stdout)).toEqual({ a: [1, 'two'], tuple: true, b: [0.5, -1], f32: true });
});

test('a result too deep to pass between threads rejects (it left the promise pending) and the pool goes on', async () => {
  const depth = 20000;
  const deep = Uint8Array.from([0x80, 4, ...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), 0x2e]);
  const pickle = path.join(SRC, 'benchmarks', 'pickle.ts');
  const error = await runInWorker(pickle, 'parsePickle', [deep]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TorchnasError);
  expect(error).toMatchObject({ code: 'INTERNAL' });
  expect((error as Error).message).toMatch(/cannot be passed back from the worker thread|could not be received/);
  expect(await runInWorker<number[]>(ENCODINGS, 'nb201FromOrdinal', [7])).toEqual([0, 0, 0, 0, 1, 2]);
});

test('arguments that cannot be cloned reject with INVALID_ARGUMENT and leave nothing pending', async () => {
  await expect(runInWorker(ENCODINGS, 'nb201FromOrdinal', [() => 1])).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringMatching(/^nb201FromOrdinal: arguments cannot be passed to a worker thread/),
  });
  expect(await runInWorker<number[]>(ENCODINGS, 'nb201FromOrdinal', [0])).toEqual([0, 0, 0, 0, 0, 0]);
});
