/**
 * The TE-NAS indicators against independent computations: κ from a finite-difference Jacobian and a JS
 * eigen-solver, linear regions from a brute-force pairwise count, the disconnected-cell fallback.
 */
import { tensor } from '../../../src/core/tensor';
import { native } from '../../../src/native';
import { NativeNb201Network, singlePathAlpha } from '../../../src/methods/tenas/networks';
import { parseNb201String } from '../../../src/spaces/nb201';
import { Random } from '../../../src/core/random';

type Net = NativeNb201Network & {
  setParameter(name: string, value: unknown): void;
  signPatterns(inputs: unknown): Promise<{ toArray(): Uint8Array; shape: number[] }>;
};

function thin(ops: number[], options: { numClasses?: number; seed?: number } = {}): Net {
  const Ctor = (native() as unknown as { Nb201Network: new (o: Record<string, unknown>) => Net }).Nb201Network;
  const net = new Ctor({ channels: 1, cellsPerStage: 1, inChannels: 1, useStem: false, depth: 1, numClasses: options.numClasses ?? 3, seed: options.seed ?? 1, dtype: 'float64', ops });
  return net;
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations. */
function symmetricEigenvalues(m: number[][]): number[] {
  const a = m.map((r) => [...r]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]).sort((x, y) => x - y);
}

