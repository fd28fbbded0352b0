/**
 * The job queue (src/distributed/queue.ts) on a private redis-server: `tenas correlate --queue` with two
 * `torchnas worker` processes gives exactly the local run's scores even when one worker is killed (SIGKILL)
 * mid-job; a rerun reuses the finished results; a bad job fails with its error recorded while the others complete;
 * `densenas train --top-k` retrains a search's best networks on a worker exactly as locally; `ncp train --seeds`
 * trains its members on a worker exactly as locally and brings their predictor files back; `tenas search --queue`
 * scores each round's candidates on two workers with the local search's scores, ranks and architecture.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDenseSearch } from '../../src/methods/densenas/search';
import { trainTopK } from '../../src/methods/densenas/top-k';
import { loadNcpConfig } from '../../src/methods/ncp/config';
import { NcpSeedsResult, trainNcpSeeds } from '../../src/methods/ncp/seeds';
import { PACKAGE_ROOT } from '../../src/native';
import { parseDenseNasConfig } from '../../src/spaces/densenas';
import { canonicalJson, checkRedis, JobOutcome, parseRedisUrl, resultKey, runJobs } from '../../src/distributed/queue';
import { tenasConfigSchema } from '../../src/methods/tenas/config';
import { runTenasCorrelate, runTenasSearch, TENAS_CANDIDATE_JOB, TENAS_CORRELATE_JOB } from '../../src/methods/tenas/run';
import { ArchitectureScore } from '../../src/methods/tenas/score';
import { compileCli, spawnCli, ChildRun } from '../helpers/cli';
import { tinySearchYaml } from '../helpers/densenas';
import { redisServerPath, startRedis, RedisInstance } from '../helpers/redis';

describe('queue plumbing', () => {
  test('Redis URLs parse, and bad ones are refused by name', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(parseRedisUrl('redis://:s%40cret@queue.example')).toEqual({ host: 'queue.example', port: 6379, password: 's@cret' });
    expect(() => parseRedisUrl('http://x:1')).toThrow(/not a Redis URL: 'http:\/\/x:1'/);
    expect(() => parseRedisUrl('redis://h:1/abc')).toThrow(/database 'abc' is not a number/);
  });

  test('result keys hash the job, not its key order, and change with any input', () => {
    const a = resultKey('k', { seed: 1, ops: [0, 1], config: { x: 1, y: 2 } }, '1.0.0');
    expect(resultKey('k', { config: { y: 2, x: 1 }, ops: [0, 1], seed: 1 }, '1.0.0')).toBe(a);
    expect(resultKey('k', { seed: 2, ops: [0, 1], config: { x: 1, y: 2 } }, '1.0.0')).not.toBe(a);
    expect(resultKey('k', { seed: 1, ops: [1, 0], config: { x: 1, y: 2 } }, '1.0.0')).not.toBe(a);
    expect(resultKey('other', { seed: 1, ops: [0, 1], config: { x: 1, y: 2 } }, '1.0.0')).not.toBe(a);
    expect(resultKey('k', { seed: 1, ops: [0, 1], config: { x: 1, y: 2 } }, '1.0.1')).not.toBe(a);
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
    expect(() => canonicalJson({ x: NaN })).toThrow(/NaN is not/);
  });

  test('an unreachable Redis is a clear QUEUE_UNAVAILABLE error, not a hang', async () => {
    await expect(checkRedis('redis://127.0.0.1:1', 2000)).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE', message: expect.stringMatching(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/) });
  });
});

const haveRedis = redisServerPath() !== undefined;
if (!haveRedis) {
  if (process.env.CI) throw new Error('redis-server is required in CI (apt-get install redis-server)');
  // eslint-disable-next-line no-console
  console.warn('test/distributed/queue.test.ts: redis-server is not installed; the queue runs are skipped (apt-get install redis-server)');
}
const withRedis = haveRedis ? describe : describe.skip;

withRedis('tenas correlate on two workers', () => {
  let redis: RedisInstance;
  let cli: string;
  const workers: ChildRun[] = [];
  const config = tenasConfigSchema.parse({ space: 'nb201', seed: 7, threads: 1, data: { source: 'random' }, ntk: { batchSize: 16 }, linearRegions: { samples: 2000, batchSize: 1000 }, search: { repeats: 1 } });
  const startWorker = () => {
    const w = spawnCli(cli, ['worker', '--redis', redis.url, '--threads', '1', '--stall-ms', '1500']);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    redis = await startRedis();
    cli = compileCli('build-queue-test');
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
  });

  const scores = (rows: ArchitectureScore[]) => rows.map((r) => ({ ops: r.ops, kappa: r.kappa, regions: r.regions, saturated: r.saturated }));

  test('a worker killed mid-job loses nothing: the results equal a local run; a rerun reuses them', async () => {
    const local = await runTenasCorrelate(config, 'nb201', 6, 3);
    const a = startWorker();
    const b = startWorker();
    await Promise.all([a.waitForStderr(/ready on/), b.waitForStderr(/ready on/)]);
    const run = runTenasCorrelate(config, 'nb201', 6, 3, { queue: redis.url });
    // kill worker a as soon as it has taken a job: that job must be taken up again by worker b
    const started = await a.waitForStderr(/started tenas\.correlate (r[0-9a-f]+)/);
    a.child.kill('SIGKILL');
    const killedJob = /(r[0-9a-f]+)/.exec(started)![1];
    const queued = await run;
    expect(queued.scored).toBe(6);
    expect(queued.queue).toEqual({ reused: 0, failed: 0 });
    expect(scores(queued.architectures)).toEqual(scores(local.architectures));
    expect(queued.architectures.map((r) => [r.index, r.accuracy])).toEqual(local.architectures.map((r) => [r.index, r.accuracy]));
    expect(queued.kendallTau).toEqual(local.kendallTau);
    // worker b ran the killed worker's job again
    await b.waitForStderr(new RegExp(`started tenas\\.correlate ${killedJob}`));

    // a rerun finds every result in Redis: nothing is computed again (no worker needed)
    b.child.kill('SIGINT');
    expect((await b.exit).code).toBe(0);
    const again = await runTenasCorrelate(config, 'nb201', 6, 3, { queue: redis.url });
    expect(again.queue).toEqual({ reused: 6, failed: 0 });
    expect(scores(again.architectures)).toEqual(scores(local.architectures));
  });

  test('a job with bad input fails with its error recorded; the other jobs complete', async () => {
    const w = startWorker();
    await w.waitForStderr(/ready on/);
    const { threads: _t, ...jobConfig } = config;
    const good = { config: jobConfig, seed: 11, index: 5, ops: [3, 3, 3, 3, 3, 3] };
    const bad = { config: jobConfig, seed: 11, index: 6, ops: [3, 3, 9, 3, 3, 3] };
    const unknown = { kind: 'no.such-kind', payload: {} };
    const outcomes: JobOutcome<ArchitectureScore>[] = await runJobs(redis.url, [
      { kind: TENAS_CORRELATE_JOB, payload: good },
      { kind: TENAS_CORRELATE_JOB, payload: bad },
      unknown,
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'completed', reused: false, result: { ops: [3, 3, 3, 3, 3, 3] } });
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: expect.stringMatching(/INVALID_CODE|op/) });
    expect(outcomes[2]).toMatchObject({ status: 'failed', error: expect.stringMatching(/unknown job kind 'no\.such-kind'/) });
    w.child.kill('SIGTERM');
    expect((await w.exit).code).toBe(0);
  });
});



/** A private redis-server, the compiled CLI (for `torchnas worker`) and a temporary folder, for one describe block. */
function queueFixture(prefix: string) {
  const f = { redis: undefined as unknown as RedisInstance, cli: '', tmp: fs.mkdtempSync(path.join(os.tmpdir(), prefix)) };
  beforeAll(async () => {
    f.redis = await startRedis();
    f.cli = compileCli('build-queue-test');
  });
  afterAll(async () => {
    await f.redis?.stop();
    fs.rmSync(f.tmp, { recursive: true, force: true });
  });
  return f;
}

