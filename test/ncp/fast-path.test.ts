// The predictor's fast training path (mlp_predictor_fast.cc, fused_adam.h) against its references: every
// parameter's gradient and the BatchNorm running stats against autograd's for one batch, the fused
// Adam/AdamW step against torch's classes, and the autograd path (--exact) still reproducing the original
// Python run (ncp.md §7.1: best epoch 187, best mIoU L1 0.75226, τ 0.7628 on seg).
import * as path from 'node:path';
import { tensor } from '../../src/core/tensor';
import { loadNcpConfig } from '../../src/methods/ncp/config';
import { predictorOptions } from '../../src/methods/ncp/predictor';
import { trainNcpPredictor } from '../../src/methods/ncp/train';
import { native, PACKAGE_ROOT } from '../../src/native';

const SEG = path.join(PACKAGE_ROOT, 'configs', 'ncp', 'seg.yaml');

/** Deterministic pseudo-normal numbers (sum of uniforms from an LCG), so the batch is fixed. */
function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = u() + u() + u() + u() - 2;
  return out;
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('fast path gradients equal autograd (one train-mode batch, every parameter)', () => {
  const config = loadNcpConfig(SEG);
  test.each([
    ['swish', 'smoothl1', 128],
    ['swish', 'smoothl1', 85], // the epoch's last, short batch
    ['swish', 'mse', 128],
    ['relu', 'l1', 128],
    ['tanh', 'smoothl1', 64],
    ['relu6', 'mse', 64],
  ] as const)('%s activation, %s loss, batch %i', async (activation, loss, n) => {
    const predictor = new (native().NcpPredictor)({ ...predictorOptions(config, 27, 233, 'cpu'), activation });
    // Targets of a few units so SmoothL1 sees both of its branches.
    const x = tensor(randn(n * 27, 1), [n, 27]);
    const y = tensor(randn(n * 5, 2).map((v) => 1.5 * v), [n, 5]);
    try {
      const r = await predictor.gradientCheck(x, y, loss);
      expect(r.names).toHaveLength(24); // (BN, Linear, BN) trunk + 3 × (Linear, BN, Linear) heads, weight and bias each
      expect(r.fastLoss).toBeGreaterThan(0);
      expect(Math.abs(r.fastLoss - r.autogradLoss)).toBeLessThanOrEqual(1e-6 * r.autogradLoss);
      let weights = 0;
      r.names.forEach((name, i) => {
        const scale = maxAbs(r.autograd[i]);
        // Linear biases in front of a BatchNorm get a zero gradient up to rounding: compare those absolutely.
        const tolerance = 2e-4 * scale + 2e-6;
        if (maxDiff(r.fast[i], r.autograd[i]) > tolerance) throw new Error(`${name}: fast and autograd gradients differ by ${maxDiff(r.fast[i], r.autograd[i])} (scale ${scale})`);
        if (name.endsWith('weight')) {
          expect(scale).toBeGreaterThan(1e-4); // a real gradient, not two zero arrays
          weights++;
        }
      });
      expect(weights).toBe(12);
      // Running statistics and num_batches_tracked move as PyTorch moves them.
      for (const [name, b] of Object.entries(r.buffers)) {
        if (maxDiff(b.fast, b.autograd) > 1e-5 * Math.max(1, maxAbs(b.autograd))) throw new Error(`buffer ${name} differs`);
      }
      expect(r.buffers['input_norm.num_batches_tracked'].fast[0]).toBe(1);
      // The dropout masks are drawn from the generator exactly as forward() draws them.
      expect(r.sameGeneratorState).toBe(true);
      // The per-epoch validation's eval forward equals the module's.
      expect(r.evalFast).toHaveLength(n * 5);
      expect(maxAbs(r.evalModule)).toBeGreaterThan(1e-3);
      expect(maxDiff(r.evalFast, r.evalModule)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(r.evalModule)));
    } finally {
      x.dispose();
      y.dispose();
      predictor.dispose();
    }
  });
});

describe('fused Adam/AdamW: the same steps as torch::optim::Adam/AdamW', () => {
  test.each(['adam', 'adamw'] as const)('%s, 5 steps with lr and β1 changing every step', (optimizer) => {
    const r = native().fusedAdamCheck({ optimizer, size: 4096, steps: 5, lr: 1e-2, beta1: 0.95, weightDecay: 0.05, seed: 3 });
    expect(maxDiff(r.reference, r.initial)).toBeGreaterThan(1e-2); // the steps moved the parameters
    expect(maxDiff(r.fused, r.reference)).toBeLessThanOrEqual(1e-6);
  });
});

describe('--exact (autograd, torch Adam) still reproduces the original Python run', () => {
  test('seg, 200 epochs: best epoch 187, best mIoU L1 0.75226, Kendall τ 0.7628', async () => {
    const r = await trainNcpPredictor(loadNcpConfig(SEG), { exactLinear: true, threads: 1 });
    expect(r.fastPath).toBe(false);
    expect(r.bestEpoch).toBe(187);
    expect(r.metrics.mIoU.best.l1).toBeCloseTo(0.75226, 5);
    expect(r.metrics.mIoU.best.kendallTau).toBeCloseTo(0.7628, 4);
  }, 120_000);
});
