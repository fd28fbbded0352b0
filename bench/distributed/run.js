#!/usr/bin/env node
// bench/distributed (issue 11): (1) the same fixed amount of DenseNAS weight steps with 1 process and with 2
// processes under `torchnas launch` (c10d Gloo on 127.0.0.1, 1 thread each, the global batch split over the
// ranks), printing the speed-up and where each rank's step time goes (forward, backward, collectives, update);
// (2) `tenas correlate --sample N` locally and with 2 `torchnas worker` processes on a Redis started here,
// printing the speed-up and whether the τ values agree. Needs the built addon and `npm run build:ts`.
// Usage: node bench/distributed/run.js [--config mbv2-fmnist28.yaml] [--limit 640] [--batch 32] [--sample 200]
//        [--no-dense] [--no-queue]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { option } = require('../footing');

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli', 'index.js');
const args = process.argv.slice(2);
const configFile = path.join(root, 'configs', 'densenas', option('config', 'mbv2-fmnist28.yaml'));
const limit = Number(option('limit', 640));
const batch = Number(option('batch', 32));
const sample = Number(option('sample', 200));
const env1 = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(command, argv, env = env1) {
  const started = process.hrtime.bigint();
  const out = execFileSync(command, argv, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return { out, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function denseLines(text) {
  return text
    .split('\n')
    .map((l) => l.replace(/^\[rank \d+\] /, ''))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function describeProfile(p, epochSeconds) {
  const total = p.prepare + p.compute + p.backward + p.communicate + p.update;
  const share = (v) => `${((100 * v) / total).toFixed(1)} %`;
  return `epoch ${epochSeconds.toFixed(1)} s; steps ${total.toFixed(1)} s = forward ${share(p.compute)}, backward ${share(p.backward)}, collectives ${share(p.communicate)}, update ${share(p.update)}, other ${share(p.prepare)}`;
}

async function dense() {
  const script = path.join(__dirname, 'dense-rank.js');
  const steps = Math.ceil(limit / batch);
  console.log(`DenseNAS weight steps: ${path.basename(configFile)}, ${steps} steps of global batch ${batch} (${limit} Fashion-MNIST images), 1 thread per process`);
  const one = run(process.execPath, [script, configFile, String(limit), String(batch)]);
  const [single] = denseLines(one.out);
  console.log(`  1 process:   ${describeProfile(single.profile, single.epochSeconds)}`);
  // `torchnas launch` starts torchnas commands; its library form starts any command with the same environment
  const { launch } = require(path.join(root, 'dist', 'distributed', 'launch'));
  let text = '';
  let errors = '';
  const two = await launch({ nprocPerNode: 2, masterPort: await freePort(), command: [process.execPath, script, configFile, String(limit), String(batch)], env: env1, stdout: (s) => (text += s), stderr: (s) => (errors += s) });
  if (two.exitCode !== 0) throw new Error(`the 2-process run failed:\n${errors}`);
  const ranks = denseLines(text).sort((a, b) => a.rank - b.rank);
  for (const r of ranks) console.log(`  2 processes, rank ${r.rank}: ${describeProfile(r.profile, r.epochSeconds)}`);
  const slowest = Math.max(...ranks.map((r) => r.epochSeconds));
  console.log(`  speed-up of the epoch: ${(single.epochSeconds / slowest).toFixed(2)}× (${single.epochSeconds.toFixed(1)} s → ${slowest.toFixed(1)} s); mean loss ${single.weightLoss.toFixed(3)} vs ${ranks[0].weightLoss.toFixed(3)}`);
  return { steps, batch, single, ranks, speedup: single.epochSeconds / slowest };
}

async function queue() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-bench-redis-'));
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const url = `redis://127.0.0.1:${port}`;
  const workers = [];
  try {
    console.log(`tenas correlate --sample ${sample}: locally (1 process) and with 2 queue workers (1 thread each)`);
    const local = run(process.execPath, [cli, 'tenas', 'correlate', '--sample', String(sample), '--threads', '1', '--json']);
    const a = JSON.parse(local.out);
    console.log(`  local:   ${local.seconds.toFixed(1)} s`);
    for (let k = 0; k < 2; k++) workers.push(spawn(process.execPath, [cli, 'worker', '--redis', url, '--threads', '1'], { cwd: root, env: env1, stdio: 'ignore' }));
    const fanned = run(process.execPath, [cli, 'tenas', 'correlate', '--sample', String(sample), '--threads', '1', '--queue', url, '--json']);
    const b = JSON.parse(fanned.out);
    // the per-architecture scores and the τ values (not the wall time)
    const strip = (e) => JSON.stringify({ tau: e.result.kendallTau, rho: e.result.spearman, archs: e.result.architectures.map(({ seconds: _s, ...rest }) => rest) });
    const same = strip(a) === strip(b);
    console.log(`  2 workers: ${fanned.seconds.toFixed(1)} s; speed-up ${(local.seconds / fanned.seconds).toFixed(2)}×; τ values ${same ? 'identical' : 'DIFFER'}`);
    return { local: local.seconds, queue: fanned.seconds, speedup: local.seconds / fanned.seconds, identical: same };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    redis.kill('SIGTERM');
  }
}

(async () => {
  const result = {};
  if (!args.includes('--no-dense')) result.dense = await dense();
  if (!args.includes('--no-queue')) result.queue = await queue();
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
