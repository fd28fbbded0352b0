/**
 * `torchnas launch` (src/distributed/launch.ts): torchrun's environment for every worker, rank-prefixed output, a
 * failing rank stops the group with its exit code and error and leaves no process behind, restarts, and the CLI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launch, launchEnvironment } from '../../src/distributed/launch';
import { compileCli, spawnCli } from '../helpers/cli';

const fixture = path.join(__dirname, '..', 'fixtures', 'launch', 'worker.cjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-launch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function capture() {
  const lines = { out: '', err: '' };
  return { lines, stdout: (s: string) => (lines.out += s), stderr: (s: string) => (lines.err += s) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('every worker gets torchrun\'s environment; output lines carry the rank', async () => {
  const c = capture();
  const r = await launch({ nprocPerNode: 2, nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.7', masterPort: 29611, command: [process.execPath, fixture], stdout: c.stdout, stderr: c.stderr });
  expect(r).toMatchObject({ exitCode: 0, restarts: 0, interrupted: false });
  expect(r.failure).toBeUndefined();
  const lines = c.lines.out.trim().split('\n').sort();
  expect(lines).toEqual([
    '[rank 2] env RANK=2 LOCAL_RANK=0 WORLD_SIZE=4 LOCAL_WORLD_SIZE=2 MASTER_ADDR=10.0.0.7 MASTER_PORT=29611 RESTART=0',
    '[rank 2] partial line without newline',
    '[rank 3] env RANK=3 LOCAL_RANK=1 WORLD_SIZE=4 LOCAL_WORLD_SIZE=2 MASTER_ADDR=10.0.0.7 MASTER_PORT=29611 RESTART=0',
    '[rank 3] partial line without newline',
  ]);
});

test('a failing rank stops the others: the launch fails with its exit code and error, no worker is left', async () => {
  const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
  const c = capture();
  const started = Date.now();
  const r = await launch({ nprocPerNode: 3, command: [process.execPath, fixture], env: { FAIL_RANK: '1', SLEEP_MS: '60000', PID_DIR: pids }, stdout: c.stdout, stderr: c.stderr, graceMs: 2000 });
  expect(Date.now() - started).toBeLessThan(30000); // the sleepers did not run their 60 s
  expect(r.exitCode).toBe(3);
  expect(r.failure).toMatchObject({ rank: 1, code: 3, signal: null, stderrTail: 'rank 1: something went wrong: bad shard' });
  expect(c.lines.err).toMatch(/\[rank 1\] rank 1: something went wrong: bad shard/);
  expect(c.lines.err).toMatch(/\[launch\] rank 1 failed \(exit code 3\): stopping the other workers/);
  const files = fs.readdirSync(pids);
  expect(files.sort()).toEqual(['0.0.pid', '1.0.pid', '2.0.pid']);
  for (const f of files) expect(alive(Number(fs.readFileSync(path.join(pids, f), 'utf8')))).toBe(false);
});

test('--max-restarts restarts the whole group with TORCHELASTIC_RESTART_COUNT; it succeeds once the fault is gone', async () => {
  const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
  const c = capture();
  const r = await launch({ nprocPerNode: 2, maxRestarts: 3, command: [process.execPath, fixture], env: { FAIL_RANK: '0', FAIL_UNTIL_RESTART: '2', SLEEP_MS: '1000', PID_DIR: pids }, stdout: c.stdout, stderr: c.stderr, graceMs: 1000 });
  expect(r).toMatchObject({ exitCode: 0, restarts: 2 });
  expect(fs.readdirSync(pids).sort()).toEqual(['0.0.pid', '0.1.pid', '0.2.pid', '1.0.pid', '1.1.pid', '1.2.pid']);
  expect(c.lines.err.match(/restarting the group/g)).toHaveLength(2);
  // out of restarts: the failure stands
  const again = await launch({ nprocPerNode: 2, maxRestarts: 1, command: [process.execPath, fixture], env: { FAIL_RANK: '0', SLEEP_MS: '1000' }, stdout: () => undefined, stderr: () => undefined, graceMs: 1000 });
  expect(again).toMatchObject({ exitCode: 3, restarts: 1, failure: { rank: 0 } });
});

test('bad options and environments are clear errors', async () => {
  await expect(launch({ nprocPerNode: 0, command: ['x'] })).rejects.toThrow(/nproc-per-node must be an integer >= 1, got 0/);
  await expect(launch({ nprocPerNode: 1, nnodes: 2, nodeRank: 2, command: ['x'] })).rejects.toThrow(/node-rank 2 must be below nnodes 2/);
  await expect(launch({ nprocPerNode: 1, command: [] })).rejects.toThrow(/no command to run/);
  const r = await launch({ nprocPerNode: 1, command: ['/nonexistent/binary'], stdout: () => undefined, stderr: () => undefined });
  expect(r.exitCode).toBe(127);
  expect(launchEnvironment({})).toBeUndefined();
  expect(launchEnvironment({ WORLD_SIZE: '2', RANK: '1', MASTER_PORT: '1234' })).toEqual({ rank: 1, localRank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 1234, restartCount: 0 });
  expect(() => launchEnvironment({ WORLD_SIZE: '2', RANK: '2' })).toThrow(/RANK 2 must be below WORLD_SIZE 2/);
  expect(() => launchEnvironment({ WORLD_SIZE: '2' })).toThrow(/RANK must be a non-negative integer, got nothing/);
});

test('the CLI runs torchnas commands on every rank and passes a failing rank\'s exit code on', async () => {
  const cli = compileCli('build-launch-test');
  const ok = spawnCli(cli, ['launch', '--nproc-per-node', '2', '--', 'info', '--json']);
  const okExit = await ok.exit;
  expect(okExit.code).toBe(0);
  // a usage error on every rank: exit code 2 and the rank's message
  const bad = spawnCli(cli, ['launch', '--nproc-per-node', '2', '--', 'info', '--no-such-flag']);
  const badExit = await bad.exit;
  expect(badExit.code).toBe(2);
  expect(badExit.stderr).toMatch(/\[rank [01]\] .*no-such-flag/);
  expect(badExit.stderr).toMatch(/torchnas launch: rank [01] failed/);
});
