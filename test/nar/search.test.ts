import { Random } from '../../src/core/random';
import { buildNb201CellDataset, Nb201CellInfoRecord } from '../../src/benchmarks/nar-nb201-dataset';
import { batchTierStatistics, NarValueSampler, NAR_NB201_SAMPLER, selectTierDistribution } from '../../src/methods/nar/distribution';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { narSearchSvg, runNarSearch, sampleConstrained, writeNarSearchFiles, NarSearchResult } from '../../src/methods/nar/search';
import { nb201SearchBenchmark, NarSearchBenchmark } from '../../src/methods/nar/search-benchmark';
import type { NarBatchRecord, NarSearchRanker } from '../../src/methods/nar/types';
import { formatNb201String, NB201_EDGES, parseNb201String } from '../../src/spaces/nb201';
import { nb201EdgesTypeCounts, nb201RecordFeatureTensor } from '../../src/spaces/nar';

let records: Nb201CellInfoRecord[];
let bench: NarSearchBenchmark;
/** Brute-force global rank (1 = best ImageNet16 test accuracy), computed here independently of the search. */
let trueRank: Map<number, number>;
let byArch: Map<string, number>;
let batches: NarBatchRecord[];

const acc = (id: number) => records[id].imagenet16_test_acc as number;

beforeAll(async () => {
  records = await buildNb201CellDataset({ table: 'nb201' });
  bench = nb201SearchBenchmark(records, 'imagenet16');
  byArch = new Map(records.map((r, i) => [r.arch_str, i]));
  // rank = 1 + (archs with a higher accuracy) + (archs of equal accuracy and lower index): counted via a sort
  const byAcc = records.map((_, i) => i).sort((a, b) => acc(a) - acc(b));
  trueRank = new Map();
  let higher = records.length;
  for (let k = 0; k < byAcc.length; ) {
    let e = k;
    while (e < byAcc.length && acc(byAcc[e]) === acc(byAcc[k])) e++;
    higher -= e - k;
    byAcc.slice(k, e).sort((a, b) => a - b).forEach((id, t) => trueRank.set(id, 1 + higher + t));
    k = e;
  }
  // A training epoch as the ranker's training records it: 7 batches of 128 of a seeded 1000-arch training set,
  // true tiers = quintiles of the training set by validation accuracy (§4.3).
  const rng = new Random(77777777);
  const train = rng.shuffle(records.map((_, i) => i)).slice(0, 1000);
  const sorted = [...train].sort((a, b) => (records[b].imagenet16_val_acc as number) - (records[a].imagenet16_val_acc as number));
  const tierOf = new Map(sorted.map((id, r) => [id, Math.min(4, Math.floor(r / 200))]));
  rng.shuffle(train);
  batches = Array.from({ length: 7 }, (_, b) => {
    const indices = train.slice(b * 128, b * 128 + 128);
    return { indices, tiers: indices.map((id) => tierOf.get(id) as number) };
  });
}, 120000);

/** A fake ranker that reads each architecture back from its feature tensor's adjacency channel. */
class FakeRanker implements NarSearchRanker {
  readonly space = 'nb201' as const;
  readonly tiers = 5;
  resets = 0;
  calls: { ids: number[]; probs: Float32Array; scores: Float32Array }[] = [];
  private readonly rng: Random;
  constructor(private readonly mode: 'oracle' | 'random', seed = 1) {
    this.rng = new Random(seed);
  }
  resetSearchBuckets(): void {
    this.resets++;
  }
  async rankSearchBatch(features: Float32Array, n: number) {
    expect(features.length).toBe(n * 496);
    const probs = new Float32Array(n * 5);
    const scores = new Float32Array(n);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const adj = features.subarray(i * 496, i * 496 + 16);
      const id = byArch.get(formatNb201String(NB201_EDGES.map((e) => adj[e.from * 4 + e.to]))) as number;
      ids.push(id);
      if (this.mode === 'oracle') {
        scores[i] = acc(id);
        probs[i * 5 + Math.min(4, Math.floor(((trueRank.get(id) as number) - 1) / 3125))] = 1;
      } else {
        scores[i] = this.rng.next();
        for (let t = 0; t < 5; t++) probs[i * 5 + t] = this.rng.next();
      }
    }
    this.calls.push({ ids, probs, scores });
    return { tierProbs: probs, scores };
  }
}

function allPicks(result: NarSearchResult) {
  return result.perIteration.flatMap((r) => [...(r.top1 ? [r.top1] : []), ...r.topK.flatMap((t) => t.picks)]);
}

