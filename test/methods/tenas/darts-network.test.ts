/**
 * The DARTS cell networks TE-NAS scores (specs/tenas.md §1.4): parameter counts from the op definitions,
 * shapes on 3×32×32 and the thin 1×3×3 input, pruned edges, κ and linear regions on the tiny supernet.
 */
import { native, NativeTensor } from '../../../src/native';
import {
  DARTS_ALPHA_LENGTH,
  dartsGenotypeNetwork,
  dartsNtkNetwork,
  dartsThinNetwork,
  genotypeDartsAlpha,
  initialDartsAlpha,
} from '../../../src/methods/tenas/darts-networks';
import { DARTS_EDGES, DARTS_OPS, TENAS_IMAGENET_GENOTYPE, dartsEdgeIndex } from '../../../src/spaces/darts';

const CLASSES = 10;
const OPS = DARTS_OPS.length;

// ---- Parameter and ReLU-feature counts by hand, from the op definitions of §1.4 ----
// count: all parameters; bn: BN channels (each has γ and β; β is not a "weight").
type Count = { count: number; bn: number };
const add = (...cs: Count[]): Count => cs.reduce((a, c) => ({ count: a.count + c.count, bn: a.bn + c.bn }), { count: 0, bn: 0 });
const bn = (c: number): Count => ({ count: 2 * c, bn: c });
const conv = (cin: number, cout: number, k: number, groups = 1): Count => ({ count: (cin / groups) * cout * k * k, bn: 0 });
const reluConvBn = (cin: number, cout: number, k: number) => add(conv(cin, cout, k), bn(cout));
const sepConv = (cin: number, cout: number, k: number) => add(conv(cin, cin, k, cin), conv(cin, cout, 1), bn(cout));
const dualSepConv = (c: number, k: number) => add(sepConv(c, c, k), sepConv(c, c, k));
const factorizedReduce = (cin: number, cout: number) => add(conv(cin, Math.floor(cout / 2), 1), conv(cin, cout - Math.floor(cout / 2), 1), bn(cout));
// none, skip (Identity or FactorizedReduce), sep 3/5, dil 3/5 (one SepConv), avg/max pool (no BN)
const mixedOp = (c: number, stride: number) =>
  add(stride === 2 ? factorizedReduce(c, c) : bn(0), dualSepConv(c, 3), dualSepConv(c, 5), sepConv(c, c, 3), sepConv(c, c, 5));
const searchCell = (cpp: number, cp: number, c: number, reduction: boolean) =>
  add(reluConvBn(cpp, c, 1), reluConvBn(cp, c, 1), ...DARTS_EDGES.map((e) => mixedOp(c, reduction && e.from < 2 ? 2 : 1)));
// The tiny supernet: stem Conv(stemIn→1)+BN(1), normal cell (C=1: 1,1 → 4 ch), reduction cell (C=2: 1,4 → 8 ch), BN(8), Linear(8→10).
const tinySupernet = (stemIn: number) =>
  add(conv(stemIn, 1, 3), bn(1), searchCell(1, 1, 1, false), searchCell(1, 4, 2, true), bn(8), { count: 8 * CLASSES + CLASSES, bn: 0 });

// Post-ReLU features per sample of one mixed edge with all non-none ops live (input c×s×s, output side `out`).
const edgeReluFeatures = (c: number, side: number, out: number, stride: number) =>
  (stride === 2 ? c * side * side : 0) + // FactorizedReduce's ReLU on the input
  2 * (c * side * side + c * out * out) + // sep_conv_3x3/5x5: ReLU on the input, then on op_a's output
  2 * c * side * side; // dil_conv_3x3/5x5

