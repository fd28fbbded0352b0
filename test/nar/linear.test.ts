import { native } from '../../src/native';
import { maxRelDiff } from './ranker-helpers';

// The ranker's Linear layers on native/core/ops/gemm.h (oneDNN's sgemm where the LibTorch in use ships it)
// against ATen's linear on the same seeded inputs: output and the gradients of x, w and b must agree to float
// rounding, for the ranker's shapes (token rows × d_model 128 ↔ d_inner 512, heads' flat inputs), odd sizes,
// no bias, and empty inputs. TORCHNAS_KERNELS=sgemm=aten must give ATen's result to the bit.

describe('ranker linear (ops/gemm.h)', () => {
  afterEach(() => native().kernelChoices({ force: '' }));

  const cases = [
    { name: 'projection 128 → 128 over 31-token rows', rows: 31 * 40, in: 128, out: 128, bias: false },
    { name: 'FFN 128 → 512 with bias', rows: 31 * 24, in: 128, out: 512, bias: true },
    { name: 'FFN 512 → 128 with bias', rows: 31 * 24, in: 512, out: 128, bias: true },
    { name: 'score head 3968 → 256', rows: 16, in: 31 * 128, out: 256, bias: true },
    { name: 'one output (score_fc2)', rows: 9, in: 64, out: 1, bias: true },
    { name: 'odd sizes', rows: 13, in: 7, out: 5, bias: true },
    { name: 'no inputs (in = 0): the bias alone', rows: 4, in: 0, out: 3, bias: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = native().narLinear({ ...c, seed: 5 });
      const keys = ['output', 'dx', 'dw', ...(c.bias ? ['db'] : [])] as const;
      for (const key of keys) {
        const fast = r.fast[key as keyof typeof r.fast];
        const aten = r.aten[key as keyof typeof r.aten];
        expect(fast).toBeDefined();
        if (key !== 'dx' && key !== 'dw') expect(fast!.length).toBeGreaterThan(0);
        const rel = maxRelDiff(fast!, aten!);
        if (!(rel < 2e-5)) throw new Error(`${key}: relative difference ${rel} (backend ${r.backend})`);
      }
      if (!c.bias) expect(r.fast.db).toBeUndefined();
    });
  }

  test('empty input: zero rows give empty outputs and a zero weight gradient', () => {
    const r = native().narLinear({ rows: 0, in: 8, out: 3, bias: true, seed: 1 });
    expect(r.fast.output.length).toBe(0);
    expect(r.fast.dx!.length).toBe(0);
    expect(Array.from(r.fast.dw!)).toEqual(new Array(24).fill(0));
    expect(Array.from(r.fast.db!)).toEqual([0, 0, 0]);
  });

  test('the backend is reported, and sgemm=aten forces ATen bit for bit', () => {
    const before = native().narLinear({ rows: 64, in: 32, out: 16, bias: true, seed: 3 });
    expect(['onednn', 'aten']).toContain(before.backend);
    expect(native().info().sgemm).toBe(before.backend);
    native().kernelChoices({ force: 'sgemm=aten' });
    const r = native().narLinear({ rows: 64, in: 32, out: 16, bias: true, seed: 3 });
    expect(r.backend).toBe('aten');
    expect(native().info().sgemm).toBe('aten');
    for (const key of ['output', 'dx', 'dw', 'db'] as const) expect(Array.from(r.fast[key]!)).toEqual(Array.from(r.aten[key]!));
  });
});
