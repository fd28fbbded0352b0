/**
 * The batched NTK path (native/core/ops/vjp_tape.*: one taped forward, a hand-derived backward carrying
 * many Jacobian rows at once) against the autograd loop, the reference path: Θ, κ and the column count
 * must agree for every NB201 op alone, for mixed cells and single paths, in the modes that use it, at
 * several batch sizes and VJP chunkings. The DARTS networks keep the loop (the tape does not cover their
 * grouped convs, max pooling and concatenations), and a test says so.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native, NativeTensor, NtkOptions, NtkResult } from '../../../src/native';
import { singlePathAlpha } from '../../../src/methods/tenas/networks';
import { dartsNtkNetwork, initialDartsAlpha } from '../../../src/methods/tenas/darts-networks';
import { parseNb201String } from '../../../src/spaces/nb201';

type Net = { ntk(x: NativeTensor, o?: NtkOptions & { alpha?: Float32Array }): Promise<NtkResult> };
type Ctor = new (o: Record<string, unknown>) => Net;
const Nb201 = () => (native() as unknown as { Nb201Network: Ctor }).Nb201Network;
const generator = (seed: number) => new (native().Generator)(seed);

/** The NB201 network TE-NAS prunes (C=3, N=1: stem, cell, ResNet block, cell, block, cell, BN, GAP, linear). */
function network(options: { seed?: number; ops?: number[]; dtype?: 'float32' | 'float64'; numClasses?: number } = {}): Net {
  return new (Nb201())({ channels: 3, cellsPerStage: 1, numClasses: options.numClasses ?? 4, seed: options.seed ?? 3, dtype: options.dtype ?? 'float64', ops: options.ops });
}

const kernelOf = (r: NtkResult) => Array.from((r.kernel as NativeTensor).toArray() as Float64Array);

/** Runs both paths and checks they agree: Θ entrywise relative to its largest entry, κ, columns. */
async function expectSamePaths(net: Net, x: NativeTensor, options: NtkOptions & { alpha?: Float32Array }, tolerance: number) {
  const loop = await net.ntk(x, { ...options, path: 'loop', returnKernel: true });
  const batched = await net.ntk(x, { ...options, path: 'batched', returnKernel: true });
  expect(loop.path).toBe('loop');
  expect(batched.path).toBe('batched');
  expect(batched.columns).toBe(loop.columns);
  const a = kernelOf(loop);
  const b = kernelOf(batched);
  expect(b.length).toBe(a.length);
  const scale = Math.max(...a.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  if (scale > 0) expect(worst / scale).toBeLessThan(tolerance);
  else expect(worst).toBe(0);
  if (loop.fallback) {
    expect(batched.fallback).toBe(true);
    expect(batched.kappa).toBe(loop.kappa);
  } else {
    expect(Math.abs(batched.kappa - loop.kappa) / Math.abs(loop.kappa)).toBeLessThan(tolerance * 1e3);
  }
  return { loop, batched };
}

const OP_NAMES = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];