const generator = (seed: number) => new (native().Generator)(seed);
const values = (t: unknown) => Array.from((t as NativeTensor).toArray() as Float32Array);
const maxAbsDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function errorCode(f: () => unknown): Promise<string | undefined> {
  try {
    await f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('DARTS supernet construction', () => {
  test('parameter counts of the tiny NTK supernet equal the hand count from the op definitions', () => {
    const expected = tinySupernet(3);
    expect(expected.count).toBe(5431); // also worked out on paper: 29 + 1686 + 3610 + 16 + 90
    const s = dartsNtkNetwork({ seed: 0 }).parameterSummary();
    expect(s.count).toBe(expected.count);
    // Jacobian columns: everything but BN β and the classifier bias (§2).
    expect(s.weightCount).toBe(expected.count - expected.bn - CLASSES);
    expect(s.weightCount).toBe(5138);
  });

  test('module order and names follow the original construction order', () => {
    const names = dartsNtkNetwork({ seed: 0 }).parameterSummary().names;
    expect(names.slice(0, 6)).toEqual([
      'stem_conv.weight',
      'stem_bn.weight',
      'stem_bn.bias',
      'cell0.preprocess0.conv.weight',
      'cell0.preprocess0.bn.weight',
      'cell0.preprocess0.bn.bias',
    ]);
    expect(names.slice(-4)).toEqual(['lastact_bn.weight', 'lastact_bn.bias', 'classifier.weight', 'classifier.bias']);
    // stride-2 skip_connect in the reduction cell is a FactorizedReduce; stride-1 skip holds no parameters.
    expect(names).toContain('cell1.edge_0_0_op1.conv_a.weight');
    expect(names).toContain('cell1.edge_0_1_op1.conv_b.weight');
    expect(names.some((n) => n.startsWith('cell1.edge_1_2_op1.') || n.startsWith('cell0.edge_0_0_op1.'))).toBe(false);
    expect(names).toContain('cell1.edge_3_4_op3.op_b.pointwise.weight');
  });

  test('the thin network still builds its stem, with min(3, C) = 1 input channel', () => {
    const thin = dartsThinNetwork({ seed: 0 });
    expect(thin.parameterSummary().count).toBe(tinySupernet(1).count);
    expect(thin.parameter('stem_conv.weight').toArray().length).toBe(9);
  });

  test('seeded construction is reproducible and seed-dependent', () => {
    const a = dartsNtkNetwork({ seed: 7 }).parameterSummary().sum;
    expect(dartsNtkNetwork({ seed: 7 }).parameterSummary().sum).toBe(a);
    expect(dartsNtkNetwork({ seed: 8 }).parameterSummary().sum).not.toBe(a);
  });
});

describe('DARTS supernet forward', () => {
  const alpha = initialDartsAlpha();

  test('logits on 3×32×32 and on the thin 1×3×3 input', async () => {
    const net = dartsNtkNetwork({ seed: 0 });
    net.setAlpha(alpha, alpha);
    const out = (await net.forward(generator(1).randn([5, 3, 32, 32]))) as NativeTensor;
    expect(out.shape).toEqual([5, CLASSES]);
    expect(values(out).every(Number.isFinite)).toBe(true);

    const thin = dartsThinNetwork({ seed: 0 });
    thin.setAlpha(alpha, alpha);
    const thinOut = (await thin.forward(generator(2).randn([6, 1, 3, 3]))) as NativeTensor;
    expect(thinOut.shape).toEqual([6, CLASSES]);
    // A 3-channel image is refused by the stem-less network (it expects C·stem_multiplier = 1 channel).
    expect(await errorCode(() => thin.forward(generator(3).randn([2, 3, 3, 3])))).toBe('SHAPE_MISMATCH');
  });

  test('the reduction cell turns 3×3 into 2×2: ReLU feature count of the thin net', async () => {
    const thin = dartsThinNetwork({ seed: 0 });
    const r = await thin.linearRegions(generator(4).randn([50, 1, 3, 3]), { alphaNormal: alpha, alphaReduce: alpha });
    const normalCell = 2 * 9 + 14 * edgeReluFeatures(1, 3, 3, 1); // preprocess ReLUs on the 1×3×3 input, then 14 edges
    const reductionCell =
      9 + 4 * 9 + // preprocess0 on the input (1×3×3), preprocess1 on the normal cell's 4×3×3 output
      DARTS_EDGES.reduce((s, e) => s + (e.from < 2 ? edgeReluFeatures(2, 3, 2, 2) : edgeReluFeatures(2, 2, 2, 1)), 0);
    const lastact = 8 * 2 * 2;
    expect(r.features).toBe(normalCell + reductionCell + lastact);
    expect(r.features).toBe(1987);
  });

  test('an edge whose α are all −1000 contributes exactly 0 (not the uniform mix its softmax gives)', async () => {
    const net = dartsNtkNetwork({ seed: 3 });
    const x = generator(5).randn([4, 3, 32, 32]);
    const run = async (normal: Float32Array, reduce: Float32Array) => {
      net.setAlpha(normal, reduce);
      return values(await net.forward(x));
    };
    const withRow = (base: Float32Array, edge: number, row: number[]) => {
      const a = Float32Array.from(base);
      a.set(row, edge * OPS);
      return a;
    };
    const pruned = Array<number>(OPS).fill(-1000);
    const noneOnly = [0, ...Array<number>(OPS - 1).fill(-1000)];
    const uniform = Array<number>(OPS).fill(0);

    for (const [cell, edge] of [
      ['normal', dartsEdgeIndex(2, 0)],
      ['reduce', dartsEdgeIndex(0, 0)], // a stride-2 edge from the cell input
    ] as const) {
      const set = (row: number[]) => (cell === 'normal' ? run(withRow(alpha, edge, row), alpha) : run(alpha, withRow(alpha, edge, row)));
      const live = await set(Array.from(alpha.subarray(edge * OPS, (edge + 1) * OPS)));
      const removed = await set(pruned);
      // The `none` op alone adds x·0 to its node: the same output as no edge at all.
      expect(removed).toEqual(await set(noneOnly));
      // The edge matters when live, and the all-(−1000) row is not run as the softmax's uniform 1/8 mix.
      expect(maxAbsDiff(removed, live)).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(removed, await set(uniform))).toBeGreaterThan(1e-4);
    }
  });

  test('a pruned edge records no ReLU outputs', async () => {
    const thin = dartsThinNetwork({ seed: 0 });
    const x = generator(6).randn([20, 1, 3, 3]);
    const full = await thin.linearRegions(x, { alphaNormal: alpha, alphaReduce: alpha });
    const a = Float32Array.from(alpha);
    a.fill(-1000, dartsEdgeIndex(2, 0) * OPS, (dartsEdgeIndex(2, 0) + 1) * OPS);
    const cut = await thin.linearRegions(x, { alphaNormal: a, alphaReduce: alpha });
    expect(full.features - cut.features).toBe(edgeReluFeatures(1, 3, 3, 1));
  });
});

describe('DARTS scoring', () => {
  const alpha = initialDartsAlpha();

  test('κ of the initial supernet at batch 14 on N(0,1) is finite and ≥ 1, over every weight', async () => {
    const net = dartsNtkNetwork({ seed: 0 });
    const r = await net.ntk(generator(12345).randn([14, 3, 32, 32]), { alphaNormal: alpha, alphaReduce: alpha });
    expect(Number.isFinite(r.kappa)).toBe(true);
    expect(r.fallback).toBe(false);
    expect(r.lambdaMin).toBeGreaterThan(0);
    expect(r.kappa).toBeGreaterThanOrEqual(1);
    expect(r.kappa).toBeCloseTo(r.lambdaMax / r.lambdaMin, 6);
    // Every op but `none` is live (weight 1/7), so every "weight" parameter has a gradient.
    expect(r.columns).toBe(net.parameterSummary().weightCount);
  });

  test('linear regions of the thin supernet over 3 × 1000 N(0,1) patches lie in [1, samples]', async () => {
    const thin = dartsThinNetwork({ seed: 0 });
    const r = await thin.linearRegions(generator(54321).randn([3000, 1, 3, 3]), { alphaNormal: alpha, alphaReduce: alpha, batchSize: 1000 });
    expect(r.samples).toBe(3000);
    expect(r.regions).toBeGreaterThan(1);
    expect(r.regions).toBeLessThanOrEqual(3000);
    // Identical inputs share one pattern.
    const same = await thin.linearRegions(new (native().Tensor)(new Float32Array(9 * 10).fill(0.5), [10, 1, 3, 3]), { batchSize: 10 });
    expect(same.regions).toBe(1);
  });

  test('a bad α length is a SHAPE_MISMATCH, and a failed setAlpha changes nothing', async () => {
    const net = dartsNtkNetwork({ seed: 0 });
    const before = net.alpha();
    expect(await errorCode(() => net.setAlpha(new Float32Array(DARTS_ALPHA_LENGTH - 1)))).toBe('SHAPE_MISMATCH');
    expect(await errorCode(() => net.setAlpha(alpha, new Float32Array(30)))).toBe('SHAPE_MISMATCH');
    expect(await errorCode(() => net.ntk(generator(1).randn([2, 3, 8, 8]), { alphaReduce: new Float32Array(113) }))).toBe('SHAPE_MISMATCH');
    expect(await errorCode(() => net.linearRegions(generator(1).randn([2, 3, 8, 8]), { alphaNormal: new Float32Array(14) }))).toBe('SHAPE_MISMATCH');
    expect(net.alpha()).toEqual(before);
  });
});

describe('DARTS genotype network', () => {
  test('holds exactly the genotype ops: same parameters, MACs and logits as the supernet on that single path', async () => {
    const config = { channels: 1, cellsPerStage: 1, stemMultiplier: 1, depth: 2, numClasses: CLASSES, seed: 0 };
    const genotypeNet = dartsGenotypeNetwork(TENAS_IMAGENET_GENOTYPE, config);
    const supernet = dartsNtkNetwork({ seed: 0 });
    supernet.setAlpha(genotypeDartsAlpha(TENAS_IMAGENET_GENOTYPE, 'normal'), genotypeDartsAlpha(TENAS_IMAGENET_GENOTYPE, 'reduce'));

    const g = genotypeNet.macs(32);
    const s = supernet.macs(32);
    expect(g.allParameters).toBe(g.parameters);
    expect(s.parameters).toBe(g.parameters);
    expect(s.macs).toBe(g.macs);
    expect(s.allParameters).toBe(5431);
    expect(g.parameters).toBeLessThan(s.allParameters);

    const names = genotypeNet.parameterSummary().names;
    // Normal node 2 is dil_conv_5x5 ← 0, sep_conv_5x5 ← 1; reduce node 5 is skip_connect ← 3 (Identity), sep_conv_5x5 ← 4.
    const edgeModules = new Set(names.filter((n) => n.includes('.edge_')).map((n) => n.split('.').slice(0, 2).join('.')));
    expect(edgeModules.has('cell0.edge_0_0_op5')).toBe(true);
    expect(edgeModules.has('cell0.edge_0_1_op3')).toBe(true);
    expect(edgeModules.has('cell1.edge_3_4_op3')).toBe(true);
    expect([...edgeModules].filter((m) => m.startsWith('cell0.edge_0_'))).toHaveLength(2);
    expect([...edgeModules].filter((m) => m.startsWith('cell1.edge_3_'))).toHaveLength(1);
    for (const name of names) genotypeNet.setParameter(name, supernet.parameter(name));
    const x = generator(9).randn([3, 3, 32, 32]);
    expect(maxAbsDiff(values(await genotypeNet.forward(x)), values(await supernet.forward(x)))).toBeLessThan(1e-6);
  });
});
