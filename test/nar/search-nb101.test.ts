import { isNb101CellInSpace, nb101CellHash, pruneNb101Cell } from '../../src/spaces/nb101';

/** The §1.1 example cell of nar.md and its unique_hash. */
const EXAMPLE_MATRIX = [
  [0, 1, 0, 0, 1, 1, 0],
  [0, 0, 1, 0, 0, 0, 0],
  [0, 0, 0, 1, 0, 0, 1],
  [0, 0, 0, 0, 0, 1, 0],
  [0, 0, 0, 0, 0, 1, 0],
  [0, 0, 0, 0, 0, 0, 1],
  [0, 0, 0, 0, 0, 0, 0],
];
const EXAMPLE_OPS = ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'output'];

describe('NB101 pruning and module hash (for the NB101 search lookup)', () => {
  test('the §1.1 example hashes to its unique_hash', () => {
    const cell = pruneNb101Cell(EXAMPLE_MATRIX, EXAMPLE_OPS);
    expect(cell).not.toBeNull();
    expect(cell!.matrix).toEqual(EXAMPLE_MATRIX);
    expect(nb101CellHash(cell!)).toBe('00005c142e6f48ac74fdcf73e3439874');
  });

  test('the hash ignores vertex numbering: swapping two independent vertices keeps it', () => {
    // vertices 3 and 4 of the example are both conv3x3 fed by ...; renumber 1<->4 is not a topological order, so
    // permute a pair of interchangeable positions instead: build the example with vertices 3 and 4 exchanged.
    const perm = [0, 1, 2, 4, 3, 5, 6];
    // 2→3 becomes 2→4 after the swap, which is still forward; 3→5 and 4→5 stay forward.
    const matrix = perm.map((i) => perm.map((j) => EXAMPLE_MATRIX[i][j]));
    const ops = perm.map((i) => EXAMPLE_OPS[i]);
    expect(nb101CellHash({ matrix, ops: ops as never })).toBe('00005c142e6f48ac74fdcf73e3439874');
    // changing one op changes it
    const other = [...EXAMPLE_OPS];
    other[1] = 'conv1x1-bn-relu';
    expect(nb101CellHash(pruneNb101Cell(EXAMPLE_MATRIX, other)!)).not.toBe('00005c142e6f48ac74fdcf73e3439874');
  });

  test('pruning drops dead vertices and rejects a cell whose output is unreachable', () => {
    // vertex 2 has no path to the output: dropped
    const matrix = [
      [0, 1, 1, 0],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const ops = ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'output'];
    expect(pruneNb101Cell(matrix, ops)).toEqual({ matrix: [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ops: ['input', 'conv3x3-bn-relu', 'output'] });
    expect(pruneNb101Cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ['input', 'conv1x1-bn-relu', 'output'])).toBeNull();
    expect(isNb101CellInSpace(pruneNb101Cell(EXAMPLE_MATRIX, EXAMPLE_OPS)!)).toBe(true);
  });
});

import { Random } from '../../src/core/random';
import type { Nb101CellInfoRecord } from '../../src/benchmarks/nar-nb101-reader';
import { runNarSearch } from '../../src/methods/nar/search';
import { nb101SearchBenchmark } from '../../src/methods/nar/search-benchmark';
import type { NarBatchRecord, NarSearchRanker } from '../../src/methods/nar/types';
import { nb101NetworkCost, NB101_INTERIOR_OPS } from '../../src/spaces/nb101';

/** Every distinct NB101 cell of at most 4 vertices, as NB101 records with our counter's costs and made-up accuracies. */
function smallNb101Records(): Nb101CellInfoRecord[] {
  const out = new Map<string, Nb101CellInfoRecord>();
  for (let v = 2; v <= 4; v++) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < v; i++) for (let j = i + 1; j < v; j++) pairs.push([i, j]);
    for (let mask = 0; mask < 1 << pairs.length; mask++) {
      const matrix = Array.from({ length: v }, () => new Array<number>(v).fill(0));
      pairs.forEach(([i, j], e) => (matrix[i][j] = (mask >> e) & 1));
      for (let o = 0; o < 3 ** (v - 2); o++) {
        const ops = ['input', ...Array.from({ length: v - 2 }, (_, k) => NB101_INTERIOR_OPS[Math.floor(o / 3 ** k) % 3]), 'output'];
        const cell = pruneNb101Cell(matrix, ops);
        if (cell === null) continue;
        const hash = nb101CellHash(cell);
        if (out.has(hash)) continue;
        const cost = nb101NetworkCost(cell);
        const h = parseInt(hash.slice(0, 6), 16) / 0xffffff;
        const acc = 0.7 + 0.2 * Math.min(1, cost.trainableParameters / 3e6) + 0.05 * h;
        out.set(hash, {
          module_adjacency: cell.matrix,
          module_operations: cell.ops,
          trainable_parameters: cost.trainableParameters,
          avg_training_time: 100,
          avg_train_accuracy: 1,
          avg_validation_accuracy: acc + 0.001,
          avg_test_accuracy: acc,
          unique_hash: hash,
          vertex_flops: cost.vertexFlops,
          vertex_params: cost.vertexParams,
          flops: cost.flops,
        });
      }
    }
  }
  return [...out.values()];
}

