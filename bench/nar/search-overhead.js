#!/usr/bin/env node
// bench/nar/search-overhead: the TypeScript side of NAR's search (nar.md §5) — tier statistics, constrained
// sampling with the 101-trial fallback, random fill, feature tensors, picking — timed with a fake ranker that costs
// nothing, so what is printed is the search's own overhead per iteration (the original spends 1.64 s per
// iteration in all, §7.5, almost all of it outside ranking). Needs `npm run build:ts` (reads dist/); no addon.
// Usage: node bench/nar/search-overhead.js [--iterations N] [--repeats N] [--seed N]
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));

const option = (name, fallback) => Number(require('../footing').option(name, fallback));
const iterations = option('iterations', 50);
const repeats = option('repeats', 3);
const seed = option('seed', 1);

(async () => {
  const { buildNb201CellDataset } = dist('benchmarks/nar-nb201-dataset');
  const { nb201SearchBenchmark } = dist('methods/nar/search-benchmark');
  const { runNarSearch } = dist('methods/nar/search');
  const { Random } = dist('core/random');
  let t = process.hrtime.bigint();
  const records = await buildNb201CellDataset({ table: 'nb201' });
  const bench = nb201SearchBenchmark(records, 'imagenet16');
  const setupSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  // A training epoch's records: 7 batches of 128 from a seeded 1,000-arch training set, tiers = quintiles by val acc.
  const rng = new Random(77777777);
  const train = rng.shuffle(Array.from({ length: bench.size }, (_, i) => i)).slice(0, 1000);
  const sorted = [...train].sort((a, b) => bench.valAcc[b] - bench.valAcc[a]);
  const tierOf = new Map(sorted.map((p, r) => [p, Math.min(4, Math.floor(r / 200))]));
  const batches = Array.from({ length: 7 }, (_, b) => {
    const positions = train.slice(b * 128, b * 128 + 128);
    return { indices: positions.map((p) => bench.ids[p]), tiers: positions.map((p) => tierOf.get(p)) };
  });
  // Free ranker: fixed outputs (every fifth arch predicted tier 1), no work.
  const n = 128;
  const tierProbs = new Float32Array(n * 5).map((_, i) => (i % 25 === 0 ? 1 : i % 5 === 1 ? 0.5 : 0));
  const scores = new Float32Array(n).map((_, i) => i);
  const ranker = { space: 'nb201', tiers: 5, resetSearchBuckets() {}, async rankSearchBatch() { return { tierProbs, scores }; } };
  const rows = [];
  for (const forceUniform of [true, false]) {
    const times = [];
    for (let r = 0; r < repeats; r++) {
      t = process.hrtime.bigint();
      await runNarSearch({ ranker, benchmark: bench, batches, seed, iterations, sampler: { forceUniform } });
      times.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    const best = Math.min(...times);
    rows.push({ forceUniform, iterations, seconds: times.map((s) => Number(s.toFixed(3))), bestPerIterationMs: Number(((best / iterations) * 1e3).toFixed(2)) });
  }
  // The feature tensors alone (128 per iteration).
  const out = new Float32Array(n * bench.featureLength);
  t = process.hrtime.bigint();
  for (let i = 0; i < iterations * n; i++) bench.writeFeatures(i % bench.size, out, (i % n) * bench.featureLength);
  const featureSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const os = require('node:os');
  console.log(JSON.stringify({ setupSeconds: Number(setupSeconds.toFixed(3)), runs: rows, featureTensorsPerIterationMs: Number(((featureSeconds / iterations) * 1e3).toFixed(2)), loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))), originalPerIterationSeconds: 1.64 }, null, 1));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
