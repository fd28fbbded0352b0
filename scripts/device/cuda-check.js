#!/usr/bin/env node
// Checks of the CUDA path that need a GPU (CI has none): the addon built against a CUDA LibTorch sees the GPU, the
// c10d NCCL backend runs its collectives (a world of one: NCCL refuses two ranks on one GPU), tensors on the GPU
// round-trip, and the result of each check is written as JSON. scripts/device/cuda-check.sh builds and then runs
// this and the CLI commands with --device cuda.
// Usage: node scripts/device/cuda-check.js [OUT_DIR]
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');

const out = process.argv[2] || process.env.OUT || '.';
const dist = (p) => require(path.join(__dirname, '..', '..', 'dist', p));

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

async function main() {
  const { native } = dist('native');
  const { tensor } = dist('core/tensor');
  const b = native();
  const report = { info: b.info(), backends: b.Distributed.backends, checks: [] };
  const check = async (name, fn) => {
    const t0 = process.hrtime.bigint();
    try {
      const detail = await fn();
      report.checks.push({ name, ok: true, ms: Number(process.hrtime.bigint() - t0) / 1e6, detail });
    } catch (e) {
      report.checks.push({ name, ok: false, error: `${e.code ?? ''} ${e.message}` });
    }
  };
  const approx = (a, b, tol = 1e-5) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));

  await check('cuda visible', async () => {
    if (!report.info.cuda) throw new Error('info().cuda is false');
    return { devices: report.info.cudaDeviceCount };
  });
  await check('tensor round trip cuda:0', async () => {
    const host = tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const gpu = await host.to('cuda:0');
    const back = await gpu.to('cpu');
    if (!approx(back.toArray(), [1, 2, 3, 4])) throw new Error(`got ${Array.from(back.toArray())}`);
    return { device: gpu.device ?? null };
  });
  if (b.Distributed.backends.includes('nccl')) {
    await check('nccl world of one: collectives on cuda:0', async () => {
      const port = await freePort();
      const d = await b.Distributed.connect({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 60000, device: 'cuda:0' });
      try {
        if (d.backend !== 'nccl' || d.device !== 'cuda:0') throw new Error(`backend ${d.backend} on ${d.device}`);
        const values = Float32Array.from([1.5, -2, 3]);
        const cpuSum = await d.allReduce(tensor(values, [3]));
        const onGpu = await tensor(values, [3]).to('cuda:0');
        const gpuMean = await d.allReduce(onGpu, { mean: true });
        const gathered = await d.allGather(onGpu);
        const root = await d.broadcast(tensor(Float64Array.from([7, 8]), [2]));
        await d.barrier();
        const gpuBack = await gpuMean.to('cpu');
        const ok = approx(cpuSum.toArray(), values) && approx(gpuBack.toArray(), values) && gathered.length === 1 && approx(root.toArray(), [7, 8]);
        if (!ok) throw new Error('a collective changed the values of a world of one');
        return { backend: d.backend, device: d.device, cpuStaged: Array.from(cpuSum.toArray()), gathered: gathered.length };
      } finally {
        d.close();
      }
    });
  }
  await check('gloo refused or usable', async () => {
    if (!b.Distributed.backends.includes('gloo')) {
      const port = await freePort();
      try {
        await b.Distributed.connect({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, device: 'cpu' });
      } catch (e) {
        if (e.code !== 'DISTRIBUTED_UNAVAILABLE') throw e;
        return { refused: e.message };
      }
      throw new Error('a CPU group was created without Gloo');
    }
    return { gloo: true };
  });
  fs.writeFileSync(path.join(out, 'cuda-check.json'), JSON.stringify(report, null, 2));
  for (const c of report.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? ` (${c.ms.toFixed(1)} ms)` : `: ${c.error}`}`);
  process.exitCode = report.checks.every((c) => c.ok) ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
