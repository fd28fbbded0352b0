#!/usr/bin/env node
// bench/tenas: the same NTK condition numbers and linear-region count computed by our PyTorch-in-Python
// baseline (baseline.py, Debian's python3-torch) and by torchnas, on the same networks (same seeds →
// same weights) and the same inputs, in one run; prints values (which must agree) and time ratios. The NTK is
// timed on both torchnas paths: batched (one taped forward, a hand-derived backward carrying all rows; the
// default) and the autograd loop (one backward per row, like the Python baseline; the reference path).
// Usage: node bench/tenas/run.js [--threads N] [--batch B] [--repeats R] [--search]
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const args = process.argv.slice(2);
const flag = (name, fallback) => Number(option(name, fallback));
const threads = flag('threads', 1);
const batch = flag('batch', 72);
const repeats = flag('repeats', 2);

async function best(fn) {
  let t = Infinity;
  let value;
  for (let r = 0; r < repeats; r++) {
    const s = process.hrtime.bigint();
    value = await fn();
    t = Math.min(t, Number(process.hrtime.bigint() - s) / 1e9);
  }
  return [value, t];
}

(async () => {
  const python = process.env.TORCHNAS_BENCH_PYTHON || '/usr/bin/python3';
  process.stderr.write(`running ${python} baseline.py (threads ${threads}, batch ${batch}) ...\n`);
  const py = JSON.parse(execFileSync(python, [path.join(__dirname, 'baseline.py'), String(threads), String(batch), String(repeats)], { encoding: 'utf8', env: childEnv(threads) }));

  const { native } = dist('native');
  const { ntkNetwork, thinNetwork, singlePathAlpha } = dist('methods/tenas/networks');
  const { setThreads, info } = dist('core/device');
  setThreads(threads);
  const g = new (native().Generator)(12345);
  const x = g.randn([batch, 3, 32, 32]);
  const patches = g.randn([3000, 1, 3, 3]);
  const superAlpha = new Float32Array(30);
  for (let e = 0; e < 6; e++) superAlpha[e * 5] = -1000;
  const supernet = ntkNetwork({ seed: 0 });
  const single = ntkNetwork({ seed: 42000 });
  const thin = thinNetwork({ seed: 0 });
  const ntk = (net, alpha, path) =>
    best(async () => {
      const r = await net.ntk(x, { alpha, path, workers: threads });
      if (r.path !== path) throw new Error(`asked for the ${path} NTK path, ran ${r.path}`);
      return r.kappa;
    });
  const singleAlpha = singlePathAlpha([0, 3, 2, 1, 0, 3]);
  const [sk, st] = await ntk(supernet, superAlpha, 'batched');
  const [skl, stl] = await ntk(supernet, superAlpha, 'loop');
  const [gk, gt] = await ntk(single, singleAlpha, 'batched');
  const [gkl, gtl] = await ntk(single, singleAlpha, 'loop');
  const [lr, lt] = await best(async () => (await thin.linearRegions(patches, { alpha: superAlpha })).regions);

  const rows = [
    ['NTK κ, round-1 supernet (C=3, all ops), batch ' + batch + ', batched', py.supernet_kappa, sk, py.supernet_ntk_s, st],
    ['NTK κ, round-1 supernet, autograd loop', py.supernet_kappa, skl, py.supernet_ntk_s, stl],
    ['NTK κ, single path (NB201 index 42), batch ' + batch + ', batched', py.single_kappa, gk, py.single_ntk_s, gt],
    ['NTK κ, single path, autograd loop', py.single_kappa, gkl, py.single_ntk_s, gtl],
    ['linear regions, thin supernet, 3000 × 1×3×3', py.thin_regions, lr, py.thin_lr_s, lt],
  ];
  const i = info();
  const footing = compareFooting(i, py.footing);
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${py.torch}; ${threads} thread(s); best of ${repeats}`);
  for (const line of footing.lines) console.log(line);
  if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
  console.log('| work | value (Python) | value (torchnas) | rel. difference | Python s | torchnas s | ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, pv, tv, ps, ts] of rows) {
    const diff = Math.abs(tv - pv) / Math.abs(pv);
    console.log(`| ${name} | ${Number(pv).toPrecision(8)} | ${Number(tv).toPrecision(8)} | ${diff.toExponential(1)} | ${ps.toFixed(3)} | ${ts.toFixed(3)} | ${ratio(ts, ps, footing)} |`);
  }
  console.log(`batched vs loop (torchnas): supernet ${(st / stl).toFixed(2)}× the loop's time, single path ${(gt / gtl).toFixed(2)}×`);
  if (args.includes('--search')) {
    const { runTenasSearch } = dist('methods/tenas/run');
    const { loadTenasConfig } = dist('methods/tenas/config');
    const config = loadTenasConfig(path.join(root, 'configs', 'tenas', 'nb201.yaml'));
    config.threads = threads;
    const r = await runTenasSearch(config);
    console.log(`full NB201 search (configs/tenas/nb201.yaml, ${threads} thread(s)): ${r.seconds.toFixed(1)} s, ${r.ntkEvaluations} NTK evaluations → ${r.arch}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
