/**
 * The DenseNAS super network on the shared module binding (specs/densenas.md §3): forward shapes on small
 * inputs, architecture-parameter counts, the chained cost against an explicit expectation over every path,
 * weight and architecture steps, determinism and input errors. Spaces here are small hand-made ones; the
 * full MBV2/ResNet spaces are built from configs in src/spaces/densenas.
 */
import { native, NativeDenseCosts, NativeDenseSpace } from '../../src/native';
import { tensor } from '../../src/core/tensor';

const HEAD = ['mbconv_k3_t3', 'mbconv_k5_t6'];
const STACK = ['mbconv_k3_t3', 'skip_connect'];

/** 0 → {1, 2}; 1 → {2, 3}; 2 → {3}; 3 = conv1_1 block. Paths: 0-1-2-3, 0-1-3, 0-2-3. */
function tinySpace(inChannels = 3): NativeDenseSpace {
  return {
    netType: 'mbv2',
    inChannels,
    numClasses: 10,
    stemStride: 2,
    initDim: 8,
    headDim: 8,
    lastDim: 32,
    bn: { momentum: 0.1, eps: 1e-3 },
    headOps: HEAD,
    stackOps: STACK,
    blocks: [
      { channels: 8, numLayers: 0, predecessors: [], successors: [1, 2] },
      { channels: 12, numLayers: 1, predecessors: [{ from: 0, stride: 2 }], successors: [2, 3] },
      { channels: 16, numLayers: 1, predecessors: [{ from: 1, stride: 1 }, { from: 0, stride: 2 }], successors: [3] },
      { channels: 32, numLayers: 0, predecessors: [{ from: 2, stride: 1 }, { from: 1, stride: 1 }], successors: [] },
    ],
  };
}

const COSTS: NativeDenseCosts = {
  stem: 1.5,
  head: [[], [[2, 7]], [[1, 3], [4, 9]]],
  stack: [[], [[1.25, 0.01]], [[2.5, 0.02]]],
  last: [0.5, 0.75],
  classifier: 0.25,
};

function images(n: number, channels: number, side: number) {
  return tensor(Float32Array.from({ length: n * channels * side * side }, (_, i) => Math.sin(i * 0.37)), [n, channels, side, side]);
}
const labels = (n: number) => tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)), [n]);

