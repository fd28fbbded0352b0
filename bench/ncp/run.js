#!/usr/bin/env node
// bench/ncp: NCP's predictor training (200 epochs on seg) and 70-step code propagation with FLOPs/params
// every step, done by our PyTorch-in-Python baseline (baseline.py, Debian's python3-torch: same LibTorch)
// and by torchnas, in one run; prints the timings, their ratios and whether the results agree.
// Needs the built addon and `npm run build:ts`.
// Usage: node bench/ncp/run.js [--table TABLE] [--epochs N] [--iters N] [--threads N] [--exact]
//   TABLE: a NAS-Bench-MR table name (default seg, the bundled one) or a .pkl path, gzipped or not.
//   --exact also times torchnas's autograd path (PyTorch's op sequence and Adam: bit-identical training to the
//   baseline); the default is the fast path (hand-derived backward, fused Adam over a flat buffer).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const args = process.argv.slice(2);
const table = dist('benchmarks/table-names').resolveTablePath(option('table', 'seg'), { kind: 'nas-bench-mr' });
const epochs = Number(option('epochs', 200));
const iters = Number(option('iters', 70));
const threads = Number(option('threads', 1));

(async () => {
  const { info, setThreads } = dist('core/device');
  const { loadNcpConfig } = dist('methods/ncp/config');
  const { trainNcpPredictor } = dist('methods/ncp/train');
  const { propagateNcp } = dist('methods/ncp/propagate');
  // One thread count for both sides: LibTorch's intra-op pool, OpenMP and the BLAS (Debian's LibTorch default is 1).
  setThreads(threads);
  const python = process.env.TORCHNAS_BENCH_PYTHON || '/usr/bin/python3';
  process.stderr.write(`running ${python} baseline.py (${epochs} epochs, ${iters} steps) ...\n`);
  const py = JSON.parse(
    execFileSync(python, [path.join(__dirname, 'baseline.py'), table, '--epochs', String(epochs), '--iters', String(iters), '--threads', String(threads)], {
      encoding: 'utf8',
      env: childEnv(threads),
      maxBuffer: 64 << 20,
    }),
  );

  const config = loadNcpConfig(path.join(root, 'configs', 'ncp', 'seg.yaml'));
  config.optimization.epoch = epochs;
  config.editing.iters = iters;
  const runs = [{ name: 'torchnas', exactLinear: false }, ...(args.includes('--exact') ? [{ name: 'torchnas --exact', exactLinear: true }] : [])];
  const rows = [];
  for (const run of runs) {
    process.stderr.write(`running ${run.name} ...\n`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ncp-bench-'));
    const t0 = process.hrtime.bigint();
    const trained = await trainNcpPredictor(config, { data: table, out, exactLinear: run.exactLinear });
    const trainTotal = Number(process.hrtime.bigint() - t0) / 1e9;
    const t1 = process.hrtime.bigint();
    const edited = await propagateNcp(config, { predictor: out });
    const editTotal = Number(process.hrtime.bigint() - t1) / 1e9;
    fs.rmSync(out, { recursive: true, force: true });
    const steps = edited.trajectories[0].steps;
    const sameCodes = steps.filter((s, t) => py.trajectory[t] && s.roundedCode.replace(/[-_]/g, ',') === codeOf(py.trajectory[t].rounded)).length;
    const sameFlops = steps.filter((s, t) => py.trajectory[t] && s.flops === py.trajectory[t].flops && s.params === py.trajectory[t].params).length;
    rows.push({ run, trained, trainTotal, edited, editTotal, sameCodes, sameFlops });
  }

  const i = info();
  const footing = compareFooting(i, py.footing);
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${py.torch}; ${py.threads} thread(s); ${table}`);
  for (const line of footing.lines) console.log(line);
  if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
  console.log('| work | Python s | torchnas s | ratio | target |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const tag = r.run.exactLinear ? ' (--exact)' : '';
    console.log(`| predictor training, ${epochs} epochs${tag} (native job) | ${py.train_seconds.toFixed(2)} | ${r.trained.wallSeconds.training.toFixed(2)} | ${ratio(r.trained.wallSeconds.training, py.train_seconds, footing, 3)} | ${tag ? 'bit-parity mode' : '≤ 0.5×'} |`);
    console.log(`| predictor training${tag}, whole command (table load, scoring, checkpoints) | ${py.train_seconds.toFixed(2)} | ${r.trainTotal.toFixed(2)} | ${ratio(r.trainTotal, py.train_seconds, footing, 3)} | |`);
    console.log(`| propagation, ${iters} steps with FLOPs/params every step${tag} | ${py.propagation_seconds.toFixed(3)} | ${r.editTotal.toFixed(3)} | ${ratio(r.editTotal, py.propagation_seconds, footing, 4)} | ${tag ? '' : '≤ 0.01×'} |`);
  }
  console.log(`Python: net2flops (build + hook count at 128²) ${py.net2flops_seconds.toFixed(2)} s of the propagation; best epoch ${py.best_epoch}, best mIoU L1 ${py.best_l1[0].toFixed(5)}`);
  for (const r of rows) {
    const m = r.trained.metrics;
    const name = Object.keys(m)[0];
    console.log(
      `${r.run.name}: best epoch ${r.trained.bestEpoch}, best ${name} L1 ${m[name].best.l1.toFixed(5)}, Kendall τ ${m[name].best.kendallTau.toFixed(4)}; ` +
        `propagation native ${(r.edited.seconds.propagation * 1000).toFixed(1)} ms + closed-form costs ${(r.edited.seconds.costs * 1000).toFixed(1)} ms; ` +
        `rounded codes equal to Python's at ${r.sameCodes}/${iters} steps, FLOPs/params equal at ${r.sameFlops}/${iters}`,
    );
    const p = r.trained.profile;
    console.log(`  ${r.run.name} training by phase (s): ${Object.keys(p).map((k) => `${k} ${p[k].toFixed(2)}`).join(', ')}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

function codeOf(embedding) {
  // 27-number embedding → the 31-integer code's digits (literal branch counts re-inserted), comma-joined.
  const ints = [...embedding];
  for (const [pos, n] of [[3, 1], [7, 2], [13, 3], [21, 4]]) ints.splice(pos, 0, n);
  return ints.join(',');
}
