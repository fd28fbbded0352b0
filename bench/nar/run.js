#!/usr/bin/env node
// bench/nar: NAR ranker training epochs (7 steps × 128 archs each, NB201 sizes, 7.87 M parameters: forward, CE +
// rank loss, backward, AdamW) and the scoring of all 15,625 NB201 archs (encoder + score head), by our PyTorch model
// of the same network (reference.py, Debian's python3-torch: the same LibTorch) and by torchnas, each side in a
// fresh process per repeat, with the same thread count; prints the timings and their ratios (only on equal footing,
// see bench/footing.js). The first epoch of a process pays for first use of its memory (on this VM a page fault is
// expensive); later epochs show the steady state that a 55-epoch training spends almost all its time in, so both
// are reported and the 55-epoch estimate is first + 54 × steady.
// Our linears run on oneDNN's sgemm where the LibTorch in use ships it (native/core/ops/gemm.h; Python's nn.Linear
// goes to the BLAS): both sides load the same libraries, and `--gemm aten` runs our side on ATen's BLAS path too,
// to separate the GEMM's share from the rest.
// Needs the built addon and `npm run build:ts`. Usage: node bench/nar/run.js [--threads N] [--repeat R] [--epochs E] [--gemm aten]
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const threads = Number(option('threads', 1));
const repeat = Number(option('repeat', 1));
const epochs = Math.max(2, Number(option('epochs', 2)));
const gemm = option('gemm', '');
if (gemm && gemm !== 'aten') throw new Error(`--gemm takes 'aten' (ATen's BLAS path for our linears), got '${gemm}'`);

// One torchnas side in this (fresh) process: the same work as reference.py's (random features ×100, random
// accuracies and tiers; buckets start at zero).
async function ours() {
  const { setThreads } = dist('core/device');
  const { native } = dist('native');
  const { tensor } = dist('core/tensor');
  const { Random } = dist('core/random');
  setThreads(threads);
  const n = 15625;
  const size = 31 * 16;
  const rng = new Random(0);
  const features = new Float32Array(n * size).map(() => rng.next() * 100);
  const acc = new Float32Array(n).map(() => rng.next() * 50);
  const tiers = new Int32Array(n).map(() => rng.int(0, 4));
  const ranker = new (native().NarRanker)({ seed: 0, optimizer: { lrMul: 0.07, warmupSteps: 30, beta1: 0.9, beta2: 0.99, eps: 1e-9, weightDecay: 1e-2 } });
  const trainN = 7 * 128;
  const x = tensor(features.subarray(0, trainN * size).slice(), [trainN, 31, 4, 4]);
  const y = tensor(acc.subarray(0, trainN).slice(), [trainN]);
  const t = tensor(tiers.subarray(0, trainN).slice(), [trainN]);
  const order = Array.from({ length: trainN }, (_, i) => i);
  const epochSeconds = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = process.hrtime.bigint();
    await ranker.trainEpoch(x, y, t, order, 128, { lossFactor: 1, auxLoss: true });
    epochSeconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const all = tensor(features, [n, 31, 4, 4]);
  const t1 = process.hrtime.bigint();
  await ranker.scores(all, 256); // train.ts's SCORE_BATCH (see there: fewer page faults in a worker thread)
  const scoring = Number(process.hrtime.bigint() - t1) / 1e9;
  return { epochSeconds, scoring, rssMiB: process.resourceUsage().maxRSS / 1024, cache: native().cpuCache(), sgemm: native().info().sgemm };
}

async function main() {
  const { info, setThreads } = dist('core/device');
  setThreads(threads);
  const python = process.env.TORCHNAS_BENCH_PYTHON || '/usr/bin/python3';
  const pyRuns = [];
  const ourRuns = [];
  for (let r = 0; r < repeat; r++) {
    process.stderr.write(`running ${python} reference.py bench (${threads} thread(s), ${epochs} epochs) ...\n`);
    pyRuns.push(JSON.parse(execFileSync(python, [path.join(__dirname, 'reference.py'), 'bench', '--threads', String(threads), '--epochs', String(epochs)], { encoding: 'utf8', env: childEnv(threads), maxBuffer: 16 << 20 })));
    process.stderr.write('running torchnas (fresh process) ...\n');
    const env = { ...childEnv(threads), ...(gemm ? { TORCHNAS_KERNELS: [process.env.TORCHNAS_KERNELS, `sgemm=${gemm}`].filter(Boolean).join(',') } : {}) };
    ourRuns.push(JSON.parse(execFileSync(process.execPath, [__filename, '--child', '--threads', String(threads), '--epochs', String(epochs)], { encoding: 'utf8', env, maxBuffer: 16 << 20 })));
  }
  const best = (xs) => Math.min(...xs);
  const steady = (list) => best(list.slice(1));
  const py = { first: best(pyRuns.map((p) => p.epoch_seconds[0])), steady: best(pyRuns.map((p) => steady(p.epoch_seconds))), scoring: best(pyRuns.map((p) => p.scoring_seconds)) };
  const us = { first: best(ourRuns.map((o) => o.epochSeconds[0])), steady: best(ourRuns.map((o) => steady(o.epochSeconds))), scoring: best(ourRuns.map((o) => o.scoring)) };
  const i = info();
  const footing = compareFooting(i, pyRuns[0].footing);
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${pyRuns[0].torch}; ${threads} thread(s); ${epochs} epochs per process; best of ${repeat}`);
  for (const line of footing.lines) console.log(line);
  if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
  console.log(`linears: torchnas ${ourRuns[0].sgemm === 'onednn' ? "oneDNN's sgemm (libdnnl, linked by the same LibTorch)" : "ATen's (the BLAS above)"}; Python nn.Linear → ATen → the BLAS above`);
  const est = (s) => s.first + 54 * s.steady;
  console.log('| work | Python s | torchnas s | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| first training epoch of a process, 7 steps × 128 (NB201, 7.87 M params) | ${py.first.toFixed(2)} | ${us.first.toFixed(2)} | ${ratio(us.first, py.first, footing)} |`);
  console.log(`| later training epoch (steady state, best of epochs 2..${epochs}) | ${py.steady.toFixed(2)} | ${us.steady.toFixed(2)} | ${ratio(us.steady, py.steady, footing)} |`);
  console.log(`| 55-epoch estimate (first + 54 × steady; training steps only) | ${est(py).toFixed(0)} | ${est(us).toFixed(0)} | ${ratio(est(us), est(py), footing)} |`);
  console.log(`| scoring 15,625 archs (encoder + score head) | ${py.scoring.toFixed(2)} | ${us.scoring.toFixed(2)} | ${ratio(us.scoring, py.scoring, footing)} |`);
  const last = ourRuns[ourRuns.length - 1];
  console.log(`Python per-step seconds (first run): ${pyRuns[0].step_seconds.map((s) => s.toFixed(2)).join(' ')}`);
  console.log(`torchnas per-epoch seconds (first run): ${ourRuns[0].epochSeconds.map((s) => s.toFixed(2)).join(' ')}; peak RSS ${last.rssMiB.toFixed(0)} MiB; CPU cache ${last.cache.hits} hits / ${last.cache.misses} misses`);
}

if (process.argv.includes('--child')) {
  ours()
    .then((r) => process.stdout.write(JSON.stringify(r) + '\n'))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
