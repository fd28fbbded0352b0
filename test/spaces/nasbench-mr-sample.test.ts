import { TorchnasError } from '../../src/core/errors';
import { Random } from '../../src/core/random';
import {
  codeToEmbedding,
  EMBEDDING_FIELDS,
  embeddingProblems,
  LARGE_SPACE,
  makeDivisibleNcp,
  NasBenchMrSpace,
  NCP_SPACE,
  roundEmbedding,
  sampleCodes,
  sampleEmbedding,
  SMALL_SPACE,
  spaceSize,
  checkSpace,
} from '../../src/spaces/nasbench-mr';

describe('seeded sampling', () => {
  test('the same seed gives the same codes; another seed other codes', () => {
    const a = sampleCodes(50, { seed: 7 });
    expect(sampleCodes(50, { seed: 7 })).toEqual(a);
    const b = sampleCodes(50, { seed: 8 });
    expect(b.filter((c) => a.includes(c))).toHaveLength(0);
    expect(new Set(a).size).toBe(50);
  });

  test.each([NCP_SPACE, LARGE_SPACE, SMALL_SPACE])('$name space: 2000 samples are valid in it and take every allowed value', (space) => {
    const codes = sampleCodes(2000, { seed: 11, space });
    const embeddings = codes.map((c) => codeToEmbedding(c, space));
    expect(embeddings.filter((e) => embeddingProblems(e, space).length === 0)).toHaveLength(2000);
    for (const f of EMBEDDING_FIELDS) {
      const seen = new Set(embeddings.map((e) => e[f.index]));
      const range = f.kind === 'count' ? { ...space.counts, step: 1 } : f.role === 'stem' ? space.stemChannels : space.channels;
      const step = range.step;
      expect(seen.size).toBe((range.max - Math.ceil(range.min / step) * step) / step + 1);
      expect(Math.min(...seen)).toBe(Math.ceil(range.min / step) * step);
      expect(Math.max(...seen)).toBe(range.max);
    }
  });

  test('a custom space', () => {
    const space: NasBenchMrSpace = { name: 'tiny', stemChannels: { min: 24, max: 24, step: 8 }, channels: { min: 8, max: 16, step: 8 }, counts: { min: 1, max: 1 } };
    expect(spaceSize(space)).toBe(2 ** 11);
    const codes = sampleCodes(2 ** 11, { seed: 3, space });
    expect(new Set(codes).size).toBe(2048);
    expect(codes.every((c) => c.startsWith('24_24-1_1_1_'))).toBe(true);
    expect(() => sampleCodes(2049, { seed: 3, space })).toThrow(/cannot draw 2049 distinct codes from the tiny space of 2048 networks/);
    expect(sampleCodes(3000, { seed: 3, space, unique: false })).toHaveLength(3000);
  });

  test('sampleEmbedding draws from the given stream', () => {
    const r1 = new Random(99);
    const r2 = new Random(99);
    expect(sampleEmbedding(r1, SMALL_SPACE)).toEqual(sampleEmbedding(r2, SMALL_SPACE));
    expect(sampleEmbedding(r1, SMALL_SPACE)).not.toEqual(sampleEmbedding(new Random(100), SMALL_SPACE));
  });

  test('space sizes (§1.3)', () => {
    expect(spaceSize(SMALL_SPACE)).toBe(4 ** 2 * 8 ** 11 * 2 ** 14);
    expect(spaceSize(LARGE_SPACE)).toBe(4 ** 2 * 8 ** 11 * 4 ** 14);
    expect(spaceSize(NCP_SPACE)).toBe(16 ** 13 * 4 ** 14);
  });

  test('unusable bounds are INVALID_ARGUMENT', () => {
    const bad = (s: Partial<NasBenchMrSpace>): NasBenchMrSpace => ({ ...NCP_SPACE, name: 'bad', ...s });
    expect(() => checkSpace(bad({ channels: { min: 9, max: 15, step: 8 } }))).toThrow(/channels has no multiple of 8 in 9\.\.15/);
    expect(() => checkSpace(bad({ counts: { min: 0, max: 2 } }))).toThrow(/counts must be integers with 1 <= min <= max/);
    expect(() => sampleCodes(-1, { seed: 1 })).toThrow(TorchnasError);
  });
});

describe('NCP rounding (ncp.md §5.4 step 6)', () => {
  test.each([
    [11.9, 8, 8],
    [12, 8, 16], // tie goes up
    [19.99, 8, 16],
    [3, 8, 8], // never below the divisor
    [-5, 8, 8],
    [67.99, 8, 64],
    [68, 8, 72],
    [132, 8, 136], // no upper clamp here: NCP clamps before it rounds
    [2.5, 1, 3],
    [2.49, 1, 2],
    [0.2, 1, 1],
    // float32: 11.9999999 is 12 in float32, so it rounds up like the original; float64 arithmetic would give 8.
    [11.9999999, 8, 16],
    [1.49999999, 1, 2],
  ])('makeDivisibleNcp(%p, %p) = %p', (value, divisor, expected) => {
    expect(makeDivisibleNcp(value, divisor)).toBe(expected);
  });

  test('every list code moved by less than half a step rounds back to itself', () => {
    const random = new Random(5);
    const codes = sampleCodes(500, { seed: 21 });
    for (const code of codes) {
      const e = codeToEmbedding(code);
      const noisy = EMBEDDING_FIELDS.map((f) => e[f.index] + (random.next() * 2 - 1) * (f.kind === 'channel' ? 3.99 : 0.499));
      expect(roundEmbedding(noisy)).toEqual(e);
    }
  });

  test('the NCP start code (all 64 / all 2) is a fixed point and half-way values go up', () => {
    const start = codeToEmbedding('64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64');
    expect(roundEmbedding(start)).toEqual(start);
    const half = EMBEDDING_FIELDS.map((f) => (f.kind === 'channel' ? 60 : 1.5));
    expect(roundEmbedding(half)).toEqual(EMBEDDING_FIELDS.map((f) => (f.kind === 'channel' ? 64 : 2)));
  });

  test('wrong length and non-finite values are INVALID_ARGUMENT', () => {
    expect(() => roundEmbedding(new Array(26).fill(8))).toThrow(/continuous code has 26 values, expected 27/);
    const v = new Array(27).fill(8);
    v[26] = NaN;
    expect(() => roundEmbedding(v)).toThrow(/last channel is NaN/);
  });
});
