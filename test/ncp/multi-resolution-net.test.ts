// MultiResolutionNet (ncp.md §3): parameter counts against §3.5/§4's reference table, thop-2020 counts of
// the built module on a real forward, output shapes of both heads, training steps (backward) on CPU and,
// where LibTorch has CUDA, on the GPU.
import { info } from '../../src/core/device';
import { isTorchnasError } from '../../src/core/errors';
import { tensor } from '../../src/core/tensor';
import { native } from '../../src/native';
import { codeToEmbedding } from '../../src/spaces/nasbench-mr';
import { NCP_COST_REFERENCE } from '../helpers/ncp-reference';

const REFERENCE = NCP_COST_REFERENCE;
const SMALLEST = REFERENCE[3][0];
const START = REFERENCE[2][0];

const net = (code: string, options: { head?: 'classification' | 'segmentation' | 'cls' | 'seg'; numClasses?: number; device?: string; seed?: number } = {}) =>
  new (native().MultiResolutionNet)({ embedding: codeToEmbedding(code), ...options });

describe('MultiResolutionNet', () => {
  test.each(REFERENCE)('built parameters equal the closed form of §3.5 (%s)', (code, _ops, params, _segOps, segParams) => {
    expect(net(code, { head: 'classification', numClasses: 50 }).parameterCount).toBe(params);
    expect(net(code, { head: 'segmentation', numClasses: 19 }).parameterCount).toBe(segParams);
  });

  test('the smallest net has 21322 parameters (§3.5 worked example) and the original defaults (seg head, 19 classes)', () => {
    const n = net(SMALLEST);
    expect(n.head).toBe('segmentation');
    expect(n.numClasses).toBe(19);
    expect(net(SMALLEST, { head: 'cls', numClasses: 50 }).parameterCount).toBe(21322);
  });

  test('a real CPU forward counted by thop-2020 rules gives the reference ops (both conventions)', async () => {
    for (const [code, ops, params, segOps, segParams] of [REFERENCE[3], REFERENCE[2]]) {
      await expect(net(code, { head: 'classification', numClasses: 50 }).countOps()).resolves.toEqual({ ops, params });
      await expect(net(code, { head: 'segmentation', numClasses: 19 }).countOps()).resolves.toEqual({ ops: segOps, params: segParams });
    }
  });

  test('meta-device counts equal the real-forward counts and the reference table', async () => {
    const b = native();
    const codes = REFERENCE.map((r) => r[0]);
    const cls = await b.countMultiResolutionOps(codes.flatMap((c) => codeToEmbedding(c)), { head: 'classification', numClasses: 50 });
    const seg = await b.countMultiResolutionOps(codes.flatMap((c) => codeToEmbedding(c)), { head: 'segmentation', numClasses: 19 });
    expect(Array.from(cls.ops)).toEqual(REFERENCE.map((r) => r[1]));
    expect(Array.from(cls.params)).toEqual(REFERENCE.map((r) => r[2]));
    expect(Array.from(seg.ops)).toEqual(REFERENCE.map((r) => r[3]));
    expect(Array.from(seg.params)).toEqual(REFERENCE.map((r) => r[4]));
  });

  test('output shapes: classification [N, K, 1, 1], segmentation [N, K, H/4, W/4] for any input size', async () => {
    using x = tensor(new Float32Array(2 * 3 * 128 * 96).map((_, i) => Math.sin(i)), [2, 3, 128, 96]);
    using cls = await net(SMALLEST, { head: 'classification', numClasses: 7 }).forward(x);
    expect(cls.shape).toEqual([2, 7, 1, 1]);
    using seg = await net(SMALLEST, { head: 'segmentation', numClasses: 5 }).forward(x);
    expect(seg.shape).toEqual([2, 5, 32, 24]);
    // Odd sizes exercise the bilinear resizes inside the fuse layers (§3.2).
    using odd = tensor(new Float32Array(1 * 3 * 100 * 70).fill(0.5), [1, 3, 100, 70]);
    using segOdd = await net(START, { head: 'segmentation', numClasses: 3 }).forward(odd);
    expect(segOdd.shape).toEqual([1, 3, 25, 18]);
  });

  test('same seed, same weights; another seed, other weights', async () => {
    using x = tensor(new Float32Array(3 * 64 * 64).map((_, i) => Math.cos(i / 7)), [1, 3, 64, 64]);
    const run = async (seed: number) => {
      using y = await net(SMALLEST, { head: 'classification', numClasses: 4, seed }).forward(x);
      return Array.from(y.toArray() as Float32Array);
    };
    expect(await run(3)).toEqual(await run(3));
    expect(await run(3)).not.toEqual(await run(4));
  });

  test.each(['classification', 'segmentation'] as const)('backward: SGD steps lower the %s loss on a fixed batch (CPU)', async (head) => {
    const n = net(SMALLEST, { head, numClasses: 3, seed: 1 });
    using x = tensor(new Float32Array(4 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37)), [4, 3, 32, 32]);
    using y = head === 'classification' ? tensor(BigInt64Array.from([0n, 1n, 2n, 1n]), [4]) : tensor(new BigInt64Array(4 * 8 * 8).map((_, i) => BigInt(i % 3)), [4, 8, 8]);
    const losses = await n.trainSteps(x, y, 8, { lr: 0.05, momentum: 0.9 });
    expect(losses).toHaveLength(8);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]).toBeLessThan(losses[0] * 0.9);
  });

  const cudaTest = info().cuda ? test : test.skip;
  cudaTest('CUDA: forward equals the CPU forward and training steps run', async () => {
    using x = tensor(new Float32Array(2 * 3 * 64 * 64).map((_, i) => Math.sin(i / 5)), [2, 3, 64, 64]);
    using cpu = await net(START, { head: 'segmentation', numClasses: 4, seed: 9 }).forward(x);
    const gpuNet = net(START, { head: 'segmentation', numClasses: 4, seed: 9, device: 'cuda' });
    expect(gpuNet.device).toBe('cuda:0');
    using gpu = await gpuNet.forward(x);
    const a = cpu.toArray() as Float32Array;
    const b = gpu.toArray() as Float32Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-3);
    using labels = tensor(new BigInt64Array(2 * 16 * 16).map((_, i) => BigInt(i % 4)), [2, 16, 16]);
    const losses = await gpuNet.trainSteps(x, labels, 6, { lr: 0.05 });
    expect(losses[5]).toBeLessThan(losses[0]);
    await expect(gpuNet.countOps({ height: 128, width: 128 })).resolves.toEqual({ ops: REFERENCE[2][3], params: REFERENCE[2][4] });
  });

  test('errors name the problem', async () => {
    const b = native();
    expect(() => new b.MultiResolutionNet({ embedding: [1, 2, 3] })).toThrow(/27 integers/);
    expect(() => new b.MultiResolutionNet({ setting: { inputChannel: [8, 8], modules: [{ branches: 2, blocks: [1], channels: [8, 8] }], lastChannel: 8 } })).toThrow(
      /2 branches need as many block and channel counts/,
    );
    using wrong = tensor(new Float32Array(2 * 4 * 4), [1, 2, 4, 4]);
    const err = await net(SMALLEST).forward(wrong).catch((e: unknown) => e);
    expect(isTorchnasError(err, 'SHAPE_MISMATCH')).toBe(true);
  });
});