function withoutTimes(result: NarSearchResult): unknown {
  return JSON.parse(JSON.stringify(result, (k, v) => (k === 'seconds' || k === 'rankSeconds' ? undefined : v)));
}

describe('NAR search on the NB201 table (nar.md §5)', () => {
  let oracle: NarSearchResult;
  let oracleRanker: FakeRanker;

  test('an oracle ranker finds a top-10 architecture among its top-5 picks; ranks and accuracies are the table\'s', async () => {
    oracleRanker = new FakeRanker('oracle');
    const progress: number[] = [];
    oracle = await runNarSearch({ ranker: oracleRanker, benchmark: bench, batches, seed: 3, onProgress: (done) => progress.push(done) });
    expect(oracleRanker.resets).toBe(1);
    expect(oracleRanker.calls).toHaveLength(50);
    expect(oracleRanker.calls.every((c) => c.ids.length === 128)).toBe(true);
    expect(progress).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(oracle.statistics).toMatchObject({ batches: 7, reuse: 8 });
    expect([...oracle.statistics.order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // shipped config: force_uniform, 64 constrained + 64 random
    expect(oracle.perIteration.every((r) => r.constrained === 64 && r.noisy === 64 && r.distribution.flops === 'forced-uniform')).toBe(true);
    expect(oracle.perIteration.every((r) => r.status === 'picked')).toBe(true);
    expect(oracle.topK[0].k).toBe(5);
    // an oracle's best-of-top-5 is the best architecture any search batch held (every iteration reported)
    expect(oracle.topK[0].best!.rank).toBe(Math.min(...oracleRanker.calls.flatMap((c) => c.ids.map((id) => trueRank.get(id) as number))));
    expect(oracle.topK[0].best!.rank).toBeLessThanOrEqual(10);
    for (const p of allPicks(oracle)) {
      expect(p.rank).toBe(trueRank.get(p.id));
      expect(p.testAcc).toBe(acc(p.id));
      expect(p.arch).toBe(records[p.id].arch_str);
      expect(p.topPercent).toBeCloseTo((100 * p.rank) / 15625, 10);
    }
    // the oracle's top-1 is the best predicted-tier-1 arch of its batch
    oracle.perIteration.forEach((r, it) => {
      const ids = oracleRanker.calls[it].ids.filter((id) => (trueRank.get(id) as number) <= 3125);
      expect(r.top1!.testAcc).toBe(Math.max(...ids.map(acc)));
    });
    expect(oracle.top1.best!.testAcc).toBe(Math.max(...oracle.perIteration.map((r) => r.top1!.testAcc)));
  });

  test('a random ranker is reported exactly as it picks: top-1 = best score among predicted tier 1, true ranks', async () => {
    const ranker = new FakeRanker('random', 5);
    const result = await runNarSearch({ ranker, benchmark: bench, batches, seed: 2, iterations: 20 });
    const top1Accs: number[] = [];
    result.perIteration.forEach((r, it) => {
      const { ids, probs, scores } = ranker.calls[it];
      const tierOne = ids.map((_, i) => i).filter((i) => [1, 2, 3, 4].every((t) => probs[i * 5] >= probs[i * 5 + t]));
      expect(r.predictedTierOne).toBe(tierOne.length);
      if (tierOne.length < 5) {
        expect(r.status).toBe('too-few-tier-one');
        expect(r.top1).toBeNull();
        return;
      }
      const byScore = [...tierOne].sort((a, b) => scores[b] - scores[a]);
      expect(r.top1!.id).toBe(ids[byScore[0]]);
      expect(r.top1!.rank).toBe(trueRank.get(ids[byScore[0]]));
      expect(r.topK[0].best.rank).toBe(Math.min(...byScore.slice(0, 5).map((i) => trueRank.get(ids[i]) as number)));
      top1Accs.push(acc(ids[byScore[0]]));
    });
    expect(result.top1.reported).toBe(top1Accs.length);
    expect(result.top1.best!.testAcc).toBe(Math.max(...top1Accs));
    expect(result.top1.meanTestAcc!).toBeCloseTo(top1Accs.reduce((a, b) => a + b, 0) / top1Accs.length, 10);
    // random picks are typically far from the top: the mean rank is nowhere near the oracle's
    expect(result.top1.meanRank!).toBeGreaterThan(oracle.top1.meanRank!);
  });

  test('the budget is respected by every pick, and an impossible budget reports nothing and says so', async () => {
    const flops = [...bench.flops].sort((a, b) => a - b);
    const params = [...bench.params].sort((a, b) => a - b);
    const maxFlops = flops[Math.floor(flops.length * 0.6)];
    const maxParams = params[Math.floor(params.length * 0.6)];
    const result = await runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 1, iterations: 20, maxFlops, maxParams });
    const picks = allPicks(result);
    expect(picks.length).toBeGreaterThan(0);
    for (const p of picks) {
      expect(p.flops).toBeLessThanOrEqual(maxFlops);
      expect(p.params).toBeLessThanOrEqual(maxParams);
      expect(bench.flops[p.position]).toBe(p.flops);
    }
    // the unconstrained oracle's picks break this budget, so the filter did something
    expect(allPicks(oracle).some((p) => p.flops > maxFlops || p.params > maxParams)).toBe(true);
    expect(result.budget).toEqual({ maxFlops, maxParams });
    expect(result.notes.join(' ')).toMatch(/budget/);
    const none = await runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 1, iterations: 3, maxFlops: flops[0] - 1 });
    expect(none.perIteration.every((r) => r.status === 'none-within-budget' && r.top1 === null && /within the budget/.test(r.note ?? ''))).toBe(true);
    expect(none.top1.best).toBeNull();
    expect(none.withoutPick.noneWithinBudget).toBe(3);
    expect(none.notes.join(' ')).toMatch(/3 iteration\(s\) had no predicted-tier-1 architecture within it/);
  });

  test('deterministic with a seed; another seed searches differently; JSON-serialisable; SVG', async () => {
    const again = await runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 3 });
    expect(withoutTimes(again)).toEqual(withoutTimes(oracle));
    const other = await runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 2, iterations: 5 });
    expect(other.perIteration.map((r) => r.top1!.id)).not.toEqual(oracle.perIteration.slice(0, 5).map((r) => r.top1!.id));
    expect(JSON.parse(JSON.stringify(oracle)).top1).toEqual(oracle.top1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-search-'));
    try {
      const files = await writeNarSearchFiles(dir, oracle);
      expect(JSON.parse(fs.readFileSync(files.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(oracle)));
      expect(fs.readFileSync(files.svg, 'utf8')).toBe(narSearchSvg(oracle));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const svg = narSearchSvg(oracle);
    expect(svg).toMatch(/^<svg|<\?xml/);
    expect(svg).toContain('best of top-5');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  test('the tier statistics are used when not forced uniform; abort and bad input are clear errors', async () => {
    const guided = await runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 4, iterations: 7, sampler: { forceUniform: false } });
    for (const r of guided.perIteration) {
      const stats = batchTierStatistics(batches[r.statistic], bench, { bins: 5 });
      const expected = {
        flops: selectTierDistribution(stats.flops, 0.35, NAR_NB201_SAMPLER),
        params: selectTierDistribution(stats.params, 0.3, NAR_NB201_SAMPLER),
        edges: selectTierDistribution(stats.edges!, 1.5, NAR_NB201_SAMPLER),
      };
      expect(r.distribution).toEqual({ flops: expected.flops.reason, params: expected.params.reason, edges: expected.edges.reason });
      expect(r.caps).toHaveLength(3); // 64 samples, new caps every 25
      for (const cap of r.caps) {
        // selected: a key of tier 1 with a non-zero count; uniform: any of tier 1's keys
        const allowed = (name: 'flops' | 'params') => stats[name][0].keys.filter((_, i) => expected[name].probabilities === null || expected[name].probabilities![i] > 0);
        expect(allowed('flops')).toContain(cap.flops);
        expect(allowed('params')).toContain(cap.params);
      }
    }
    const controller = new AbortController();
    controller.abort();
    await expect(runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 1, signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches: [], seed: 1 })).rejects.toThrow(/no per-batch statistics/);
    await expect(runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches: [{ indices: [99999], tiers: [0] }], seed: 1 })).rejects.toThrow(/batch record 0: .*index 99999/);
    const wrongSpace = new FakeRanker('oracle');
    (wrongSpace as unknown as { space: string }).space = 'nb101';
    await expect(runNarSearch({ ranker: wrongSpace, benchmark: bench, batches, seed: 1 })).rejects.toThrow(/nb101 but the benchmark is nb201/);
    await expect(runNarSearch({ ranker: new FakeRanker('oracle'), benchmark: bench, batches, seed: 1, maxFlops: -3 })).rejects.toThrow(/maxFlops must be a positive number/);
    const nan = new FakeRanker('oracle');
    const inner = nan.rankSearchBatch.bind(nan);
    nan.rankSearchBatch = async (f, n) => {
      const out = await inner(f, n);
      out.scores[7] = NaN;
      return out;
    };
    await expect(runNarSearch({ ranker: nan, benchmark: bench, batches, seed: 1 })).rejects.toThrow(/iteration 0: the ranker returned a non-finite score 7 \(NaN\)/);
    const short: NarSearchRanker = { space: 'nb201', tiers: 5, resetSearchBuckets: () => undefined, rankSearchBatch: async (_f, n) => ({ tierProbs: new Float32Array(n * 5), scores: new Float32Array(n - 1) }) };
    await expect(runNarSearch({ ranker: short, benchmark: bench, batches, seed: 1 })).rejects.toThrow(/returned 640 tier probabilities and 127 scores for 128 architectures/);
  });
});