const softmax = (v: ArrayLike<number>) => {
  const m = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

test('forward on 32×32×3 and 28×28×1 inputs; 15 architecture parameters (5 β + 6 α_head + 4 α_stack)', async () => {
  const net = new (native().DenseSuperNet)(tinySpace(), { seed: 1 });
  expect(net.archParameterCount).toBe(15);
  const a = net.archParameters();
  expect(a.betas.map((b) => b?.length ?? null)).toEqual([2, 2, 1, null]);
  expect(a.alphaHead.map((b) => b?.length ?? null)).toEqual([null, 2, 4, null]);
  expect(a.alphaStack.map((b) => b?.length ?? null)).toEqual([null, 2, 2, null]);
  // 1e-3·N(0, 1) initialisation
  expect(Math.max(...a.betas.flatMap((b) => (b ? Array.from(b, Math.abs) : [])))).toBeLessThan(0.01);
  const logits = await net.forward(images(4, 3, 32));
  expect(logits.shape).toEqual([4, 10]);
  const gray = new (native().DenseSuperNet)(tinySpace(1), { seed: 1 });
  expect((await gray.forward(images(2, 1, 28), { sample: 'prob', k: 1 })).shape).toEqual([2, 10]);
});

test('the chained cost (§3.5) equals the expectation over every stem→end path, all ops', async () => {
  const net = new (native().DenseSuperNet)(tinySpace(), { seed: 7 });
  // Make the parameters far from uniform so that a wrong pairing of β and paths shows.
  net.setCosts(COSTS);
  const a = net.archParameters();
  const p = a.betas.map((b) => (b ? softmax(b) : []));
  const headRow = (j: number, h: number) => softmax(a.alphaHead[j]!.subarray(h * 2, h * 2 + 2));
  const stackRow = (j: number, l: number) => softmax(a.alphaStack[j]!.subarray(l * 2, l * 2 + 2));
  const H = (j: number, h: number) => dot(headRow(j, h), COSTS.head[j][h]);
  const S = (j: number) => dot(stackRow(j, 0), COSTS.stack[j][0]);
  // Markov chain over successors: P_i[pos(j)].
  const paths: { prob: number; cost: number }[] = [
    { prob: p[0][0] * p[1][0] * p[2][0], cost: H(1, 0) + S(1) + H(2, 0) + S(2) + COSTS.last[0] },
    { prob: p[0][0] * p[1][1], cost: H(1, 0) + S(1) + COSTS.last[1] },
    { prob: p[0][1] * p[2][0], cost: H(2, 1) + S(2) + COSTS.last[0] },
  ];
  const expected = COSTS.stem + COSTS.classifier + paths.reduce((s, x) => s + x.prob * x.cost, 0);
  expect(await net.expectedCost()).toBeCloseTo(expected, 5);
});

test('weight steps lower the loss; the cosine lr moves; same seed → same steps', async () => {
  const run = async () => {
    const net = new (native().DenseSuperNet)(tinySpace(), { seed: 3, search: { weightLr: 0.5, totalWeightSteps: 400 } });
    const x = images(16, 3, 32);
    const y = labels(16);
    const steps = [];
    for (let i = 0; i < 50; i++) steps.push(await net.weightStep(x, y, { warmup: i < 5 }));
    return steps;
  };
  const a = await run();
  const b = await run();
  expect(b.map((s) => s.loss)).toEqual(a.map((s) => s.loss));
  const mean = (xs: typeof a) => xs.reduce((t, s) => t + s.loss, 0) / xs.length;
  expect(mean(a.slice(45))).toBeLessThan(0.75 * mean(a.slice(0, 5)));
  expect(a[0].lr).toBeCloseTo(0.5, 12);
  expect(a[49].lr).toBeLessThan(a[1].lr);
  expect(a.every((s) => s.count === 16 && s.cost === 0)).toBe(true);
});

test('architecture steps with a heavy cost penalty drive the expected cost down (log_τ and target penalties)', async () => {
  for (const search of [
    { subLossFactor: 5, logBase: 15 },
    { subLossFactor: 5, penalty: 'hinge' as const, target: 3 },
  ]) {
    const net = new (native().DenseSuperNet)(tinySpace(), { seed: 5, search: { ...search, alphaLr: 0.05, betaLr: 0.05 } });
    net.setCosts(COSTS);
    const before = await net.expectedCost();
    const x = images(8, 3, 32);
    const y = labels(8);
    let last;
    for (let i = 0; i < 25; i++) last = await net.archStep(x, y);
    expect(last!.cost).toBeGreaterThan(0);
    expect(await net.expectedCost()).toBeLessThan(before - 0.3);
  }
});

test('a step with its ops given uses them: one op per row leaves every α untouched (softmax of one), β still moves', async () => {
  const search = { archWeightDecay: 0, alphaLr: 0.05, betaLr: 0.05 };
  const x = images(8, 3, 32);
  const y = labels(8);
  const one = { head: [null, [[1]], [[0], [1]], null], stack: [null, [[1]], [[0]]] };
  const net = new (native().DenseSuperNet)(tinySpace(), { seed: 4, search });
  net.setCosts(COSTS);
  const before = net.archParameters();
  await net.weightStep(x, y, { ops: one });
  const r = await net.archStep(x, y, { ops: one });
  expect(Number.isFinite(r.loss)).toBe(true);
  const after = net.archParameters();
  expect(after.alphaHead).toEqual(before.alphaHead);
  expect(after.alphaStack).toEqual(before.alphaStack);
  expect(after.betas[0]).not.toEqual(before.betas[0]);
  // Drawn (two of two ops per row): α moves.
  await net.archStep(x, y);
  expect(net.archParameters().alphaHead[2]).not.toEqual(before.alphaHead[2]);
  // The same ops on a twin network give the same step to the bit.
  const twin = new (native().DenseSuperNet)(tinySpace(), { seed: 4, search });
  twin.setCosts(COSTS);
  await twin.weightStep(x, y, { ops: one });
  expect((await twin.archStep(x, y, { ops: one })).loss).toBe(r.loss);
  net.dispose();
  twin.dispose();
});

test.each([
  [3, 32],
  [1, 28], // odd feature maps: 14×14 and 7×7
])('depthwise convs: the direct weight-gradient kernel trains the same weights as ATen\'s (5×5 and 7×7, strides 1 and 2; %i×%i² input)', async (channels, side) => {
  const space = { ...tinySpace(channels), headOps: ['mbconv_k7_t3', 'mbconv_k5_t6'], stackOps: ['mbconv_k5_t3', 'mbconv_k7_t6'] };
  const x = images(6, channels, side);
  const y = labels(6);
  const trained = async (candidate: string, steps = 2) => {
    native().kernelChoices({ force: `depthwise_weight_grad=${candidate}` });
    const net = new (native().DenseSuperNet)(space, { seed: 8, search: { weightSampleNum: 2 } });
    const losses = [];
    for (let i = 0; i < steps; i++) losses.push((await net.weightStep(x, y)).loss);
    const names = net.parameterNames().filter((n) => /depthwise\.weight$/.test(n));
    const weights = names.map((n) => Array.from(net.parameter(n).toArray() as Float32Array));
    net.dispose();
    return { losses, names, weights };
  };
  const saved = native().kernelChoices().file;
  try {
    const aten = await trained('aten');
    const direct = await trained('direct');
    const init = await trained('direct', 0);
    expect(direct.names).toEqual(aten.names);
    expect(aten.names.length).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < 2; i++) expect(direct.losses[i]).toBeCloseTo(aten.losses[i], 5);
    let moved = 0;
    aten.weights.forEach((w, i) => {
      w.forEach((v, j) => {
        expect(Math.abs(direct.weights[i][j] - v)).toBeLessThan(1e-5 * (1 + Math.abs(v)));
        if (Math.abs(v - init.weights[i][j]) > 1e-4) moved++;
      });
    });
    // Every depthwise conv trained (both ops of every row are sampled): most of its weights moved.
    expect(moved).toBeGreaterThan(0.5 * aten.weights.reduce((s, w) => s + w.length, 0));
  } finally {
    native().kernelChoices({ force: '', file: saved });
  }
});

