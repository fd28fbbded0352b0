/**
 * The TE-NAS main path, through the library (runTenasSearch, runTenasCorrelate, scoreArchitecture) and the
 * CLI (`tenas score|search|correlate`), against one pinned reference recorded from the code
 * (test/fixtures/tenas-pinned.json): same seed → the same architecture and the same scores.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openInputSource } from '../../src/data/input-source';
import { openNb201Table } from '../../src/benchmarks/nb201-lookup';
import { kendallTau } from '../../src/core/stats';
import { loadTenasConfig, TenasConfig } from '../../src/methods/tenas/config';
import { runTenasCorrelate, runTenasScore, runTenasSearch, scoreOptionsFrom, TenasSearchReport } from '../../src/methods/tenas/run';
import { scoreArchitecture } from '../../src/methods/tenas/score';
import { parseNb201String } from '../../src/spaces/nb201';
import { compileCli, runCli, spawnCli } from '../helpers/cli';
import { native } from '../../src/native';

interface PinnedCandidate {
  edge: string;
  op: string;
  deltaKappa: number;
  deltaRegions: number;
  kappaRank: number;
  regionsRank: number;
  rankSum: number;
  pruned: boolean;
  repeats: number[][];
}
const pinned = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tenas-pinned.json'), 'utf8')) as {
  config: Record<string, unknown>;
  search: { arch: string; ops: number[]; ntkEvaluations: number; rounds: { liveOpsPerEdge: number[]; candidates: PinnedCandidate[] }[] };
  score: { arch: string; seed: number; repeats: number; kappa: number[]; regions: number[] };
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-tenas-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// JSON is YAML: the pinned settings as a config file for the CLI.
const pinnedConfigFile = path.join(tmp, 'pinned.yaml');
fs.writeFileSync(pinnedConfigFile, JSON.stringify(pinned.config));
const pinnedConfig = (): TenasConfig => loadTenasConfig(pinnedConfigFile);

/**
 * Close to the pin (exact for integers and strings), element by element: within 1e-3 relative, or 1e-3 absolute for
 * the deltas the report rounds to 3 decimals. The pins were recorded with Debian's reference BLAS; with OpenBLAS
 * (what setup installs) the float32 GEMMs sum in another order: κ of the single score moved by 5e-7 relative, the
 * search's per-repeat log-κ of nearly singular NTKs by up to 1.6e-4 relative (measured). The architecture, every
 * rank, region count and pruning decision must still be exactly the pinned ones (checked above).
 */
function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    if (Number.isInteger(e)) expect(a).toBe(e);
    else expect(Math.abs(a - e)).toBeLessThanOrEqual(Math.max(1e-3 * Math.abs(e), 1e-3));
  });
}

function expectPinnedSearch(r: Pick<TenasSearchReport, 'arch' | 'ops' | 'ntkEvaluations' | 'rounds'>): void {
  expect(r.arch).toBe(pinned.search.arch);
  expect(r.ops).toEqual(pinned.search.ops);
  expect(r.ntkEvaluations).toBe(pinned.search.ntkEvaluations);
  expect(r.rounds.map((x) => x.liveOpsPerEdge)).toEqual(pinned.search.rounds.map((x) => x.liveOpsPerEdge));
  r.rounds.forEach((round, k) => expectPinnedRound(round, k));
}

function expectPinnedRound(round: TenasSearchReport['rounds'][number], k: number): void {
  const want = pinned.search.rounds[k].candidates;
  expect(round.candidates.map((c) => [c.edge, c.op, c.pruned, c.kappaRank, c.regionsRank, c.rankSum])).toEqual(
    want.map((c) => [c.edge, c.op, c.pruned, c.kappaRank, c.regionsRank, c.rankSum]),
  );
  expectClose(round.candidates.flatMap((c) => [c.deltaKappa, c.deltaRegions, ...c.repeats.flat()]), want.flatMap((c) => [c.deltaKappa, c.deltaRegions, ...c.repeats.flat()]));
}