describe('NB201 search benchmark', () => {
  test('its feature tensors are the §2.2 encoder\'s; costs, accuracies and lookups are the records\'', () => {
    const out = new Float32Array(496);
    for (let id = 0; id < 15625; id += 97) {
      bench.writeFeatures(bench.positionOfId(id)!, out, 0);
      expect(out).toEqual(nb201RecordFeatureTensor(records[id] as unknown as Parameters<typeof nb201RecordFeatureTensor>[0], 'ImageNet16-120').data);
      expect(bench.flops[id]).toBe(records[id]['ImageNet16-120_total_flops']);
      expect(bench.params[id]).toBe(records[id]['ImageNet16-120_total_params']);
      expect(bench.lookupNb201!(parseNb201String(records[id].arch_str))).toBe(id);
      expect(Array.from(bench.edges!.subarray(id * 5, id * 5 + 5))).toEqual(nb201EdgesTypeCounts(records[id].arch_str));
    }
    expect(bench.rank[81]).toBe(1); // §7.1: the best accuracy is index 81
    expect(bench.size).toBe(15625);
  });
});

describe('NB201 constrained sampling (§5 step 1)', () => {
  const h = (keys: number[]) => Array.from({ length: 5 }, () => ({ keys, counts: keys.map(() => 1) }));
  const uniform = { topTier: 1, lastTier: 4, batchFactor: 0.1, forceUniform: true };
  const opSampler = (rng: Random) => new NarValueSampler(h([0, 1, 2, 3, 4]), 1.5, uniform, rng);

  test('impossible caps: every sample uses all 101 trials and keeps the last one', () => {
    let lookups = 0;
    const counting: NarSearchBenchmark = { ...bench, lookupNb201: (ops) => (lookups++, bench.lookupNb201!(ops)) };
    const rng = new Random(11);
    const samplers = { flops: new NarValueSampler(h([1]), 0, uniform, rng), params: new NarValueSampler(h([1]), 0, uniform, rng), edges: opSampler(rng) };
    const out = sampleConstrained(counting, samplers, { reuseStep: 25, maxTrails: 100 }, 7, rng);
    expect(lookups).toBe(7 * 101);
    expect(out.satisfied).toEqual(new Array(7).fill(false));
    expect(out.positions.every((p) => p !== undefined)).toBe(true);
  });

  test('achievable caps are respected by every accepted sample; caps change every reuse_step samples', () => {
    const flops = [...bench.flops].sort((a, b) => a - b);
    const params = [...bench.params].sort((a, b) => a - b);
    const rng = new Random(12);
    const capsF = [flops[500], flops[3000], flops[9000]];
    const capsP = [params[800], params[4000], params[12000]];
    const samplers = { flops: new NarValueSampler(h(capsF), 0, uniform, rng), params: new NarValueSampler(h(capsP), 0, uniform, rng), edges: opSampler(rng) };
    const out = sampleConstrained(bench, samplers, { reuseStep: 5, maxTrails: 100 }, 64, rng);
    out.positions.forEach((p, i) => {
      const cap = out.caps[i];
      expect(capsF).toContain(cap.flops);
      expect(capsP).toContain(cap.params);
      if (i % 5 !== 0) expect(cap).toEqual(out.caps[i - 1]);
      if (out.satisfied[i]) {
        expect(bench.flops[p!]).toBeLessThanOrEqual(cap.flops);
        expect(bench.params[p!]).toBeLessThanOrEqual(cap.params);
      }
    });
    expect(out.satisfied.filter(Boolean).length).toBeGreaterThan(32); // most caps are reachable within 101 trials
    // the budget clamps the caps
    const clamped = sampleConstrained(bench, samplers, { reuseStep: 5, maxTrails: 100 }, 10, rng, { maxFlops: flops[100] });
    expect(clamped.caps.every((c) => c.flops === flops[100])).toBe(true);
  });
});
