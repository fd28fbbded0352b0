// `torchnas lut build|check|show` end to end: files written, resume, names and both LUT formats, bad inputs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { costListFromLut, readLatListFile, readLutFile } from '../../src/benchmarks/densenas-lut';
import { getThreads } from '../../src/core/device';
import { ResultEnvelope } from '../../src/report/envelope';
import { buildDenseSpace, parseDenseNasConfig } from '../../src/spaces/densenas';
import { compileCli, runCli } from '../helpers/cli';
import { tinyYaml } from '../helpers/densenas';

const FAST = ['--max-runs', '3', '--min-runs', '2', '--warmup', '0', '--batch', '2'];
let tmp: string;
let tiny: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-lut-cli-'));
  tiny = path.join(tmp, 'tiny.yaml');
  fs.writeFileSync(tiny, tinyYaml());
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('build writes the keyed LUT and the lat_list; a second run resumes everything; --json prints the envelope', async () => {
  const out = path.join(tmp, 'tiny.lut.json');
  const latList = path.join(tmp, 'tiny.lat_list');
  const r = await runCli(['lut', 'build', '--config', tiny, ...FAST, '--out', out, '--lat-list', latList]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`DenseNAS LUT of ${tiny}: 20 entries for 22 positions; 20 measured, 0 resumed`);
  expect(r.stdout).toMatch(new RegExp(`fingerprint: cpu: .*, ${getThreads()} thread\\(s\\), LibTorch .*, float32, batch 2`));
  expect(r.stdout).toContain(`wrote ${out} and the positional lat_list ${latList}`);
  const space = buildDenseSpace(parseDenseNasConfig(tinyYaml(), 'tiny.yaml'));
  const lut = await readLutFile(out);
  expect(lut.entries).toHaveLength(20);
  expect(await readLatListFile(latList, space)).toEqual(costListFromLut(space, lut, { statistic: 'median' }));

  const again = await runCli(['lut', 'build', '--config', tiny, ...FAST, '--out', out, '--json']);
  expect(again.code).toBe(0);
  const envelope = JSON.parse(again.stdout) as ResultEnvelope<{ entries: number; measured: number; resumed: number; lut: { entries: unknown[] } }>;
  expect(envelope).toMatchObject({ method: 'lut build', status: 'completed', device: 'cpu', result: { entries: 20, measured: 0, resumed: 20 } });
  expect(envelope.result.lut.entries).toEqual(lut.entries);
  expect(again.stderr).toBe('');
});

