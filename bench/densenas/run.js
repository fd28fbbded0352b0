#!/usr/bin/env node
// bench/densenas: one weight step, one architecture step and a latency LUT build of the §8 super network
// (configs/densenas/mbv2-small32.yaml: 32×32, batch 32, 10 classes), done by our PyTorch-in-Python baseline
// (baseline.py, Debian's python3-torch) and by torchnas in one run, at each thread count; prints medians,
// ratios (only on equal footing) and the LUT precision of both sides (per-entry relative standard error).
// Needs the built addon and `npm run build:ts`.
// Usage: node bench/densenas/run.js [--threads 1,2] [--steps N] [--meas-times N] [--rel-se X] [--no-lut]
//   --meas-times: the baseline's runs per LUT entry (the original procedure: the first 100 discarded; default 110)
//   --rel-se X: torchnas's stopping bound on the relative standard error of each entry's median; default 'match':
//     the baseline's own median per-entry relative standard error in the same run (equal precision), at most 0.05
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const args = process.argv.slice(2);
const threadList = String(option('threads', '1,2')).split(',').map(Number);
const steps = Number(option('steps', 3));
const measTimes = Number(option('meas-times', 110));
const relSeOption = option('rel-se', 'match');
const withLut = !args.includes('--no-lut');
const configFile = path.join(root, 'configs', 'densenas', option('config', 'mbv2-small32.yaml'));

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const pct = (v) => `${(100 * v).toFixed(2)} %`;