describe('NTK condition number', () => {
  const ops = parseNb201String('|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|');
  const random = new Random(7);
  const B = 5;
  const inputs = tensor(Float64Array.from({ length: B * 9 }, () => random.normal()), [B, 1, 3, 3]);

  test('κ equals the one from a finite-difference Jacobian over the "weight" parameters', async () => {
    const net = thin(ops);
    const summary = net.parameterSummary();
    const weightNames = summary.names.filter((n) => n.includes('weight'));
    const logitSums = async (): Promise<number[]> => {
      const out = (await net.forward(inputs)) as { toArray(): Float64Array; shape: number[] };
      const [b, c] = out.shape;
      const v = out.toArray();
      return Array.from({ length: b }, (_, i) => v.slice(i * c, (i + 1) * c).reduce((s, x) => s + x, 0));
    };
    const rows: number[][] = Array.from({ length: B }, () => []);
    const h = 1e-6;
    for (const name of weightNames) {
      const base = Float64Array.from(net.parameter(name).toArray() as Float32Array);
      for (let k = 0; k < base.length; k++) {
        const plus = Float64Array.from(base);
        plus[k] += h;
        net.setParameter(name, tensor(plus, [plus.length]));
        const fPlus = await logitSums();
        const minus = Float64Array.from(base);
        minus[k] -= h;
        net.setParameter(name, tensor(minus, [minus.length]));
        const fMinus = await logitSums();
        for (let i = 0; i < B; i++) rows[i].push((fPlus[i] - fMinus[i]) / (2 * h));
      }
      net.setParameter(name, tensor(base, [base.length]));
    }
    const theta = rows.map((ri) => rows.map((rj) => ri.reduce((s, v, k) => s + v * rj[k], 0)));
    const eig = symmetricEigenvalues(theta);
    const expected = eig[eig.length - 1] / eig[0];
    const r = await net.ntk(inputs);
    expect(r.columns).toBeGreaterThan(0);
    expect(r.kappa).toBeGreaterThan(1);
    expect(r.kappa / expected).toBeCloseTo(1, 5);
    expect(r.lambdaMax / eig[eig.length - 1]).toBeCloseTo(1, 5);
  });

  test('per_class_trace equals logit_sum for a single output class, and differs with several', async () => {
    const one = thin(ops, { numClasses: 1 });
    const a = await one.ntk(inputs, { mode: 'logit_sum' });
    const b = await one.ntk(inputs, { mode: 'per_class_trace' });
    expect(b.kappa).toBeCloseTo(a.kappa, 8);
    const three = thin(ops, { numClasses: 3 });
    const c = await three.ntk(inputs, { mode: 'logit_sum' });
    const d = await three.ntk(inputs, { mode: 'per_class_trace' });
    expect(Math.abs(d.kappa - c.kappa) / c.kappa).toBeGreaterThan(1e-3);
    const full = await three.ntk(inputs, { mode: 'full' });
    expect(full.columns).toBe(c.columns);
    expect(Number.isFinite(full.kappa)).toBe(true);
  });

  test('wide evaluation (copies side by side, grouped convs) and parallel workers give the same κ', async () => {
    const net = thin(ops);
    const plain = await net.ntk(inputs);
    for (const [copies, workers] of [[2, 1], [3, 2], [8, 1], [1, 2]]) {
      const r = await (net as unknown as { ntk(x: unknown, o: object): Promise<{ kappa: number; columns: number }> }).ntk(inputs, { copies, workers });
      expect(r.kappa).toBeCloseTo(plain.kappa, 8);
      expect(r.columns).toBe(plain.columns);
    }
  });

  test('a disconnected cell gives the 1e5 fallback and one linear region, not a crash', async () => {
    const disconnected = parseNb201String('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|none~2|');
    const net = thin(disconnected);
    const r = await net.ntk(inputs, { alpha: singlePathAlpha(disconnected) });
    expect(r.kappa).toBe(1e5);
    expect(r.fallback).toBe(true);
    expect((await net.linearRegions(inputs)).regions).toBe(1);
  });

  test('bad inputs are clean errors', async () => {
    const net = thin(ops);
    expect(() => thin(ops, { seed: -1 })).toThrow(/seed must be >= 0/);
    await expect(net.linearRegions(tensor(new Float64Array(0), [0, 1, 3, 3]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const running = net.ntk(inputs);
    expect(() => net.macs(32)).toThrow(/cannot count MACs while a job runs on this Nb201Network/);
    expect(() => net.setAlpha(singlePathAlpha(ops))).toThrow(/cannot change alpha while a job runs/);
    await running;
    expect(net.macs(32).macs).toBeGreaterThan(0);
    await expect(net.ntk(tensor(new Float64Array(9), [1, 1, 3, 3]))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(net.ntk(tensor(new Float64Array(2 * 27), [2, 3, 3, 3]))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect(() => net.ntk(inputs, { alpha: new Float32Array(29) })).toThrow(/30 numbers/);
    expect(() => net.ntk(inputs, { mode: 'trace' as never })).toThrow(/unknown NTK mode 'trace'/);
  });
});

describe('linear regions', () => {
  test('the hashed count equals a brute-force pairwise count of the sign patterns', async () => {
    // Few ReLUs so that patterns repeat (many would put every sample in its own region).
    const ops = parseNb201String('|nor_conv_1x1~0|+|skip_connect~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|');
    const random = new Random(3);
    const n = 1000;
    const x = tensor(Float64Array.from({ length: n * 9 }, () => random.normal()), [n, 1, 3, 3]);
    const net = thin(ops, { seed: 5 });
    const patterns = await net.signPatterns(x);
    const [rows, d] = patterns.shape;
    const bits = patterns.toArray();
    // The original's formula: R = Σ_i 1 / #{j : pattern_j == pattern_i}.
    let r = 0;
    for (let i = 0; i < rows; i++) {
      let same = 0;
      for (let j = 0; j < rows; j++) {
        let equal = true;
        for (let k = 0; k < d && equal; k++) equal = bits[i * d + k] === bits[j * d + k];
        if (equal) same++;
      }
      r += 1 / same;
    }
    const counted = await net.linearRegions(x, { batchSize: n });
    expect(counted.samples).toBe(n);
    expect(counted.features).toBe(d);
    expect(counted.regions).toBe(Math.round(r));
    expect(counted.regions).toBeGreaterThan(10);
    expect(counted.regions).toBeLessThan(n);
  });
});
