/**
 * Data parallelism on c10d (Gloo on CPU), two processes on 127.0.0.1: collectives, rank 0's weights broadcast, and
 * one data-parallel run of a BatchNorm-free network equal to one process on the union of the shards; train-demo
 * under `torchnas launch`; sharding; clear errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shardIndices, takeRows } from '../../src/distributed/data-parallel';
import { launch } from '../../src/distributed/launch';
import { native } from '../../src/native';
import { compileCli, ROOT, spawnCli } from '../helpers/cli';
import { freePort } from '../helpers/net';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { fixedImages } = require('../fixtures/distributed/dp-data.cjs') as { fixedImages: () => { images: Uint8Array; labels: Uint8Array; count: number } };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));


test('shards are disjoint, equal-sized, seeded, and cover all but the remainder', () => {
  const a = [0, 1, 2].map((r) => Array.from(shardIndices(10, r, 3, 5)));
  expect(a.map((s) => s.length)).toEqual([3, 3, 3]);
  expect(new Set(a.flat()).size).toBe(9);
  expect(a.flat().every((i) => i >= 0 && i < 10)).toBe(true);
  expect(Array.from(shardIndices(10, 1, 3, 5))).toEqual(a[1]);
  expect(Array.from(shardIndices(10, 1, 3, 6))).not.toEqual(a[1]);
  expect(() => shardIndices(10, 3, 3, 0)).toThrow(/rank must be in 0\.\.2, got 3/);
  expect(() => shardIndices(1, 0, 2, 0)).toThrow(/1 item\(s\) cannot be shared by 2 ranks/);
  expect(Array.from(takeRows(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, [2, 0]))).toEqual([5, 6, 1, 2]);
});

const available = native().Distributed.available;
const withC10d = available ? describe : describe.skip;
if (!available) {
  if (process.env.CI) throw new Error('the addon was built without c10d in CI (libgloo-dev missing?)');
  // eslint-disable-next-line no-console
  console.warn('test/distributed/data-parallel.test.ts: this addon has no c10d; the process-group tests are skipped');
}

withC10d('two processes on one host', () => {
  test('one data-parallel run (2 ranks × 4 images) equals one process on the 8 images; collectives agree', async () => {
    const build = compileCli('build-dp-test');
    const outDir = fs.mkdtempSync(path.join(tmp, 'ranks-'));
    const fixture = path.join(ROOT, 'test', 'fixtures', 'distributed', 'dp-step.cjs');
    let stderr = '';
    const r = await launch({ nprocPerNode: 2, masterPort: await freePort(), command: [process.execPath, fixture, path.dirname(path.dirname(build)), outDir], stdout: () => undefined, stderr: (s) => (stderr += s) });
    expect({ code: r.exitCode, stderr }).toEqual({ code: 0, stderr: '' });
    const ranks = [0, 1].map((k) => JSON.parse(fs.readFileSync(path.join(outDir, `rank${k}.json`), 'utf8')));
    expect(ranks[0].gathered).toEqual([[0, 0], [1, 10]]);
    expect(ranks[1].gathered).toEqual([[0, 0], [1, 10]]);
    expect(ranks[0].summed).toEqual([3]);

    // the reference: rank 0's initialisation (seed 100), one process, all 8 images, the same 2 steps
    const b = native();
    const model = new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 100, batchNorm: false });
    const { images, labels, count } = fixedImages();
    const losses = await model.trainSteps(new b.Tensor(images, [count, 8, 8]), new b.Tensor(labels, [count]), 2, { lr: 0.1, momentum: 0.9 });
    // each rank's loss is its own shard's; their mean is the union's loss
    expect((ranks[0].losses[0] + ranks[1].losses[0]) / 2).toBeCloseTo(losses[0], 5);
    for (const name of model.parameterNames()) {
      const want = Array.from(model.parameter(name).toArray() as Float32Array);
      for (const rank of ranks) {
        const got: number[] = rank.params[name];
        expect(got).toHaveLength(want.length);
        const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i]) / (1e-3 + Math.abs(want[i]))));
        expect({ name, rank: rank.rank, worst: worst < 1e-4 }).toEqual({ name, rank: rank.rank, worst: true });
      }
    }
    // and the weights moved: the check is not comparing the initialisation with itself
    const init = new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 100, batchNorm: false });
    expect(Array.from(init.parameter('fc.weight').toArray() as Float32Array)).not.toEqual(ranks[0].params['fc.weight']);
  });

  test('train-demo under `torchnas launch --nproc-per-node 2`: rank 0 writes one result, both ranks trained', async () => {
    const cli = compileCli('build-dp-test');
    const out = path.join(tmp, 'demo');
    const run = spawnCli(cli, ['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'train-demo', '--epochs', '1', '--limit', '1200', '--threads', '1', '--seed', '4', '--out', out]);
    const exit = await run.exit;
    expect({ code: exit.code, stderr: exit.code === 0 ? '' : exit.stderr }).toEqual({ code: 0, stderr: '' });
    const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(envelope).toMatchObject({ method: 'train-demo', status: 'completed', result: { worldSize: 2, trainImages: 1200 } });
    expect(envelope.result.testAccuracy).toBeGreaterThan(0.3);
    expect(exit.stderr).toMatch(/\[rank 1\]/);
  });

  test('a rank killed with SIGKILL mid-run: `launch --max-restarts 1` restarts the group from the checkpoint and ends as an uninterrupted run', async () => {
    const cli = compileCli('build-dp-test');
    const args = (out: string) => ['train-demo', '--epochs', '4', '--limit', '2400', '--threads', '1', '--seed', '6', '--out', out];
    const whole = path.join(tmp, 'whole');
    const reference = await spawnCli(cli, ['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', ...args(whole)]).exit;
    expect({ code: reference.code, stderr: reference.code === 0 ? '' : reference.stderr }).toEqual({ code: 0, stderr: '' });

    const killed = path.join(tmp, 'killed');
    const run = spawnCli(cli, ['launch', '--nproc-per-node', '2', '--max-restarts', '1', '--master-port', String(await freePort()), '--', ...args(killed)]);
    // rank 0 writes checkpoint.pt after each epoch: kill rank 1 as soon as the first one is there
    const checkpoint = path.join(killed, 'checkpoint.pt');
    while (!fs.existsSync(checkpoint)) {
      if (run.child.exitCode !== null) throw new Error('the launch ended before the first checkpoint');
      await new Promise((r) => setTimeout(r, 20));
    }
    const children = fs.readFileSync(`/proc/${run.child.pid}/task/${run.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const rank1 = children.find((pid) => /(^|\0)RANK=1(\0|$)/.test(fs.readFileSync(`/proc/${pid}/environ`, 'utf8')));
    expect(rank1).toBeDefined();
    process.kill(rank1!, 'SIGKILL');
    const exit = await run.exit;
    expect({ code: exit.code, stderr: exit.code === 0 ? '' : exit.stderr }).toEqual({ code: 0, stderr: '' });
    // rank 1's death, or rank 0's failure on the broken connection, whichever the launcher sees first
    expect(exit.stderr).toMatch(/\[launch\] rank [01] failed \((killed by SIGKILL|exit code \d+)\); restarting the group \(1\/1\)/);
    const a = JSON.parse(fs.readFileSync(path.join(whole, 'result.json'), 'utf8')).result;
    const b = JSON.parse(fs.readFileSync(path.join(killed, 'result.json'), 'utf8')).result;
    expect(b.resumedAtEpoch).toBeGreaterThanOrEqual(1);
    expect(b.resumedAtEpoch).toBeLessThan(4);
    const losses = (r: { epochs: { meanLoss: number; trainAccuracy: number }[] }) => r.epochs.map((e) => [e.meanLoss, e.trainAccuracy]);
    expect(losses(b)).toEqual(losses(a));
    expect(b.testAccuracy).toBe(a.testAccuracy);
  });

  test('a rank that cannot reach the store is a clear DISTRIBUTED_TIMEOUT', async () => {
    const port = await freePort();
    await expect(native().Distributed.connect({ rank: 1, worldSize: 2, masterPort: port, timeoutMs: 1500 })).rejects.toMatchObject({
      code: 'DISTRIBUTED_TIMEOUT',
      message: expect.stringMatching(new RegExp(`rank 1 could not join the store at 127\\.0\\.0\\.1:${port}`)),
    });
    // bad options are refused at the call, before any job starts
    expect(() => native().Distributed.connect({ rank: 2, worldSize: 2 })).toThrow(/options\.rank must be in 0\.\.worldSize-1/);
  });

  test('the backend follows the device: Gloo on CPU (a world of one runs every collective); NCCL only where built, on CUDA', async () => {
    const b = native();
    expect(b.Distributed.backends).toContain('gloo');
    const cudaBuilt = b.Distributed.backends.includes('nccl');
    const d = await b.Distributed.connect({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 20000, device: 'cpu' });
    try {
      expect({ backend: d.backend, device: d.device }).toEqual({ backend: 'gloo', device: 'cpu' });
      const sum = await d.allReduce(new b.Tensor(Float32Array.from([1.5, -2]), [2]), { mean: true });
      expect(Array.from(sum.toArray())).toEqual([1.5, -2]);
      expect((await d.allGather(new b.Tensor(Float64Array.from([3]), [1]))).map((t) => Array.from(t.toArray()))).toEqual([[3]]);
      await d.barrier();
    } finally {
      d.close();
    }
    // refused before any rendezvous: an unknown backend, NCCL without CUDA (or not built), a device that is not there
    await expect(b.Distributed.connect({ rank: 0, worldSize: 1, masterPort: await freePort(), backend: 'mpi' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/unknown backend 'mpi': expected 'gloo' or 'nccl'/),
    });
    await expect(b.Distributed.connect({ rank: 0, worldSize: 1, masterPort: await freePort(), backend: 'nccl' })).rejects.toMatchObject(
      cudaBuilt
        ? { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/the NCCL backend needs a CUDA device, got 'cpu'/) }
        : { code: 'DISTRIBUTED_UNAVAILABLE', message: expect.stringMatching(/backend 'nccl' is not built into this torchnas \(built: gloo\)/) },
    );
    if (!b.info().cuda) {
      await expect(b.Distributed.connect({ rank: 0, worldSize: 1, masterPort: await freePort(), device: 'cuda' })).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
    }
  });
});