withRedis('tenas search on two workers', () => {
  const f = queueFixture('torchnas-tenas-search-');

  test("each round's candidates are scored on the workers: the local search's scores, ranks and architecture; bad jobs fail by name", async () => {
    const config = tenasConfigSchema.parse({
      space: 'nb201',
      seed: 5,
      threads: 1,
      data: { source: 'random' },
      ntk: { batchSize: 6 },
      linearRegions: { samples: 300, batchSize: 300, inputSize: 3 },
      search: { repeats: 1 },
    });
    const local = await runTenasSearch(config);
    const workers = [0, 1].map(() => spawnCli(f.cli, ['worker', '--redis', f.redis.url, '--threads', '1']));
    try {
      await Promise.all(workers.map((w) => w.waitForStderr(/ready on/)));
      const queued = await runTenasSearch(config, { queue: f.redis.url });
      const rounds = (r: typeof local) => r.rounds.map((round) => round.candidates.map(({ repeats, deltaKappa, deltaRegions, rankSum, pruned }) => ({ repeats, deltaKappa, deltaRegions, rankSum, pruned })));
      expect(queued.arch).toBe(local.arch);
      expect(rounds(queued)).toEqual(rounds(local));
      expect(queued.queue).toEqual({ jobs: 54, reused: 0 });
      expect(queued.ntkEvaluations).toBe(local.ntkEvaluations);
      // both workers took candidates
      for (const w of workers) await w.waitForStderr(/started tenas\.candidate/);
      // bad candidate jobs fail with their error recorded
      const { threads: _t, ...jobConfig } = config;
      const row = Array.from({ length: 30 }, () => 0);
      const outcomes = await runJobs(f.redis.url, [
        { kind: TENAS_CANDIDATE_JOB, payload: { config: jobConfig, round: 0, index: 1, origin: [row], alphas: [row.slice(1)] } },
        { kind: TENAS_CANDIDATE_JOB, payload: { config: jobConfig, round: -1, index: 1, origin: [row], alphas: [row] } },
      ]);
      expect(outcomes[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/nb201 takes 1 α row\(s\) of 30 values/) });
      expect(outcomes[1]).toMatchObject({ status: 'failed', error: expect.stringMatching(/round \(>= 0\)/) });
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) expect((await w.exit).code).toBe(0);
    }
  });
});