test('show and check: keyed LUTs by path, the bundled lat_list by name with --config', async () => {
  const out = path.join(tmp, 'show.lut.json');
  expect((await runCli(['lut', 'build', '--config', tiny, ...FAST, '--out', out, '--json'])).code).toBe(0);
  const shown = await runCli(['lut', 'show', '--lut', out, '--config', tiny, '--json']);
  expect(shown.code).toBe(0);
  const summary = JSON.parse(shown.stdout);
  expect(summary).toMatchObject({ format: 'keyed', entries: 20, space: { positions: 22, entries: 20, missing: 0 } });
  const text = await runCli(['lut', 'show', '--lut', out]);
  expect(text.stdout).toContain(`${out} (keyed LUT): 20 entries, `);
  expect(text.stdout).toContain('slowest entries:');

  const bundled = await runCli(['lut', 'show', '--lut', 'densenas/lat-small32-cpu', '--config', 'mbv2-small32']);
  expect(bundled.code).toBe(0);
  expect(bundled.stdout).toContain('(positional lat_list): 402 entries');
  expect(bundled.stdout).toContain('584 positions, 402 entries, all present; total over all positions 1371.7 ms');
  expect(bundled.stdout).toContain('mbconv_k7_t6/352/384/1/2x2/32');

  const check = await runCli(['lut', 'check', '--config', tiny, '--lut', out, '--sample', '4', '--seed', '1', ...FAST.slice(0, 6), '--json']);
  expect(check.code).toBe(0);
  const checked = JSON.parse(check.stdout) as ResultEnvelope<{ sampled: number; rows: { drift: number }[]; fingerprint: { differences: string[] } }>;
  expect(checked).toMatchObject({ method: 'lut check', status: 'completed', seed: 1, result: { sampled: 4, fingerprint: { differences: [] } } });
  for (const row of checked.result.rows) expect(Number.isFinite(row.drift)).toBe(true);
  const checkText = await runCli(['lut', 'check', '--config', tiny, '--lut', out, '--sample', '3', ...FAST.slice(0, 6)]);
  expect(checkText.stdout).toMatch(/3 of 20 entries re-timed \(seed 0, 2 passes\)/);
  expect(checkText.stdout).toMatch(/this machine repeats an entry's median to ±\d+\.\d % from one pass to the next/);
  expect(checkText.stdout).toMatch(/median \|drift\| -?\d+\.\d %/);
  expect(checkText.stdout).toContain('fingerprint: same as this device');
});

test('bad inputs: unknown config, a LUT of another space, a lat_list without --config, missing flags', async () => {
  const unknown = await runCli(['lut', 'build', '--config', 'mbv2-small64', ...FAST]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/^torchnas lut build: error \[FILE_NOT_FOUND\]: DenseNAS config 'mbv2-small64' is neither a file nor a bundled config \(.*mbv2-small32.*\)/);
  const missingFile = await runCli(['lut', 'build', '--config', path.join(tmp, 'nope.yaml'), ...FAST]);
  expect(missingFile.stderr).toContain(`config file not found: ${path.join(tmp, 'nope.yaml')}`);

  const out = path.join(tmp, 'other.lut.json');
  expect((await runCli(['lut', 'build', '--config', tiny, ...FAST, '--out', out, '--json'])).code).toBe(0);
  const other = await runCli(['lut', 'check', '--config', 'mbv2-small32', '--lut', out]);
  expect(other.code).toBe(2);
  expect(other.stderr).toMatch(/error \[INVALID_ARGUMENT\]: LUT .*other\.lut\.json does not fit .*mbv2-small32\.yaml: it lacks 402 of the 402 entries that space needs at batch 2, first stem: key stem_mbv2\/3\/16\/2\/32x32\/2/);

  const noConfig = await runCli(['lut', 'show', '--lut', 'densenas/lat-small32-cpu']);
  expect(noConfig.code).toBe(2);
  expect(noConfig.stderr).toMatch(/lat_list_small32_cpu\.gz is a positional lat_list \(densenas\.md §5\.2\): it has no keys, so it needs the config it was measured for \(--config F\)/);
  const wrongFit = await runCli(['lut', 'show', '--lut', 'densenas/lat-small32-cpu', '--config', tiny]);
  expect(wrongFit.code).toBe(1);
  expect(wrongFit.stderr).toMatch(/error \[FILE_CORRUPT\]: .*lat_list_small32_cpu\.gz: blocks: expected 3 routing blocks \(1\.\.3\), got 16/);
  expect((await runCli(['lut', 'show', '--lut', 'nb201'])).stderr).toContain("table 'nb201' (nb201) is an NB201 table, expected a DenseNAS latency LUT");

  expect((await runCli(['lut', 'build'])).stderr).toContain('--config is required');
  expect((await runCli(['lut', 'check', '--config', tiny])).stderr).toContain('--lut is required');
  expect((await runCli(['lut', 'build', '--config', tiny, '--max-runs', 'many'])).stderr).toContain("--max-runs expects an integer, got 'many'");
  const help = await runCli(['lut', 'build', '--help']);
  expect(help.stdout).toContain('--lat-list F');
  expect((await runCli(['lut'])).stdout).toMatch(/usage: torchnas lut <build\|check\|show>/);
});

test('Ctrl-C mid-build keeps the partial table; the same command resumes it (compiled CLI, default --out name)', async () => {
  const cli = compileCli('build-cli-lut');
  const cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'));
  const argv = [cli, 'lut', 'build', '--config', 'mbv2-fmnist28', ...FAST];
  const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    // Plain progress lines (not a TTY): interrupt once a fifth of the table is timed.
    if (!sent && /lut build: \d+\/402 \(2\d%\)/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(sent).toBe(true);
  expect(code).toBe(130);
  expect(stderr).toMatch(/error \[CANCELLED\]: LUT build was cancelled after \d+ of 402 entries; mbv2-fmnist28-cpu-b2\.lut\.json holds them and the same command resumes/);
  const file = path.join(cwd, 'mbv2-fmnist28-cpu-b2.lut.json');
  const partial = await readLutFile(file);
  const done = Number(/cancelled after (\d+) of/.exec(stderr)![1]);
  expect(partial.entries).toHaveLength(done);
  expect(done).toBeGreaterThanOrEqual(80);
  expect(done).toBeLessThan(402);

  const resumed = spawn(process.execPath, [...argv, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  resumed.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  resumed.stderr.resume();
  expect(await new Promise((resolve) => resumed.on('close', resolve))).toBe(0);
  const envelope = JSON.parse(stdout) as ResultEnvelope<{ measured: number; resumed: number; entries: number }>;
  expect(envelope.result).toMatchObject({ entries: 402, measured: 402 - done, resumed: done });
  const complete = await readLutFile(file);
  expect(complete.entries).toHaveLength(402);
  expect(complete.entries.slice(0, done)).toEqual(partial.entries);
}, 180_000);