describe('batched NTK = autograd loop', () => {
  for (const [op, name] of OP_NAMES.entries()) {
    test(`every edge ${name}: Θ, κ and columns agree (logit_sum, per_class_trace, full; batch 2, 3, 6)`, async () => {
      const net = network({ ops: [op, op, op, op, op, op] });
      for (const batch of [2, 3, 6]) {
        const x = generator(100 + batch).randn([batch, 3, 8, 8]);
        for (const mode of ['logit_sum', 'per_class_trace', 'full'] as const) {
          const { loop } = await expectSamePaths(net, x, { mode }, 1e-10);
          // An all-`none` cell still passes the stem and ResNet blocks, so Θ is not zero.
          expect(loop.columns).toBeGreaterThan(0);
        }
      }
    });
  }

  test('the mixed-op supernet (all ops live, random α) and pruned edges agree', async () => {
    const net = new (Nb201())({ channels: 3, cellsPerStage: 1, numClasses: 5, seed: 11, dtype: 'float64' });
    const x = generator(7).randn([5, 3, 8, 8]);
    const alpha = Float32Array.from({ length: 30 }, (_, i) => Math.sin(i * 1.7));
    await expectSamePaths(net, x, { alpha }, 1e-10);
    await expectSamePaths(net, x, { alpha, mode: 'per_class_trace' }, 1e-10);
    // Prune: none gone everywhere (TE-NAS round 1), then one more op on some edges.
    const pruned = alpha.slice();
    for (let e = 0; e < 6; e++) pruned[e * 5] = -1000;
    pruned[2 * 5 + 3] = -1000;
    pruned[4 * 5 + 1] = -1000;
    await expectSamePaths(net, x, { alpha: pruned }, 1e-10);
    // A single path through the supernet whose node 1 is `none` of node 0: the ops fed by it are reached
    // through a ×0 (zero gradients, still columns under autograd).
    const dead = new Float32Array(30).fill(-1000);
    for (const [e, o] of [[0, 0], [1, 2], [2, 4], [3, 1], [4, 3], [5, 3]]) dead[e * 5 + o] = 0;
    const r = await expectSamePaths(net, x, { alpha: dead }, 1e-10);
    expect(r.batched.columns).toBeLessThan((await net.ntk(x, { alpha, path: 'loop' })).columns);
  });

  test('single paths, float32 (the default dtype), larger batch: κ agrees to float tolerance', async () => {
    for (const arch of [
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
      '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
      '|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|none~2|', // disconnected cell: Θ from the rest
    ]) {
      const ops = parseNb201String(arch);
      const net = network({ ops, dtype: 'float32', numClasses: 10, seed: 42 });
      const x = generator(5).randn([12, 3, 16, 16]);
      await expectSamePaths(net, x, { alpha: singlePathAlpha(ops) }, 2e-5);
    }
  });

  test('chunking the rows (bounded memory) gives the same Θ; auto picks the batched path', async () => {
    const net = network({ seed: 9 });
    const x = generator(8).randn([6, 3, 8, 8]);
    const whole = await net.ntk(x, { path: 'batched', returnKernel: true });
    expect(whole.vjpChunk).toBe(6);
    for (const vjpChunk of [1, 4, 5]) {
      const r = await net.ntk(x, { path: 'batched', vjpChunk, returnKernel: true });
      expect(r.vjpChunk).toBe(vjpChunk);
      const a = kernelOf(whole);
      const b = kernelOf(r);
      const scale = Math.max(...a.map(Math.abs));
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale).toBeLessThan(1e-12);
      expect(r.kappa).toBeCloseTo(whole.kappa, 9);
    }
    // Chunks on several threads at once (workers): the same Θ.
    const threaded = await net.ntk(x, { path: 'batched', vjpChunk: 2, workers: 3, returnKernel: true });
    const t = kernelOf(threaded);
    const w = kernelOf(whole);
    expect(Math.max(...w.map((v, i) => Math.abs(v - t[i]))) / Math.max(...w.map(Math.abs))).toBeLessThan(1e-12);
    // A 1 MiB budget fits 7 of the 6·4 per_class_trace rows at 32×32 (one row's largest folded activation
    // gradient: 6 samples × 3·32·32 × 8 bytes).
    const x32 = generator(8).randn([6, 3, 32, 32]);
    const small = await net.ntk(x32, { path: 'batched', mode: 'per_class_trace', batchedMemoryMb: 1 });
    const loop = await net.ntk(x32, { path: 'loop', mode: 'per_class_trace' });
    expect(small.vjpChunk).toBe(7);
    expect(small.kappa).toBeCloseTo(loop.kappa, 6);
    const auto = await net.ntk(x);
    expect(auto.path).toBe('batched');
    expect(auto.loopReason).toBeUndefined();
  });

  test('both conv input-gradient kernels give the loop\'s Θ; the timed choice is remembered in $TORCHNAS_HOME', async () => {
    // Stride-1 convs (1×1 and 3×3 in the cells, 3×3 in the ResNet blocks) and the stride-2 ones (transposed only).
    const net = new (Nb201())({ channels: 3, cellsPerStage: 1, numClasses: 5, seed: 13, dtype: 'float64' });
    const x = generator(17).randn([4, 3, 8, 8]);
    const alpha = Float32Array.from({ length: 30 }, (_, i) => Math.cos(i * 0.9));
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-kernels-'));
    const saved = native().kernelChoices().file;
    try {
      for (const candidate of ['transposed', 'flipped']) {
        native().kernelChoices({ force: `conv_input_grad=${candidate}` });
        await expectSamePaths(net, x, { alpha }, 1e-10);
      }
      const file = path.join(home, 'kernel-choices.tsv');
      expect(native().kernelChoices({ force: '', file }).choices).toEqual([]);
      const first = await net.ntk(x, { alpha, path: 'batched', returnKernel: true });
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(/^conv_input_grad\|.*\|threads=\d+\|torch=.*\t(transposed|flipped)$/);
      expect(native().kernelChoices().choices.length).toBe(lines.length);
      // A later run reads the same choices (the file is not rewritten) and gives the same Θ to the bit.
      const before = fs.statSync(file).mtimeMs;
      const again = await net.ntk(x, { alpha, path: 'batched', returnKernel: true });
      expect(kernelOf(again)).toEqual(kernelOf(first));
      expect(fs.statSync(file).mtimeMs).toBe(before);
    } finally {
      native().kernelChoices({ force: '', file: saved });
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  test('the DARTS networks keep the autograd loop; forcing the batched path is a clear error', async () => {
    const net = dartsNtkNetwork({ seed: 0 });
    const alpha = initialDartsAlpha();
    const x = generator(1).randn([3, 3, 8, 8]);
    const r = await net.ntk(x, { alphaNormal: alpha, alphaReduce: alpha });
    expect(r.path).toBe('loop');
    expect(r.loopReason).toMatch(/tape does not cover|grouped convolutions/);
    await expect(net.ntk(x, { alphaNormal: alpha, alphaReduce: alpha, path: 'batched' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/batched NTK path does not support this network/),
    });
  });

  test('bad path options are clean errors', async () => {
    const net = network();
    const x = generator(1).randn([2, 3, 8, 8]);
    expect(() => net.ntk(x, { path: 'fast' as never })).toThrow(/unknown NTK path 'fast'/);
    expect(() => net.ntk(x, { vjpChunk: -1 })).toThrow(/vjpChunk must be >= 0/);
    expect(() => net.ntk(x, { batchedMemoryMb: 0 })).toThrow(/batchedMemoryMb must be >= 1/);
    expect(() => net.ntk(x, { path: 'batched', copies: 2 } as never)).toThrow(/exclude each other/);
  });
});
