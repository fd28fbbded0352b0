import { TorchnasError } from '../../src/core/errors';
import { Random } from '../../src/core/random';
import { averageRanks, denseRank, kendallTau, numpyRound, pythonRound, roundTo, spearman } from '../../src/core/stats';

// Expected values computed with scipy 1.17 (kendalltau, spearmanr), CPython 3.11 round() and numpy 1.24
// (round() on np.float64); the numbers are embedded, nothing is run at test time.

const SETS: Record<string, [number[], number[]]> = {
  noTies: [[1, 2, 3, 4, 5], [3, 1, 2, 5, 4]],
  ties: [[1, 2, 2, 3, 4, 4, 4, 5], [2, 1, 3, 3, 5, 4, 4, 6]],
  jointTies: [[0.5, 0.5, 0.5, 1, 1, 2, 3, 3], [9, 9, 8, 7, 7, 7, 1, 2]],
  modular: [
    Array.from({ length: 200 }, (_, i) => (i * 37) % 11),
    Array.from({ length: 200 }, (_, i) => (i * i * 13) % 7),
  ],
  infinities: [[-Infinity, 1, 2, Infinity, 2], [1, 2, 2, 3, Infinity]],
  reversed: [[1, 2, 3, 4], [4, 3, 2, 1]],
};

/** Independent O(n²) tau-b from the textbook definition. */
function bruteTauB(x: number[], y: number[]): number {
  let concordant = 0;
  let discordant = 0;
  let onlyX = 0;
  let onlyY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const s = Math.sign(x[i] - x[j]) * Math.sign(y[i] - y[j]);
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
      else if (x[i] === x[j] && y[i] !== y[j]) onlyX++;
      else if (y[i] === y[j] && x[i] !== x[j]) onlyY++;
    }
  }
  return (concordant - discordant) / Math.sqrt((concordant + discordant + onlyX) * (concordant + discordant + onlyY));
}

describe('kendallTau', () => {
  test.each([
    ['noTies', 0.39999999999999997], // 4/10, by hand: 3 discordant of 10 pairs; scipy's two divisions
    ['ties', 0.8406728074767076],
    ['jointTies', -0.8938193572966862],
    ['modular', 0.01076357406529978],
    ['infinities', 0.6666666666666666],
    ['reversed', -1],
  ])('%s matches scipy.stats.kendalltau bit for bit', (name, expected) => {
    const [x, y] = SETS[name];
    expect(kendallTau(x, y)).toBe(expected);
  });

  test('agrees with an O(n²) tau-b on random data with many ties', () => {
    const random = new Random(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = random.int(2, 120);
      const x = Array.from({ length: n }, () => random.int(0, 6));
      const y = Array.from({ length: n }, () => random.int(0, 4) / 2);
      const expected = bruteTauB(x, y);
      if (Number.isNaN(expected)) expect(kendallTau(x, y)).toBeNaN();
      else expect(kendallTau(x, y)).toBeCloseTo(expected, 12);
    }
  });

  test('NaN for constant input, NaN values and fewer than two points; throws on length mismatch', () => {
    expect(kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(kendallTau([1, NaN, 3], [1, 2, 3])).toBeNaN();
    expect(kendallTau([1], [2])).toBeNaN();
    expect(() => kendallTau([1, 2], [1, 2, 3])).toThrow('kendallTau: x and y must have the same length, got 2 and 3');
  });
});

describe('spearman', () => {
  test.each([
    ['noTies', 0.6],
    ['ties', 0.9256265453136692],
    ['jointTies', -0.9554333937093655],
    ['modular', 0.013790606461908014],
    ['infinities', 0.7631578947368421],
    ['reversed', -1],
  ])('%s matches scipy.stats.spearmanr', (name, expected) => {
    const [x, y] = SETS[name];
    expect(spearman(x, y)).toBeCloseTo(expected, 14);
  });

  test('average ranks for ties and NaN for constant input', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4]);
    expect(spearman([2, 2, 2], [1, 2, 3])).toBeNaN();
  });
});

describe('pythonRound', () => {
  // [x, ndigits, Python round(x, ndigits)]
  test.each([
    [2.675, 2, 2.67], // stored as 2.67499999…
    [0.125, 2, 0.12], // exact tie → even
    [0.375, 2, 0.38], // exact tie → even
    [1.0005, 3, 1.0], // stored below the half
    [0.0005, 3, 0.001], // stored above the half (numpy gives 0)
    [-0.0005, 3, -0.001],
    [0.1235, 3, 0.123],
    [1.2345, 3, 1.234],
    [2.345, 2, 2.35],
    [0.285, 2, 0.28],
    [1.015, 2, 1.01],
    [0.045, 2, 0.04],
    [4.35, 1, 4.3],
    [8.325, 2, 8.32],
    [0.3449999999999999, 3, 0.345],
    [0.30000000000000004, 1, 0.3],
    [2.5, 0, 2],
    [3.5, 0, 4],
    [-2.5, 0, -2],
    [0.5, 0, 0],
    [1.5, 0, 2],
    [123456.789, -2, 123500],
    [1250, -2, 1200],
    [1350, -2, 1400],
    [5e-324, 3, 0],
    [1e300, 3, 1e300],
    [1.7976931348623157e308, 2, 1.7976931348623157e308],
    [12345.6789, 10, 12345.6789],
    [0.1, 20, 0.1],
    [9.313225746154785e-10, 12, 9.31e-10],
  ])('round(%p, %p) == %p', (x, ndigits, expected) => {
    expect(pythonRound(x, ndigits)).toBe(expected);
  });

  test('differs from Math.round(x * 1000) / 1000 where Python does', () => {
    expect(Math.round(1.0005 * 1000) / 1000).toBe(1.001);
    expect(pythonRound(1.0005, 3)).toBe(1);
    expect(Math.round(0.125 * 100) / 100).toBe(0.13);
    expect(pythonRound(0.125, 2)).toBe(0.12);
  });

  test('keeps signed zero, passes NaN/∞ through, rejects non-integer digits and overflow', () => {
    expect(Object.is(pythonRound(-0.0001, 3), -0)).toBe(true);
    expect(Object.is(pythonRound(-0, 3), -0)).toBe(true);
    expect(pythonRound(NaN, 3)).toBeNaN();
    expect(pythonRound(Infinity, 3)).toBe(Infinity);
    expect(() => pythonRound(1.5, 0.5)).toThrow(TorchnasError);
    expect(() => pythonRound(1.7976931348623157e308, -308)).toThrow('too large to represent');
  });
});