/** Scores each architecture by the sum of its feature tensor; predicts tier 1 for the `tierOne` best of the batch. */
function sumRanker(tierOne: (n: number) => number): NarSearchRanker & { batches: number } {
  return {
    space: 'nb101',
    tiers: 5,
    batches: 0,
    resetSearchBuckets() {},
    async rankSearchBatch(features: Float32Array, n: number) {
      this.batches++;
      expect(features.length).toBe(n * 19 * 49);
      const scores = new Float32Array(n);
      for (let i = 0; i < n; i++) for (let k = 0; k < 931; k++) scores[i] += features[i * 931 + k];
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
      const probs = new Float32Array(n * 5);
      order.forEach((i, r) => (probs[i * 5 + (r < tierOne(n) ? 0 : 1 + (r % 4))] = 1));
      return { tierProbs: probs, scores };
    },
  };
}

describe('NAR search on NB101 cells (pruning/hash lookup, unknown slots, fewer than 10 tier-1 archs)', () => {
  const records = smallNb101Records();
  const rng = new Random(5);
  const batches: NarBatchRecord[] = Array.from({ length: 4 }, () => {
    const indices = Array.from({ length: 30 }, () => rng.int(0, records.length - 1));
    const sorted = [...indices].sort((a, b) => records[b].avg_validation_accuracy - records[a].avg_validation_accuracy);
    return { indices, tiers: indices.map((id) => Math.min(4, Math.floor(sorted.indexOf(id) / 6))) };
  });
  const sampler = { sampleSize: 40, maxTrails: 10, reuseStep: 5 };

  test('every sampled cell is found by its hash; picks carry the right ranks; top-3/5/7/10 by score', async () => {
    expect(records.length).toBeGreaterThan(50);
    const bench = nb101SearchBenchmark(records);
    const ranker = sumRanker((n) => Math.floor(n / 5));
    const result = await runNarSearch({ ranker, benchmark: bench, batches, seed: 9, iterations: 8, sampler });
    expect(ranker.batches).toBe(8);
    expect(result.statistics.reuse).toBe(2);
    expect(result.topK.map((t) => t.k)).toEqual([3, 5, 7, 10]);
    const sortedAcc = records.map((r) => r.avg_test_accuracy).sort((a, b) => b - a);
    for (const r of result.perIteration) {
      expect(r.unknown).toBe(0); // all cells of ≤ 4 vertices are in the benchmark
      expect(r.constrained).toBe(20);
      expect(r.status).toBe('picked');
      expect(r.topK.map((t) => t.available)).toEqual([3, 5, 7, 8]);
      expect(r.note).toMatch(/only 8 candidate\(s\) for top-10/);
      for (const p of [r.top1!, ...r.topK.flatMap((t) => t.picks)]) {
        expect(p.arch).toBe(records[p.id].unique_hash);
        expect(p.rank).toBe(1 + sortedAcc.filter((a) => a > records[p.id].avg_test_accuracy).length);
      }
      // top-k picks in score order, best = best rank among them
      for (const t of r.topK) {
        expect(t.picks.map((p) => p.score)).toEqual([...t.picks.map((p) => p.score)].sort((a, b) => b - a));
        expect(t.best.rank).toBe(Math.min(...t.picks.map((p) => p.rank)));
      }
    }
  });

  test('cells the benchmark lacks use up trials; a final unknown slot is filled at random', async () => {
    const half = records.filter((_, i) => i % 2 === 0);
    const bench = nb101SearchBenchmark(half);
    const result = await runNarSearch({ ranker: sumRanker(() => 2), benchmark: bench, batches: batches.map((b) => ({ indices: b.indices.map((i) => Math.floor(i / 2)), tiers: b.tiers })), seed: 9, iterations: 6, sampler: { ...sampler, maxTrails: 0 } });
    expect(result.perIteration.some((r) => r.unknown > 0)).toBe(true);
    for (const r of result.perIteration) {
      expect(r.constrained + r.unknown).toBe(20);
      expect(r.noisy).toBe(40 - r.constrained);
      // only 2 predicted tier 1: reported gracefully (the original crashes below 10)
      expect(r.status).toBe('picked');
      expect(r.topK.map((t) => t.available)).toEqual([2, 2, 2, 2]);
    }
  });
});