withRedis('densenas train --top-k on a worker', () => {
  const f = queueFixture('torchnas-topk-');

  test("the search's two best networks retrain on a worker exactly as here; a missing top list is a clear error", async () => {
    // a tiny search (blocks 0..4, 28×28×1) validating from epoch 1, so top_results.json keeps two networks
    const yaml = tinySearchYaml({ epochs: 3, seed: 3, archStart: 1, valStart: 1 });
    const search = path.join(f.tmp, 'search');
    await runDenseSearch(parseDenseNasConfig(yaml, 'tiny.yaml'), { limit: 64, out: search, threads: 1, distributed: null });
    const settings = { k: 2, epochs: 1, limit: 256, batchSize: 32, seed: 9, threads: 1, latencyBatch: 4 };
    const local = await trainTopK(search, { ...settings, out: path.join(f.tmp, 'local') });
    expect(local.candidates).toHaveLength(2);
    expect(fs.existsSync(path.join(f.tmp, 'local', 'top-2', 'result.json'))).toBe(true);
    const w = spawnCli(f.cli, ['worker', '--redis', f.redis.url, '--threads', '1']);
    await w.waitForStderr(/ready on/);
    const queued = await trainTopK(search, { ...settings, queue: f.redis.url });
    w.child.kill('SIGTERM');
    expect((await w.exit).code).toBe(0);
    expect(queued.queue).toEqual({ reused: 0, failed: 0 });
    // everything but the wall clock and the latency measured on the worker
    const same = (t: typeof local) => t.candidates.map((c) => ({ ...c, result: c.result && { ...c.result, measuredLatencyMs: 0, epochs: c.result.epochs.map((e) => ({ ...e, seconds: 0 })) } }));
    expect(same(queued)).toEqual(same(local));
    expect(queued.best).toBe(local.best);
    await expect(trainTopK(f.tmp, { ...settings })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/top_results\.json not found/) });
  });
});

withRedis('ncp train --seeds on a worker', () => {
  const f = queueFixture('torchnas-ncp-seeds-');

  test('two seeds train on a worker exactly as here, with their predictor files; a bad table fails that job only', async () => {
    const config = loadNcpConfig(path.join(PACKAGE_ROOT, 'configs', 'ncp', 'seg.yaml'));
    config.optimization.epoch = 12;
    const local = await trainNcpSeeds(config, { seeds: [1, 2], out: path.join(f.tmp, 'local'), threads: 1 });
    expect(local.members.map((m) => m.seed)).toEqual([1, 2]);
    // different seeds: different splits and initialisations, so different predictors
    expect(local.members[0].result!.history).not.toEqual(local.members[1].result!.history);
    const w = spawnCli(f.cli, ['worker', '--redis', f.redis.url, '--threads', '1']);
    await w.waitForStderr(/ready on/);
    const queued = await trainNcpSeeds(config, { seeds: [1, 2], queue: f.redis.url, out: path.join(f.tmp, 'queued') });
    const bad = await trainNcpSeeds(config, { seeds: [3], queue: f.redis.url, data: 'no-such-table' });
    w.child.kill('SIGTERM');
    expect((await w.exit).code).toBe(0);
    expect(queued.queue).toEqual({ reused: 0, failed: 0 });
    // everything but wall clocks and the per-phase profile
    const same = (r: NcpSeedsResult) => r.members.map((m) => ({ seed: m.seed, result: m.result && { ...m.result, wallSeconds: null, profile: null } }));
    expect(same(queued)).toEqual(same(local));
    expect(queued.summary).toEqual(local.summary);
    for (const seed of [1, 2]) {
      for (const file of ['predictor.json', 'best_model.pt', 'last_model.pt']) {
        const a = fs.readFileSync(path.join(f.tmp, 'local', `seed-${seed}`, file));
        const b = fs.readFileSync(path.join(f.tmp, 'queued', `seed-${seed}`, file));
        expect(b.length).toBe(a.length);
        if (file === 'predictor.json') expect(JSON.parse(b.toString())).toEqual(JSON.parse(a.toString()));
      }
    }
    expect(bad.queue).toEqual({ reused: 0, failed: 1 });
    expect(bad.members[0]).toMatchObject({ seed: 3, result: null, error: expect.stringMatching(/no-such-table/) });
    await expect(trainNcpSeeds(config, { seeds: [1, 1] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/seeds must differ/) });
  });
});
