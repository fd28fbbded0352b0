#!/usr/bin/env node
// bench/nar: one NAR ranker training epoch (7 steps × 128 archs, NB201 sizes, 7.87 M parameters: forward, CE +
// rank loss, backward, AdamW) and the scoring of all 15,625 NB201 archs (encoder + score head), by our PyTorch model
// of the same network (reference.py, Debian's python3-torch: the same LibTorch) and by torchnas, in one run with the
// same thread count; prints the timings and their ratios (only on equal footing, see bench/footing.js).
// Needs the built addon and `npm run build:ts`. Usage: node bench/nar/run.js [--threads N] [--repeat R]
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const threads = Number(option('threads', 1));
const repeat = Number(option('repeat', 1));

(async () => {
  const { info, setThreads } = dist('core/device');
  const { native } = dist('native');
  const { tensor } = dist('core/tensor');
  const { Random } = dist('core/random');
  setThreads(threads);
  const python = process.env.TORCHNAS_BENCH_PYTHON || '/usr/bin/python3';
  const pyRuns = [];
  for (let r = 0; r < repeat; r++) {
    process.stderr.write(`running ${python} reference.py bench (${threads} thread(s)) ...\n`);
    pyRuns.push(JSON.parse(execFileSync(python, [path.join(__dirname, 'reference.py'), 'bench', '--threads', String(threads)], { encoding: 'utf8', env: childEnv(threads), maxBuffer: 16 << 20 })));
  }

  // The same work as reference.py's: random features (×100), random accuracies and tiers; buckets start at zero.
  const n = 15625;
  const size = 31 * 16;
  const rng = new Random(0);
  const features = new Float32Array(n * size).map(() => rng.next() * 100);
  const acc = new Float32Array(n).map(() => rng.next() * 50);
  const tiers = new Int32Array(n).map(() => rng.int(0, 4));
  const ours = [];
  for (let r = 0; r < repeat; r++) {
    process.stderr.write('running torchnas ...\n');
    const ranker = new (native().NarRanker)({ seed: 0, optimizer: { lrMul: 0.07, warmupSteps: 30, beta1: 0.9, beta2: 0.99, eps: 1e-9, weightDecay: 1e-2 } });
    const trainN = 7 * 128;
    const x = tensor(features.subarray(0, trainN * size).slice(), [trainN, 31, 4, 4]);
    const y = tensor(acc.subarray(0, trainN).slice(), [trainN]);
    const t = tensor(tiers.subarray(0, trainN).slice(), [trainN]);
    const order = Array.from({ length: trainN }, (_, i) => i);
    const t0 = process.hrtime.bigint();
    const epoch = await ranker.trainEpoch(x, y, t, order, 128, { lossFactor: 1, auxLoss: true });
    const epochWall = Number(process.hrtime.bigint() - t0) / 1e9;
    const all = tensor(features, [n, 31, 4, 4]);
    const t1 = process.hrtime.bigint();
    await ranker.scores(all, 256); // train.ts's SCORE_BATCH (see there: fewer page faults in a worker thread)
    const scoring = Number(process.hrtime.bigint() - t1) / 1e9;
    ours.push({ epoch: epochWall, native: epoch.seconds, scoring, rssMiB: process.resourceUsage().maxRSS / 1024 });
    for (const v of [x, y, t, all]) v.dispose();
    ranker.dispose();
  }
  const best = (xs) => Math.min(...xs);
  const py = { epoch: best(pyRuns.map((p) => p.epoch_seconds)), scoring: best(pyRuns.map((p) => p.scoring_seconds)) };
  const us = { epoch: best(ours.map((o) => o.epoch)), scoring: best(ours.map((o) => o.scoring)) };
  const i = info();
  const footing = compareFooting(i, pyRuns[0].footing);
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${pyRuns[0].torch}; ${threads} thread(s); best of ${repeat}`);
  for (const line of footing.lines) console.log(line);
  if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
  console.log('| work | Python s | torchnas s | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| one training epoch, 7 steps × 128 (NB201, 7.87 M params) | ${py.epoch.toFixed(2)} | ${us.epoch.toFixed(2)} | ${ratio(us.epoch, py.epoch, footing)} |`);
  console.log(`| scoring 15,625 archs (encoder + score head) | ${py.scoring.toFixed(2)} | ${us.scoring.toFixed(2)} | ${ratio(us.scoring, py.scoring, footing)} |`);
  console.log(`Python per-step seconds: ${pyRuns[0].step_seconds.map((s) => s.toFixed(2)).join(' ')}; torchnas peak RSS ${ours[ours.length - 1].rssMiB.toFixed(0)} MiB`);
  console.log(`55-epoch estimate (training steps only): Python ${(55 * py.epoch).toFixed(0)} s, torchnas ${(55 * us.epoch).toFixed(0)} s`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
