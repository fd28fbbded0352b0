// One process of bench/distributed/run.js: a DenseNAS warm-up epoch (weight steps only) of a config on
// Fashion-MNIST, in the group `torchnas launch` describes (or alone), printing its timings as one JSON line.
// Usage: node dense-rank.js CONFIG LIMIT BATCH
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const { runDenseSearch } = require(path.join(root, 'dist', 'methods', 'densenas', 'search'));
const { parseDenseNasConfig } = require(path.join(root, 'dist', 'spaces', 'densenas'));

const [file, limit, batch] = process.argv.slice(2);
// FLOPs as the cost: no LUT is needed for weight steps (the cost is only logged there)
const config = parseDenseNasConfig(fs.readFileSync(file, 'utf8').replace(/type: latency/, 'type: flops'), file);
(async () => {
  const r = await runDenseSearch(config, { limit: Number(limit), batchSize: Number(batch), epochs: 1, archStart: 99, valStart: 99, threads: 1, measureDerived: false });
  process.stdout.write(JSON.stringify({ rank: Number(process.env.RANK ?? 0), worldSize: r.worldSize, epochSeconds: r.records[0].seconds, profile: r.stepProfile, weightLoss: r.records[0].weightLoss }) + '\n');
})().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
