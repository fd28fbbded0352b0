#!/usr/bin/env node
// bench/densenas: weight steps, architecture steps and a latency LUT build of the §8 super network
// (configs/densenas/mbv2-small32.yaml: 32×32, batch 32, 10 classes), done by our PyTorch-in-Python baseline
// (baseline.py --serve, Debian's python3-torch) and by torchnas in one run, at each thread count; prints medians,
// ratios (only on equal footing) and the LUT precision of both sides (per-entry relative standard error).
// The steps are paired: both sides run step i on the same sampled ops (drawn here, seeded: k distinct ops per
// mixed op, uniform, as the near-uniform α of a fresh search draws them), one side right after the other, the
// order alternating, so neither the random path lengths nor the machine's drift between the two runs enter the
// ratio. The ratio shown is the median over steps of (torchnas step i) / (Python step i).
// Needs the built addon and `npm run build:ts`.
// Usage: node bench/densenas/run.js [--threads 1,2] [--steps N] [--seed N] [--meas-times N] [--rel-se X] [--no-lut]
//   --meas-times: the baseline's runs per LUT entry (the original procedure: the first 100 discarded; default 110)
//   --rel-se X: torchnas's stopping bound on the relative standard error of each entry's median; default 'match':
//     the baseline's own median per-entry relative standard error in the same run (equal precision), at most 0.05
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { childEnv, compareFooting, option, ratio } = require('../footing');

const args = process.argv.slice(2);
const threadList = String(option('threads', '1,2')).split(',').map(Number);
const steps = Number(option('steps', 8));
const seed = Number(option('seed', 1));
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