describe('pinned TE-NAS search (NB201, random inputs, NTK batch 4, 1 repeat, seed 7)', () => {
  test('runTenasSearch reproduces the architecture and every candidate score; result.json is the envelope', async () => {
    const out = path.join(tmp, 'search-lib');
    const r = await runTenasSearch(pinnedConfig(), { out });
    expectPinnedSearch(r);
    const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(envelope).toMatchObject({ method: 'tenas search', status: 'completed', device: 'cpu', seed: 7, threads: 1, config: { seed: 7, ntk: { batchSize: 4 } } });
    expect(envelope.error).toBeUndefined();
    expect(envelope.result.arch).toBe(pinned.search.arch);
    expect(envelope.result.rounds).toHaveLength(3);
    expect(fs.readFileSync(path.join(out, 'rounds.svg'), 'utf8')).toMatch(/^<svg/);
  });

  test('`tenas search --json` prints the same result in the envelope', async () => {
    const r = await runCli(['tenas', 'search', '--config', pinnedConfigFile, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // --json: no progress bar
    const envelope = JSON.parse(r.stdout);
    expect(envelope).toMatchObject({ method: 'tenas search', status: 'completed', seed: 7 });
    expectPinnedSearch(envelope.result);
  });
});

describe('scoring one architecture', () => {
  const ops = parseNb201String(pinned.score.arch);

  test('scoreArchitecture, runTenasScore and `tenas score` give the pinned κ and R', async () => {
    const config = loadTenasConfig(pinnedConfigFile, { search: { repeats: pinned.score.repeats } });
    const direct = await scoreArchitecture(ops, await openInputSource('random', pinned.score.seed), scoreOptionsFrom(config, pinned.score.seed, 'cpu'));
    expectClose(direct.kappa.values, pinned.score.kappa);
    expectClose(direct.regions.values, pinned.score.regions);

    const out = path.join(tmp, 'score');
    const run = await runTenasScore(config, ops, { out });
    expectClose(run.kappa.values, pinned.score.kappa);
    expect(run.arch).toBe(pinned.score.arch);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(saved).toMatchObject({ method: 'tenas score', status: 'completed', config: { search: { repeats: 2 } } });

    const cli = await runCli(['tenas', 'score', '--config', pinnedConfigFile, '--repeats', String(pinned.score.repeats), '--arch', pinned.score.arch, '--json']);
    expect(cli.code).toBe(0);
    const envelope = JSON.parse(cli.stdout);
    expectClose(envelope.result.kappa.values, pinned.score.kappa);
    expectClose(envelope.result.regions.values, pinned.score.regions);
    expect(envelope.config.search.repeats).toBe(2); // the flag reached the config
  });
});

describe('correlation study', () => {
  test('runTenasCorrelate scores the sampled architectures, looks them up and rank-correlates; the CLI agrees', async () => {
    const table = 'nb201'; // the bundled table, by name
    const out = path.join(tmp, 'correlate');
    const r = await runTenasCorrelate(pinnedConfig(), table, 4, 3, { out });
    expect(r.scored).toBe(4);
    const nb201 = await openNb201Table(table);
    for (const a of r.architectures) {
      expect(nb201.index.indexOf(a.ops)).toBe(a.index);
      expect(a.accuracy).toBe(nb201.records[a.index].acc);
      expect(a.kappa.values).toHaveLength(1);
    }
    expect(r.kendallTau.kappa).toBe(kendallTau(r.architectures.map((a) => a.kappa.mean), r.architectures.map((a) => a.accuracy)));
    const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(envelope).toMatchObject({ method: 'tenas correlate', status: 'completed', seed: 3, result: { scored: 4, sample: 4 } });

    // no --benchmark: the bundled NB201 table is the default
    const cli = await runCli(['tenas', 'correlate', '--config', pinnedConfigFile, '--sample', '4', '--seed', '3', '--json']);
    expect(cli.code).toBe(0);
    const printed = JSON.parse(cli.stdout);
    expect(printed.result.kendallTau).toEqual(r.kendallTau);
    expect(printed.result.table).toBe('nb201');
  });
});

describe('flags are validated by the config schema', () => {
  test.each([
    [['tenas', 'search', '--repeats', '0'], /search\.repeats: Number must be greater than or equal to 1/],
    [['tenas', 'search', '--batch', '1'], /ntk\.batchSize: Number must be greater than or equal to 2/],
    [['tenas', 'score', '--arch', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', '--repeats', '0'], /search\.repeats: Number must be greater than or equal to 1/],
    [['tenas', 'score', '--arch', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', '--batch', '1'], /ntk\.batchSize: Number must be greater than or equal to 2/],
    [['tenas', 'correlate', '--benchmark', 'x.pkl', '--repeats', '0'], /search\.repeats: Number must be greater than or equal to 1/],
    [['tenas', 'correlate', '--benchmark', 'x.pkl', '--batch', '1'], /ntk\.batchSize: Number must be greater than or equal to 2/],
    [['tenas', 'search', '--mode', 'trace'], /ntk\.mode: Invalid enum value/],
    [['tenas', 'search', '--data', 'mnist'], /data\.source: expected 'fashion-mnist', 'random', 'cifar10:DIR' or 'folder:DIR'/],
  ])('%j is a config error (exit 2)', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^torchnas tenas (search|score|correlate): error \[CONFIG_INVALID\]: .*nb201\.yaml \(with command-line options\): invalid config: /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('--device reaches the device check: an unknown name is INVALID_ARGUMENT, CUDA on a CPU-only build DEVICE_UNAVAILABLE', async () => {
    const arch = '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|';
    const bad = await runCli(['tenas', 'score', '--arch', arch, '--data', 'random', '--device', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error \[INVALID_ARGUMENT\]: unknown device 'gpu'/);
    if (!native().info().cuda) {
      const cuda = await runCli(['tenas', 'score', '--arch', arch, '--data', 'random', '--device', 'cuda']);
      expect(cuda.code).toBe(1);
      expect(cuda.stderr).toMatch(/error \[DEVICE_UNAVAILABLE\]: device 'cuda' requested but CUDA is not available/);
    }
  });

  test('usage errors: a non-integer, an unknown flag, a subcommand that does not exist, --space on score', async () => {
    for (const argv of [
      ['tenas', 'search', '--repeats', 'two'],
      ['tenas', 'search', '--frobnicate'],
      ['tenas', 'prune'],
      ['tenas', 'score', '--space', 'darts', '--arch', 'x'],
      ['tenas', 'search', '--space', 'nb101'],
    ]) {
      const r = await runCli(argv);
      expect([argv, r.code]).toEqual([argv, 2]);
      expect(r.stderr).toMatch(/error \[INVALID_ARGUMENT\]/);
    }
  });

  test('each subcommand has its own help', async () => {
    const score = await runCli(['tenas', 'score', '--help']);
    expect(score.code).toBe(0);
    expect(score.stdout).toMatch(/--arch STR/);
    expect(score.stdout).not.toMatch(/--benchmark/);
    const correlate = await runCli(['tenas', 'correlate', '--help']);
    expect(correlate.stdout).toMatch(/--sample N/);
  });
});

describe('cancellation', () => {
  test('an aborted search writes an interrupted result.json and rejects with CANCELLED', async () => {
    const controller = new AbortController();
    const out = path.join(tmp, 'aborted');
    let progressed = 0;
    const run = runTenasSearch(pinnedConfig(), {
      out,
      signal: controller.signal,
      onProgress: (done) => {
        progressed = done;
        if (done === 30) controller.abort(); // in round 2 (round 1 has 24 candidates)
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(progressed).toBe(30); // no candidate finished after the abort
    const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(envelope).toMatchObject({ method: 'tenas search', status: 'interrupted', error: { code: 'CANCELLED' }, result: { roundsCompleted: 1 } });
    expectPinnedRound(envelope.result.rounds[0], 0); // the completed round is the pinned one
  });

  describe('SIGINT to the CLI (a child process)', () => {
    let cli: string;
    beforeAll(() => {
      cli = compileCli();
    });

    test('tenas search: exit 130, result.json valid and interrupted', async () => {
      const out = path.join(tmp, 'sigint-search');
      // Enough work that it cannot finish before the signal: 3 repeats of 3000 linear-region samples per candidate.
      const run = spawnCli(cli, ['tenas', 'search', '--data', 'random', '--batch', '8', '--repeats', '3', '--threads', '1', '--out', out]);
      await run.waitForStderr(/search: [1-9]\d*\/54/); // the first candidate is scored
      run.child.kill('SIGINT');
      const { code, stderr } = await run.exit;
      expect(code).toBe(130);
      expect(stderr).toMatch(/torchnas tenas search: error \[CANCELLED\]: TE-NAS search was cancelled/);
      const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
      expect(envelope).toMatchObject({ method: 'tenas search', status: 'interrupted', result: { space: 'nb201' } });
      expect(envelope.result.rounds).toHaveLength(envelope.result.roundsCompleted);
      expect(fs.readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]); // no half-written file left
    });

    test('tenas correlate: exit 130, result.json holds the architectures scored so far', async () => {
      const out = path.join(tmp, 'sigint-correlate');
      const table = 'nb201';
      const run = spawnCli(cli, ['tenas', 'correlate', '--benchmark', table, '--data', 'random', '--batch', '8', '--repeats', '3', '--sample', '200', '--threads', '1', '--out', out]);
      await run.waitForStderr(/correlate: [1-9]\d*\/200/);
      run.child.kill('SIGINT');
      const { code } = await run.exit;
      expect(code).toBe(130);
      const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
      expect(envelope).toMatchObject({ method: 'tenas correlate', status: 'interrupted', error: { code: 'CANCELLED' }, result: { sample: 200 } });
      expect(envelope.result.scored).toBeGreaterThanOrEqual(1);
      expect(envelope.result.scored).toBeLessThan(200);
      expect(envelope.result.architectures).toHaveLength(envelope.result.scored);
      expect(Date.parse(envelope.finishedAt)).toBeGreaterThanOrEqual(Date.parse(envelope.startedAt));
    });
  });
});