describe('numpyRound', () => {
  // [x, decimals, round(np.float64(x), decimals)]
  test.each([
    [2.675, 2, 2.68],
    [0.0005, 3, 0],
    [0.1235, 3, 0.124],
    [4.35, 1, 4.4],
    [0.125, 2, 0.12],
    [1.0005, 3, 1],
    [1350, -2, 1400],
    [1250, -2, 1200],
  ])('np.round(%p, %p) == %p', (x, decimals, expected) => {
    expect(numpyRound(x, decimals)).toBe(expected);
  });

  test('signed zero and overflow to ∞ like numpy', () => {
    expect(Object.is(numpyRound(-0.0005, 3), -0)).toBe(true);
    expect(numpyRound(1.7976931348623157e308, 2)).toBe(Infinity);
  });
});

describe('roundTo (TE-NAS round_to)', () => {
  // [x, round_to(np.float64(x), 3) (faithful), round_to(float(x), 3)]
  test.each([
    [0.3333333, 0.333, 0.333],
    [-0.0123456, -0.0123, -0.0123],
    [12.3456, 12.3, 12.3],
    [1.0, 1.0, 1.0],
    [-1.0, -1.0, -1.0],
    [0.9995, 1.0, 1.0],
    [0.000123449, 0.000123, 0.000123],
    [99.95, 100.0, 100.0],
    [1234.5678, 1230.0, 1230.0],
    [0.12349999, 0.124, 0.123],
    [-0.12349999, -0.124, -0.123],
    [0.44449999, 0.444, 0.445],
    [0.26749999, 0.268, 0.268],
    [0.0005004899999999999, 0.0005, 0.0005],
  ])('round_to(%p, 3): numpy rule %p, python rule %p', (x, numpyRule, pythonRule) => {
    expect(roundTo(x, 3)).toBe(numpyRule);
    expect(roundTo(x, 3, 'python')).toBe(pythonRule);
  });

  test('0 stays 0 and NaN/∞ are rejected (the original crashes)', () => {
    expect(roundTo(0, 3)).toBe(0);
    expect(Object.is(roundTo(-0, 3), -0)).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => roundTo(bad, 3)).toThrow(/roundTo: cannot round/);
    }
  });
});

describe('denseRank (TE-NAS ranking)', () => {
  // Expected from the original's sort-then-compare loop run in Python on np.float64 means.
  const values = [0.1234, 0.12349999, 0.5, 0.1234, -0.2, 0.12341, 0.5];

  test('descending (NTK): stable sort on rounded keys, shared rank only for equal raw neighbours', () => {
    expect(denseRank(values, { descending: true })).toEqual({ order: [2, 6, 1, 0, 3, 5, 4], ranks: [2, 1, 0, 2, 4, 3, 0] });
  });

  test('ascending (linear regions)', () => {
    expect(denseRank(values, { descending: false })).toEqual({ order: [4, 0, 3, 5, 1, 2, 6], ranks: [1, 3, 4, 1, 0, 2, 4] });
  });

  test('equal raw values that are not neighbours after sorting get different ranks (as in the original)', () => {
    expect(denseRank([0.1234, 0.12341, 0.1234], { descending: true }).ranks).toEqual([0, 1, 2]);
  });

  test('signed zeros compare equal; the rounding rule changes the order', () => {
    expect(denseRank([0, -0, 1e-9, -0.001, 0], { descending: false })).toEqual({ order: [3, 0, 1, 4, 2], ranks: [1, 1, 2, 0, 1] });
    // With Python's rule 0.12349999 rounds to 0.123 and stays behind 0.1234 in input order.
    expect(denseRank(values, { descending: true, rule: 'python' }).order).toEqual([2, 6, 0, 1, 3, 5, 4]);
    expect(denseRank(values, { descending: true, precision: null }).order).toEqual([2, 6, 1, 5, 0, 3, 4]);
  });

  test('rejects non-finite scores', () => {
    expect(() => denseRank([0.1, NaN], { descending: true })).toThrow('denseRank: value 1 is NaN; scores must be finite');
  });
});