/** The baseline in --serve mode: request(obj) → the next JSON line it answers. */
function serveBaseline(python, argv, env) {
  const child = spawn(python, argv, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  const queued = [];
  lines.on('line', (line) => (waiting.length ? waiting.shift().resolve(line) : queued.push(line)));
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`baseline.py exited with code ${code}`));
  });
  const next = () => new Promise((resolve, reject) => (queued.length ? resolve(queued.shift()) : waiting.push({ resolve, reject }))).then(JSON.parse);
  return {
    ready: next(),
    request(obj) {
      child.stdin.write(`${JSON.stringify(obj)}\n`);
      return next();
    },
    close() {
      child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
      return new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** k distinct ops per mixed op, ascending, uniformly (torchnas's `ops` layout: per block, per row). */
function drawOps(space, k, rng) {
  const pick = (ops) => {
    const order = Array.from({ length: ops }, (_, i) => i);
    for (let i = ops - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order.slice(0, Math.min(k, ops)).sort((a, b) => a - b);
  };
  const n = space.blocks.length - 1;
  const head = [];
  const stack = [];
  for (let j = 0; j <= n; j++) {
    const inner = j > 0 && j < n;
    head.push(inner ? space.blocks[j].predecessors.map(() => pick(space.headOps.length)) : null);
    stack.push(inner ? Array.from({ length: space.blocks[j].numLayers }, () => pick(space.stackOps.length)) : null);
  }
  return { head, stack };
}

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
  const { Random } = dist('core/random');
  const sections = [];
  for (const threads of threadList) {
    setThreads(threads);
    process.stderr.write(`[${threads} thread(s)] ${python} baseline.py --serve and torchnas, ${steps} paired steps of each kind${withLut ? `, then the LUTs (Python: ${measTimes} runs per entry)` : ''} ...\n`);
    const py = serveBaseline(
      python,
      [path.join(__dirname, 'baseline.py'), configFile, costFile, '--threads', String(threads), '--meas-times', String(measTimes), '--batch', String(batch), '--serve'],
      childEnv(threads),
    );
    const pyInfo = await py.ready;
    const t0 = process.hrtime.bigint();
    const net = await createSuperNet(space, { seed: 2, search: searchSettings(config, 1000) });
    const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    net.setCosts(nativeCosts(costs));
    const [c, h, w] = [space.inChannels, space.inputSize, space.inputSize];
    const x = tensor(Float32Array.from({ length: batch * c * h * w }, (_, i) => ((i * 2654435761) % 1000) / 1000), [batch, c, h, w]);
    const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % space.numClasses), [batch]);
    const rng = new Random(seed);
    const paired = async (kind, k) => {
      const out = { py: [], ours: [] };
      for (let i = 0; i <= steps; i++) {
        const ops = drawOps(space, k, rng);
        const runPy = async () => (await py.request({ cmd: kind, ops })).seconds;
        const runOurs = async () => {
          const t = process.hrtime.bigint();
          await (kind === 'weight' ? net.weightStep(x, y, { ops }) : net.archStep(x, y, { ops }));
          return Number(process.hrtime.bigint() - t) / 1e9;
        };
        const [a, b] = i % 2 ? [await runOurs(), await runPy()].reverse() : [await runPy(), await runOurs()];
        if (i === 0) continue; // one untimed step on each side (allocator, first touch)
        out.py.push(a);
        out.ours.push(b);
      }
      return out;
    };
    // Untimed, both sides: one weight step through every op of the space, so each side meets every shape
    // once before timing (oneDNN's primitive cache; torchnas's per-shape kernel choices, timed on first use
    // and kept in $TORCHNAS_HOME/kernel-choices.tsv).
    const every = drawOps(space, Math.max(space.headOps.length, space.stackOps.length), rng);
    await py.request({ cmd: 'weight', ops: every });
    await net.weightStep(x, y, { ops: every });
    const weight = await paired('weight', config.search_params.weight_sample_num);
    const arch = await paired('arch', 2);
    net.dispose();
    let pyLut = null;
    let lut = null;
    if (withLut) {
      pyLut = await py.request({ cmd: 'lut' });
      const relSe = relSeOption === 'match' ? Math.min(0.05, median(pyLut.rel_se)) : Number(relSeOption);
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
    await py.close();
    sections.push({ threads, py: { ...pyInfo, lut: pyLut }, steps: { weight, arch }, ours: { buildSeconds, lut } });
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  const i = info();
  console.log(`torchnas ${i.torchnas} (LibTorch ${i.libtorch}) vs PyTorch ${sections[0].py.torch}; ${path.relative(root, configFile)}, batch ${batch}`);
  console.log(`super network: ${sections[0].py.weights} weights and ${sections[0].py.arch_parameters} architecture parameters (Python side)`);
  for (const section of sections) {
    const { threads, py, ours } = section;
    setThreads(threads);
    const footing = compareFooting(info(), py.footing);
    console.log(`\n### ${threads} thread(s)`);
    for (const line of footing.lines) console.log(line);
    if (!footing.equal) console.log(`no ratios: ${footing.reasons.join('; ')}`);
    console.log('| work | Python s (median) | torchnas s (median) | ratio | goal |');
    console.log('|---|---|---|---|---|');
    const row = (name, a, b, goal) => console.log(`| ${name} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${ratio(b, a, footing, 2)} | ${goal} |`);
    row('construct the super network', py.build_seconds, ours.buildSeconds, '');
    const pairedRow = (name, { py: a, ours: b }) => {
      const each = b.map((v, k) => v / a[k]);
      console.log(
        `| ${name} | ${median(a).toFixed(3)} | ${median(b).toFixed(3)} | ${footing.equal ? `${median(each).toFixed(2)}× (steps ${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})` : ratio(1, 1, footing)} | ≤ 0.9× |`,
      );
    };
    pairedRow(`weight step (forward, backward, SGD; ${config.search_params.weight_sample_num} op(s) per row; ${steps} paired steps)`, section.steps.weight);
    pairedRow(`architecture step (forward, backward, Adam, re-scale; 2 ops per row; ${steps} paired steps)`, section.steps.arch);
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