test('given ops that do not fit the space are clear errors naming the row', async () => {
  const net = new (native().DenseSuperNet)(tinySpace(), { seed: 0 });
  net.setCosts(COSTS);
  const x = images(2, 3, 32);
  const y = labels(2);
  const cases: [unknown, RegExp][] = [
    [{ head: [null, [[1]], [[0]], null], stack: [null, [[1]], [[0]]] }, /ops\.head\[2\] must hold 2 rows/],
    [{ head: [null, [[1, 0]], [[0], [1]], null], stack: [null, [[1]], [[0]]] }, /ops\.head\[1\]\[0\] must be strictly ascending/],
    [{ head: [null, [[2]], [[0], [1]], null], stack: [null, [[1]], [[0]]] }, /ops\.head\[1\]\[0\] holds op 2, outside \[0, 1\]/],
    [{ head: [null, [[1]], [[0], [1]], null], stack: [null, [[]], [[0]]] }, /ops\.stack\[1\]\[0\] is empty/],
    [{ head: [null, [[1.5]], [[0], [1]], null], stack: [null, [[1]], [[0]]] }, /ops\.head\[1\]\[0\] must hold integer op indices/],
    [{ head: 'all', stack: [] }, /options\.ops\.head must be an array/],
  ];
  for (const [ops, message] of cases) {
    const attempt = async () => net.archStep(x, y, { ops: ops as never });
    await expect(attempt()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  }
  net.dispose();
});

test('bad spaces, costs and batches are clear errors', async () => {
  const broken = tinySpace();
  broken.blocks[2].predecessors = [{ from: 0, stride: 2 }, { from: 1, stride: 1 }]; // not nearest first
  expect(() => new (native().DenseSuperNet)(broken, { seed: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/block 2: predecessors must be nearest first/) }));
  const unknown = { ...tinySpace(), headOps: ['mbconv_k9_t3'] };
  expect(() => new (native().DenseSuperNet)(unknown, { seed: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown DenseNAS op 'mbconv_k9_t3'/) }));
  const net = new (native().DenseSuperNet)(tinySpace(), { seed: 0 });
  expect(() => net.setCosts({ ...COSTS, head: [[], [[2, 7]], [[1, 3]]] })).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/block 2 has 2 head branches/) }));
  expect(() => net.expectedCost()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/setCosts/) }));
  await expect(net.weightStep(images(2, 1, 32), labels(2))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  await expect(net.archStep(images(2, 3, 32), labels(2))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cost table/) });
});

