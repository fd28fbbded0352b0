import { Random } from '../../src/core/random';
import {
  batchTierStatistics,
  countsHistogram,
  narCostUnits,
  narKlDivergence,
  narSamplerConfig,
  NarValueSampler,
  NAR_NB201_SAMPLER,
  selectTierDistribution,
} from '../../src/methods/nar/distribution';
import type { NarSearchBenchmark } from '../../src/methods/nar/search-benchmark';

/** A hand-made NB201-like benchmark: only what the statistics read. */
function fakeBenchmark(flops: number[], params: number[], edges: number[][]): NarSearchBenchmark {
  const n = flops.length;
  return {
    space: 'nb201',
    size: n,
    ids: Int32Array.from({ length: n }, (_, i) => 100 + i),
    flops: Float64Array.from(flops),
    params: Float64Array.from(params),
    valAcc: new Float64Array(n),
    testAcc: new Float64Array(n),
    rank: Int32Array.from({ length: n }, (_, i) => i + 1),
    edges: Uint8Array.from(edges.flat()),
    featureLength: 496,
    writeFeatures: () => undefined,
    describe: (p) => String(p),
    positionOfId: (id) => (id >= 100 && id < 100 + n ? id - 100 : undefined),
  };
}

describe('NAR tier histograms (nar.md §4.6, §5 prob_calculate)', () => {
  test('costs in units: ceil in float32 (a 50,000,001-parameter net is 50,000 thousand, as float32 rounds it)', () => {
    expect(narCostUnits(136456, 1e3)).toBe(137);
    expect(narCostUnits(136000, 1e3)).toBe(136);
    expect(narCostUnits(4086272, 1e6)).toBe(5);
    expect(narCostUnits(50000001, 1e3)).toBe(50000);
  });

  test('equal-width bins with step = ceil((max−min)/bins), keys = upper edges in raw units, minimum in the first bin', () => {
    // units 1 3 9 5 7: min 1, max 9, 5 bins → step ceil(8/5) = 2, upper edges 3 5 7 9 11 (the last beyond max)
    const h = countsHistogram([1, 3, 9, 5, 7], 1, 9, 5, 1e6);
    expect(h.keys).toEqual([3e6, 5e6, 7e6, 9e6, 11e6]);
    // 1 (= min) → first bin; 3 → ceil(2/2) = 1; 5 → 2; 7 → 3; 9 → 4; bin 5 stays empty
    expect(h.counts).toEqual([2, 1, 1, 1, 0]);
    // a subset of the batch (one tier) uses the batch's edges
    expect(countsHistogram([9], 1, 9, 5, 1e6)).toEqual({ keys: [3e6, 5e6, 7e6, 9e6, 11e6], counts: [0, 0, 0, 1, 0] });
    // max = min: the original divides by zero; here step 1 and everything in the first bin
    expect(countsHistogram([4, 4], 4, 4, 3, 1e3)).toEqual({ keys: [5000, 6000, 7000], counts: [2, 0, 0] });
    expect(() => countsHistogram([12], 1, 9, 5)).toThrow(/outside the batch range/);
  });

  test('per-tier statistics of a hand-made batch', () => {
    // params 100000 101000 125000 150001 175000 200000 → units 100 101 125 151 175 200, step ceil(100/5) = 20
    const params = [100000, 101000, 125000, 150001, 175000, 200000];
    const flops = [1e6, 3e6, 9e6, 5e6, 7e6, 2.5e6]; // units 1 3 9 5 7 3
    const edges = [
      [0, 3, 2, 0, 1],
      [1, 1, 1, 1, 2],
      [0, 0, 0, 6, 0],
      [6, 0, 0, 0, 0],
      [0, 2, 2, 2, 0],
      [1, 1, 1, 1, 2],
    ];
    const bench = fakeBenchmark(flops, params, edges);
    const stats = batchTierStatistics({ indices: [100, 101, 102, 103, 104, 105], tiers: [0, 0, 1, 2, 4, 4] }, bench, { bins: 5 });
    const keysP = [120000, 140000, 160000, 180000, 200000];
    expect(stats.params.map((h) => h.keys)).toEqual([keysP, keysP, keysP, keysP, keysP]);
    expect(stats.params.map((h) => h.counts)).toEqual([
      [2, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 1, 1],
    ]);
    expect(stats.flops[0]).toEqual({ keys: [3e6, 5e6, 7e6, 9e6, 11e6], counts: [2, 0, 0, 0, 0] });
    expect(stats.flops[4].counts).toEqual([1, 0, 1, 0, 0]);
    expect(stats.edges!.map((h) => h.counts)).toEqual([
      [1, 4, 3, 1, 3],
      [0, 0, 0, 6, 0],
      [6, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [1, 3, 3, 3, 2],
    ]);
    expect(stats.edges![0].keys).toEqual([0, 1, 2, 3, 4]);
    expect(() => batchTierStatistics({ indices: [100, 7], tiers: [0, 0] }, bench, { bins: 5 })).toThrow(/index 7 \(entry 1\)/);
    expect(() => batchTierStatistics({ indices: [100], tiers: [5] }, bench, { bins: 5 })).toThrow(/tier 5/);
  });
});

describe('NAR KL test and distribution choice', () => {
  test('KL of softmax of counts divided by the bins, against closed forms', () => {
    // softmax over the same support: KL = Σ p_i (s_i − t_i) / n
    // top [3,1,0] vs low [0,1,3]: (3 p0 − 3 p2) / 3 = (e^3 − 1) / (e^3 + e + 1)
    expect(narKlDivergence([3, 1, 0], [0, 1, 3])).toBeCloseTo((Math.exp(3) - 1) / (Math.exp(3) + Math.E + 1), 12);
    expect(narKlDivergence([3, 1, 0], [0, 1, 3])).toBeCloseTo(0.8017846, 6); // PyTorch F.kl_div(batchmean) gives 0.80178457
    // top [5,0,0,0,0] vs low [0,0,0,0,5]: (e^5 − 1) / (e^5 + 4)
    expect(narKlDivergence([5, 0, 0, 0, 0], [0, 0, 0, 0, 5])).toBeCloseTo((Math.exp(5) - 1) / (Math.exp(5) + 4), 12);
    expect(narKlDivergence([20, 30, 14, 10, 6], [12, 40, 20, 10, 6])).toBeCloseTo(0.000154419, 7); // PyTorch (float32): 0.00015441909
    expect(narKlDivergence([3, 1, 0, 0, 1], [2, 1, 1, 0, 1])).toBeCloseTo(0.036898095, 7);
    expect(narKlDivergence([4, 4], [4, 4])).toBe(0);
  });

  const cfg = { topTier: 1, lastTier: 4, batchFactor: 0.1 };
  test('tier 1 is used when it holds enough of the batch and differs from tiers 4 and 5 by more than the threshold', () => {
    const tiers = [[5, 0, 0, 0, 0], [0, 5, 0, 0, 0], [0, 0, 5, 0, 0], [0, 0, 0, 0, 5], [0, 0, 0, 5, 0]];
    const c = selectTierDistribution(tiers.map((counts) => ({ keys: [1, 2, 3, 4, 5], counts })), 0.35, cfg);
    expect(c.reason).toBe('selected');
    expect(c.probabilities).toEqual([1, 0, 0, 0, 0]);
    expect(c.kl[3]).toBeCloseTo((Math.exp(5) - 1) / (Math.exp(5) + 4), 12);
    expect(Object.keys(c.kl).map(Number)).toEqual([3, 4]);
    // the same but the threshold above KL 0.967 → uniform
    expect(selectTierDistribution(tiers.map((counts) => ({ keys: [1, 2, 3, 4, 5], counts })), 1.0, cfg).probabilities).toBeNull();
  });

  test('uniform when a compared tier is close (KL below the threshold) or tier 1 is below batch_factor', () => {
    const h = (counts: number[]) => ({ keys: counts.map((_, i) => i), counts });
    const close = selectTierDistribution([h([3, 1, 0, 0, 1]), h([0, 0, 9, 0, 0]), h([0, 9, 0, 0, 0]), h([2, 1, 1, 0, 1]), h([0, 0, 0, 0, 9])], 0.35, cfg);
    expect(close.reason).toBe('kl-below-threshold'); // KL(tier1‖tier4) = 0.0369 < 0.35
    expect(close.probabilities).toBeNull();
    // tier 1 holds 2 of 42 < 10 %
    const few = selectTierDistribution([h([2, 0, 0]), h([0, 10, 0]), h([0, 0, 10]), h([10, 0, 0]), h([0, 10, 0])], 0.01, cfg);
    expect(few.reason).toBe('too-few');
    // 3 of 23 ≥ 10 %: selected, probabilities normalised counts
    const ok = selectTierDistribution([h([1, 2, 0]), h([0, 10, 0]), h([0, 0, 10]), h([0, 0, 0]), h([0, 0, 0])], 0.01, cfg);
    expect(ok.probabilities).toEqual([1 / 3, 2 / 3, 0]);
  });

  test('caps follow the selected distribution; uniform draws cover tier 1 keys evenly (seeded)', () => {
    const h = (counts: number[]) => ({ keys: [10, 20, 30, 40, 50], counts });
    const tiers = [h([4, 2, 2, 0, 0]), h([0, 0, 0, 4, 0]), h([0, 0, 0, 0, 4]), h([0, 0, 0, 0, 8]), h([0, 0, 0, 8, 0])];
    const sampler = new NarValueSampler(tiers, 0.35, { ...cfg, forceUniform: false }, new Random(7));
    expect(sampler.choice.reason).toBe('selected');
    const tally = new Map<number, number>();
    const draws = 20000;
    for (let i = 0; i < draws; i++) {
      const v = sampler.sample();
      tally.set(v, (tally.get(v) ?? 0) + 1);
    }
    expect([...tally.keys()].sort()).toEqual([10, 20, 30]); // zero-probability keys never drawn
    expect(tally.get(10)! / draws).toBeCloseTo(0.5, 1);
    expect(tally.get(20)! / draws).toBeCloseTo(0.25, 1);
    expect(Math.abs(tally.get(30)! / draws - 0.25)).toBeLessThan(0.02);
    const uniform = new NarValueSampler(tiers, 0.35, { ...cfg, forceUniform: true }, new Random(7));
    expect(uniform.choice.reason).toBe('forced-uniform');
    const u = new Map<number, number>();
    for (let i = 0; i < draws; i++) u.set(uniform.sample(), (u.get(uniform.sample()) ?? 0) + 1);
    for (const key of [10, 20, 30, 40, 50]) expect(Math.abs(u.get(key)! / draws - 0.2)).toBeLessThan(0.02);
    // seeded: the same stream twice
    const a = new NarValueSampler(tiers, 0.35, { ...cfg, forceUniform: false }, new Random(3));
    const b = new NarValueSampler(tiers, 0.35, { ...cfg, forceUniform: false }, new Random(3));
    expect(Array.from({ length: 50 }, () => a.sample())).toEqual(Array.from({ length: 50 }, () => b.sample()));
  });

  test('the original YAML sampler block loads, bad keys are named', () => {
    const c = narSamplerConfig({ top_tier: 1, last_tier: 4, batch_factor: 0.1, reuse_step: 25, max_trails: 100, noisy_factor: 0.5, flops_kl_thred: 0.35, params_kl_thred: 0.3, edges_kl_thred: 1.5, sample_size: 128, search_size: 128, force_uniform: true, is_checkpoint: true });
    expect(c).toEqual(NAR_NB201_SAMPLER);
    expect(() => narSamplerConfig({ reuse_stp: 3 })).toThrow(/unknown key 'reuse_stp'/);
    expect(() => narSamplerConfig({ force_uniform: 'yes' })).toThrow(/'force_uniform' must be true or false/);
    expect(() => narSamplerConfig({ search_size: 64 })).toThrow(/search_size/);
    expect(() => narSamplerConfig({ last_tier: 1 })).toThrow(/last_tier/);
  });
});

test('the package entry exposes the NAR search', async () => {
  const torchnas = await import('../../src');
  for (const name of ['runNarSearch', 'narSearchSvg', 'nb201SearchBenchmark', 'nb101SearchBenchmark', 'batchTierStatistics', 'selectTierDistribution', 'narSamplerConfig'] as const) {
    expect([name, typeof torchnas[name]]).toEqual([name, 'function']);
  }
  expect(torchnas.nb101.nb101CellHash).toBeInstanceOf(Function);
});
