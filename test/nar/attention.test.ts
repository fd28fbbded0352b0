import { native } from '../../src/native';
import { maxRelDiff } from './ranker-helpers';

// The ranker's fused attention kernel (native/core/ops/attention.h) against ATen's composition of the same
// mathematics — softmax((q / √d) kᵀ) → hashed dropout → · v — on the same inputs and dropout generator: output
// and the gradients of q, k and v must agree to float rounding, for broadcast (Bq = 1) and batched queries,
// several query groups, key counts that are not multiples of 8 and every supported head width.

describe('fused attention', () => {
  const cases = [
    { name: 'NB201 decoder cross-attention (5 tiers, broadcast query)', g: 5, bq: 1, lq: 31, b: 6, lk: 31, heads: 4, d: 32 },
    { name: 'NB201 self-attention', g: 1, bq: 7, lq: 31, b: 7, lk: 31, heads: 4, d: 32 },
    { name: 'NB101 shapes (19 tokens, heads of 64)', g: 2, bq: 3, lq: 19, b: 3, lk: 19, heads: 4, d: 64 },
    { name: 'odd sizes: one key, heads of 16, more queries than keys', g: 3, bq: 1, lq: 9, b: 2, lk: 1, heads: 2, d: 16 },
    { name: '32 keys, queries not a multiple of the row block', g: 1, bq: 2, lq: 5, b: 2, lk: 32, heads: 1, d: 32 },
  ];
  for (const c of cases) {
    for (const p of [0, 0.1]) {
      test(`${c.name}, dropout ${p}`, () => {
        const r = native().narAttention({ ...c, p, seed: 17 });
        for (const key of ['output', 'dq', 'dk', 'dv'] as const) {
          expect(r.fused[key].length).toBeGreaterThan(0);
          const rel = maxRelDiff(r.fused[key], r.aten[key]);
          if (!(rel < 2e-5)) throw new Error(`${key}: relative difference ${rel}`);
        }
        if (p > 0) {
          // Dropout really applies: the output differs from the no-dropout output of the same inputs.
          const plain = native().narAttention({ ...c, p: 0, seed: 17 });
          expect(maxRelDiff(r.fused.output, plain.fused.output)).toBeGreaterThan(1e-3);
        }
      });
    }
  }

  test('shapes outside the kernels are a clear error from the hook (the ranker falls back to ATen for them)', () => {
    expect(() => native().narAttention({ g: 1, bq: 1, lq: 4, b: 1, lk: 33, heads: 1, d: 32, p: 0, seed: 1 })).toThrow(/at most 32 keys/);
    expect(() => native().narAttention({ g: 1, bq: 1, lq: 4, b: 1, lk: 8, heads: 2, d: 24, p: 0, seed: 1 })).toThrow(/head widths 16, 32 or 64/);
  });
});