test('a checkpoint restores weights, α/β, both optimizers, the cosine and the generator: continuing equals never stopping', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dense-'));
  const file = path.join(dir, 'checkpoint.pt');
  const make = () => {
    const net = new (native().DenseSuperNet)(tinySpace(), { seed: 11, search: { weightLr: 0.3, totalWeightSteps: 20, alphaLr: 0.01, betaLr: 0.02 } });
    net.setCosts(COSTS);
    return net;
  };
  const x = images(8, 3, 32);
  const y = labels(8);
  const tail = async (net: ReturnType<typeof make>) => {
    const out = [];
    for (let i = 0; i < 2; i++) out.push((await net.weightStep(x, y)).loss, (await net.archStep(x, y)).loss);
    return { losses: out, arch: net.archParameters() };
  };
  const a = make();
  for (let i = 0; i < 3; i++) await a.weightStep(x, y, { warmup: true });
  await a.archStep(x, y);
  expect(a.endEpoch()).toBe(1);
  await a.saveCheckpoint(file, { note: tensor(new Float64Array([42]), [1]) });
  const whole = await tail(a);

  const b = make(); // a fresh net of the same space, then the checkpoint
  const restored = await b.loadCheckpoint(file);
  expect([restored.epoch, restored.steps]).toEqual([1, 4]);
  expect(Array.from(restored.extras.note.toArray() as Float64Array)).toEqual([42]);
  const resumed = await tail(b);
  expect(resumed.losses).toEqual(whole.losses);
  expect(resumed.arch).toEqual(whole.arch);

  const other = new (native().DenseSuperNet)({ ...tinySpace(), headOps: ['mbconv_k3_t3'] }, { seed: 0 });
  await expect(other.loadCheckpoint(file)).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('measureDenseOps times each op in isolation with stable-median stopping', async () => {
  const b = native();
  const rows: number[][] = [];
  const stats = await b.measureDenseOps(
    [
      { kind: 'stem', op: 'relu6', cIn: 3, cOut: 8, stride: 2, h: 32, w: 32 },
      { kind: 'op', op: 'mbconv_k3_t3', cIn: 8, cOut: 12, stride: 2, h: 16, w: 16 },
      { kind: 'op', op: 'skip_connect', cIn: 12, cOut: 12, stride: 1, h: 8, w: 8 },
      { kind: 'conv1_1', cIn: 16, cOut: 32, h: 8, w: 8 },
      { kind: 'linear', cIn: 32, cOut: 10 },
    ],
    { batch: 2, warmup: 2, minRuns: 5, maxRuns: 30, relSe: 0.05 },
    (row) => rows.push(row),
  );
  expect(stats).toHaveLength(5);
  for (const s of stats) {
    expect(s.count).toBeGreaterThanOrEqual(5);
    expect(s.count).toBeLessThanOrEqual(30);
    expect(s.min).toBeGreaterThan(0);
    expect(s.min).toBeLessThanOrEqual(s.median);
    expect(s.std).toBeGreaterThanOrEqual(0);
  }
  expect(rows.map((r) => r.slice(0, 2))).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  // An identity skip is far cheaper than an MBConv on the same device.
  expect(stats[2].median).toBeLessThan(stats[1].median);
  expect(() => b.measureDenseOps([{ kind: 'op', op: 'conv9', cIn: 1, cOut: 1 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  const token = new b.CancelToken();
  token.cancel();
  await expect(b.measureDenseOps([{ kind: 'linear', cIn: 4, cOut: 4 }], { maxRuns: 1000, relSe: 0 }, undefined, token)).rejects.toMatchObject({ code: 'CANCELLED' });
});

describe('the super networks of the shipped configs', () => {
  // Imported here so the hand-made cases above do not depend on the config layer.
  const load = () => require('../helpers/densenas') as typeof import('../helpers/densenas');
  const spaces = () => require('../../src/spaces/densenas') as typeof import('../../src/spaces/densenas');
  const lut = () => require('../../src/benchmarks/densenas-lut') as typeof import('../../src/benchmarks/densenas-lut');
  const sn = () => require('../../src/methods/densenas/supernet') as typeof import('../../src/methods/densenas/supernet');

  test('§8 small32: the native super net holds exactly the analytically counted weights (90.25 M) and 633 α/β', async () => {
    const space = load().loadSpace('mbv2-small32');
    const net = await sn().createSuperNet(space, { seed: 2 });
    expect(net.archParameterCount).toBe(633);
    expect(net.parameterCount).toBe(spaces().countSuperNet(space).params);
    expect(Math.round(net.parameterCount / 1e4) / 100).toBe(90.25);
    const logits = await net.forward(images(2, 3, 32), { sample: 'prob', k: 1 });
    expect(logits.shape).toEqual([2, 10]);
    net.dispose();
  });

  test('tiny MBV2 and ResNet spaces: native weights equal the analytic count (stems, basic blocks, skips, conv1_1)', async () => {
    for (const netType of ['mbv2', 'res'] as const) {
      const space = load().tinySpace(netType);
      const net = await sn().createSuperNet(space, { seed: 0 });
      expect(net.parameterCount).toBe(spaces().countSuperNet(space).params);
      net.dispose();
    }
  });

  test('the native chained cost equals the TypeScript one on the example LUT (all ops and sampled subsets)', async () => {
    const space = load().loadSpace('mbv2-small32');
    const costs = await lut().readLatListFile(load().SMALL32_LAT_LIST, space);
    const net = await sn().createSuperNet(space, { seed: 4, search: { temperature: 0.9 } });
    net.setCosts(sn().nativeCosts(costs));
    // Move α/β away from uniform with a few heavy architecture steps, then compare.
    const x = images(2, 3, 32);
    const y = labels(2);
    for (let i = 0; i < 2; i++) await net.archStep(x, y);
    const arch = sn().archParametersOf(space, net);
    const expected = spaces().chainedCost(space, costs, arch, { temperature: 0.9 });
    expect(await net.expectedCost()).toBeCloseTo(expected, 3);
    expect(expected).toBeGreaterThan(costs.stem + costs.classifier);
    net.dispose();
  });

  test('fmnist28: one channel, 28×28, a weight and an architecture step', async () => {
    const space = load().loadSpace('mbv2-fmnist28');
    const net = await sn().createSuperNet(space, { seed: 1 });
    net.setCosts(sn().nativeCosts(spaces().flopsCostList(space)));
    const x = tensor(new Uint8Array(4 * 28 * 28).fill(120), [4, 1, 28, 28]);
    const y = labels(4);
    const w = await net.weightStep(x, y, { warmup: true });
    const a = await net.archStep(x, y);
    expect([Number.isFinite(w.loss), Number.isFinite(a.loss), a.cost > 0]).toEqual([true, true, true]);
    net.dispose();
  });

  test('construction runs off the JS thread: the event loop keeps ticking while the §8 super net is built', async () => {
    const space = load().loadSpace('mbv2-small32');
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    // A construction on the JS thread would resolve through microtasks only, before any setImmediate callback.
    const net = await sn().createSuperNet(space, { seed: 2 });
    const ticksWhileBuilding = ticks;
    running = false;
    expect(ticksWhileBuilding).toBeGreaterThan(0);
    expect(net.archParameterCount).toBe(633);
    net.dispose();
  });

  test('the async construction gives the same network as the synchronous constructor; its parts are taken once', async () => {
    const space = load().tinySpace('mbv2');
    const b = native();
    const parts = await b.buildDenseSuperNet(space, { seed: 9 });
    const built = new b.DenseSuperNet(parts);
    expect(() => new b.DenseSuperNet(parts)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/already taken/) }));
    const direct = new b.DenseSuperNet(space, { seed: 9 });
    expect(built.archParameters()).toEqual(direct.archParameters());
    const x = images(2, space.inChannels, space.inputSize);
    const [l1, l2] = [await built.forward(x), await direct.forward(x)];
    expect(Array.from(l1.toArray() as Float32Array)).toEqual(Array.from(l2.toArray() as Float32Array));
    // A bad space is refused when the arguments are read (on the JS thread, before any work starts); the
    // library's createSuperNet turns that into a rejection.
    expect(() => b.buildDenseSuperNet({ ...space, headOps: ['mbconv_k9_t3'] }, { seed: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown DenseNAS op/) }));
    await expect(sn().createSuperNet({ ...space, headOps: ['mbconv_k9_t3'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown DenseNAS op/) });
    for (const n of [built, direct]) n.dispose();
  });
});
