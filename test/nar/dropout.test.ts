import { native } from '../../src/native';

// The ranker's training dropout (native/core/ops/dropout.h): a mask hashed from (index, key drawn from the
// run's generator); kept values scaled by 1/(1 − p), the gradient masked the same way.
describe('hashed dropout', () => {
  const n = 1 << 20;
  const values = Float32Array.from({ length: n }, (_, i) => ((i % 997) - 498) / 37);

  test('keeps each element with probability 1 − p, scales kept values by 1/(1 − p), and its gradient is the same mask', () => {
    for (const p of [0.1, 0.5]) {
      const { output, gradient } = native().narDropout(values, p, 7);
      const scale = Math.fround(1 / Math.fround(1 - p));
      let kept = 0;
      let wrong = 0;
      for (let i = 0; i < n; i++) {
        const keep = gradient[i] !== 0;
        if (keep) kept++;
        if (keep ? gradient[i] !== scale || output[i] !== Math.fround(values[i] * scale) : output[i] !== 0) wrong++;
      }
      expect(wrong).toBe(0);
      // Within 5 standard errors of the expected count.
      const se = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(kept - n * (1 - p))).toBeLessThan(5 * se);
    }
  });

  test('no structure: neighbouring elements and the two halves of the vector are kept independently', () => {
    const { gradient } = native().narDropout(values, 0.5, 11);
    let both = 0;
    let firstHalf = 0;
    for (let i = 0; i + 1 < n; i++) if (gradient[i] !== 0 && gradient[i + 1] !== 0) both++;
    for (let i = 0; i < n / 2; i++) if (gradient[i] !== 0) firstHalf++;
    expect(Math.abs(both - (n - 1) / 4)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
    expect(Math.abs(firstHalf - n / 4)).toBeLessThan(5 * Math.sqrt((n / 2) * 0.25));
  });

  test('the same seed gives the same mask on 1 and 2 threads; another seed gives an unrelated one', () => {
    const a = native().narDropout(values, 0.1, 3, 1);
    const b = native().narDropout(values, 0.1, 3, 2);
    expect(Buffer.from(b.output.buffer).equals(Buffer.from(a.output.buffer))).toBe(true);
    const c = native().narDropout(values, 0.1, 4, 1);
    let agree = 0;
    for (let i = 0; i < n; i++) if ((a.gradient[i] !== 0) === (c.gradient[i] !== 0)) agree++;
    // Independent masks agree where both keep or both drop: 0.9² + 0.1² = 0.82 of the elements.
    expect(Math.abs(agree / n - 0.82)).toBeLessThan(0.005);
  });

  test('the path of other devices and dtypes (CUDA; float64 here) drops exactly the elements the float32 CPU kernel drops', () => {
    const a = native().narDropout(values, 0.25, 9, 1);
    const b = native().narDropout(values, 0.25, 9, 1, true);
    expect(Buffer.from(b.output.buffer).equals(Buffer.from(a.output.buffer))).toBe(true);
    expect(Buffer.from(b.gradient.buffer).equals(Buffer.from(a.gradient.buffer))).toBe(true);
    expect(Buffer.from(native().narDropout(values, 0.25, 10, 1, true).output.buffer).equals(Buffer.from(a.output.buffer))).toBe(false);
  });

  test('p outside [0, 1) is a clear error', () => {
    expect(() => native().narDropout([1, 2], 1, 0)).toThrow(/p must be in \[0, 1\)/);
    expect(() => native().narDropout([1, 2], -0.1, 0)).toThrow(/p must be in \[0, 1\)/);
  });
});