(async () => {
  const { info, setThreads } = dist('core/device');
  const { tensor } = dist('core/tensor');
  const { loadDenseNasConfig } = dist('spaces/densenas/config');
  const { buildDenseSpace } = dist('spaces/densenas/space');
  const { flopsCostList } = dist('spaces/densenas/supernet-cost');
  const { createSuperNet, nativeCosts, searchSettings } = dist('methods/densenas/supernet');
  const { buildLut } = dist('methods/densenas/lut');
  const config = loadDenseNasConfig(configFile);
  const space = buildDenseSpace(config);
  const batch = config.data.batch_size;
  // The chained cost of both sides runs on the same cost list (the counted FLOPs list: cheap, deterministic).
  const costs = flopsCostList(space);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'densenas-bench-'));
  const costFile = path.join(tmp, 'costs.json');
  fs.writeFileSync(costFile, JSON.stringify(costs));
  const python = process.env.TORCHNAS_BENCH_PYTHON || '/usr/bin/python3';
  const sections = [];
  for (const threads of threadList) {
    setThreads(threads);
    process.stderr.write(`[${threads} thread(s)] running ${python} baseline.py (${steps} steps${withLut ? `, LUT at ${measTimes} runs per entry` : ''}) ...\n`);
    const py = JSON.parse(
      execFileSync(
        python,
        [path.join(__dirname, 'baseline.py'), configFile, costFile, '--threads', String(threads), '--steps', String(steps), '--meas-times', String(measTimes), '--batch', String(batch), ...(withLut ? [] : ['--no-lut'])],
        { encoding: 'utf8', env: childEnv(threads), maxBuffer: 64 << 20 },
      ),
    );
    process.stderr.write(`[${threads} thread(s)] running torchnas ...\n`);
    const t0 = process.hrtime.bigint();
    const net = await createSuperNet(space, { seed: 2, search: searchSettings(config, 1000) });
    const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    net.setCosts(nativeCosts(costs));
    const [c, h, w] = [space.inChannels, space.inputSize, space.inputSize];
    const x = tensor(Float32Array.from({ length: batch * c * h * w }, (_, i) => ((i * 2654435761) % 1000) / 1000), [batch, c, h, w]);
    const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % space.numClasses), [batch]);
    const timed = async (fn) => {
      await fn(); // one untimed step, as the baseline
      const out = [];
      for (let i = 0; i < steps; i++) {
        const t = process.hrtime.bigint();
        await fn();
        out.push(Number(process.hrtime.bigint() - t) / 1e9);
      }
      return out;
    };
    const weight = await timed(() => net.weightStep(x, y, { warmup: false }));
    const arch = await timed(() => net.archStep(x, y));
    net.dispose();
    let lut = null;
    if (withLut) {
      const relSe = relSeOption === 'match' ? Math.min(0.05, median(py.lut.rel_se)) : Number(relSeOption);
      const t = process.hrtime.bigint();
      const built = await buildLut(config, { threads, batch, relSe, out: path.join(tmp, `lut-${threads}.json`), fresh: true, saveEverySeconds: 30 });
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      const entries = built.lut.entries;
      lut = {
        seconds,
        entries: entries.length,
        positions: built.positions,
        runs: median(entries.map((e) => e.count)),
        // precision of each entry's estimate (the median of the timed runs): the distribution-free standard
        // error of the median that stops the timing (order statistics), and the normal-theory 1.2533·σ/√n
        relSe: entries.filter((e) => e.count > 1 && e.median > 0).map((e) => e.medianSe / e.median),
        relSeNormal: entries.filter((e) => e.count > 1 && e.median > 0).map((e) => (1.2533 * e.std) / Math.sqrt(e.count) / e.median),
        atMaxRuns: entries.filter((e) => e.count >= 200).length,
        relStd: entries.filter((e) => e.count > 1 && e.mean > 0).map((e) => e.std / e.mean),
        total: built.total,
        relSeBound: relSe,
      };
    }
    sections.push({ threads, py, ours: { buildSeconds, weight, arch, lut } });
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  const i = info();
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${sections[0].py.torch}; ${path.relative(root, configFile)}, batch ${batch}`);
  console.log(`super network: ${sections[0].py.weights} weights and ${sections[0].py.arch_parameters} architecture parameters (Python side)`);
  for (const { threads, py, ours } of sections) {
    setThreads(threads);
    const footing = compareFooting(info(), py.footing);
    console.log(`\n### ${threads} thread(s)`);
    for (const line of footing.lines) console.log(line);
    if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
    console.log('| work | Python s (median) | torchnas s (median) | ratio | goal |');
    console.log('|---|---|---|---|---|');
    const row = (name, a, b, goal) => console.log(`| ${name} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${ratio(b, a, footing, 2)} | ${goal} |`);
    row('construct the super network', py.build_seconds, ours.buildSeconds, '');
    row(`weight step (sample, forward, backward, SGD; ${steps} timed)`, median(py.weight_step), median(ours.weight), '≤ 0.9×');
    row(`architecture step (sample 2, forward, backward, Adam, re-scale; ${steps} timed)`, median(py.arch_step), median(ours.arch), '≤ 0.9×');
    if (py.lut && ours.lut) {
      row(`LUT build (Python ${py.lut.entries} positions × ${py.lut.meas_times} runs; torchnas ${ours.lut.entries} distinct keys, 2 warm-up runs, stop at rel. SE ${pct(ours.lut.relSeBound)})`, py.lut.seconds, ours.lut.seconds, '≤ 0.3×');
      console.log(
        `LUT precision, relative standard error per entry (median / 90th percentile / max): Python (mean of ${py.lut.timed_runs} kept runs) ` +
          `${pct(median(py.lut.rel_se))} / ${pct(quantile(py.lut.rel_se, 0.9))} / ${pct(Math.max(...py.lut.rel_se))}; ` +
          `torchnas (median of its runs, ${ours.lut.runs} runs per entry at the median, ${ours.lut.atMaxRuns} entries at the 200-run cap) ` +
          `${pct(median(ours.lut.relSe))} / ${pct(quantile(ours.lut.relSe, 0.9))} / ${pct(Math.max(...ours.lut.relSe))} ` +
          `(order statistics, the stopping rule; normal theory 1.2533·σ/√n: ${pct(median(ours.lut.relSeNormal))} / ${pct(quantile(ours.lut.relSeNormal, 0.9))} / ${pct(Math.max(...ours.lut.relSeNormal))})`,
      );
      console.log(`LUT spread, std/mean of the timed runs per entry (median): Python ${pct(median(py.lut.rel_std))}, torchnas ${pct(median(ours.lut.relStd))}`);
      console.log(`LUT totals (sum over the ${py.lut.entries} positions, ms per batch): Python ${py.lut.total_ms.toFixed(1)} (means), torchnas ${ours.lut.total.toFixed(1)} (medians)`);
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
