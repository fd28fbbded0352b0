// `torchnas data list|path|fetch|verify`, a fetched table used by `ncp train --data NAME`, and the README's main
// job (`tenas search` on the defaults) finding the bundled NB201 table from any working directory.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BUILTIN_TABLES } from '../../src/benchmarks/catalog';
import { bundledPath } from '../../src/benchmarks/table-names';
import { openNb201Table, lookupNb201 } from '../../src/benchmarks/nb201-lookup';
import { parseNb201String } from '../../src/spaces/nb201';
import { PACKAGE_ROOT } from '../../src/native';
import { bundledBytes, bundledFile } from '../helpers/bundled';
import { compileCli, runCli } from '../helpers/cli';
import { startTableServer, TableServer, writeCatalog } from '../helpers/table-server';

const run = promisify(execFile);
const savedHome = process.env.TORCHNAS_HOME;
let tmp: string;
let home: string;
let server: TableServer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-data-cli-'));
  server = await startTableServer();
});
afterAll(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  home = fs.mkdtempSync(path.join(tmp, 'home-'));
  process.env.TORCHNAS_HOME = home;
});
afterEach(() => {
  process.env.TORCHNAS_HOME = savedHome;
  delete process.env.TORCHNAS_CATALOG;
  delete process.env.TORCHNAS_MIRROR;
});

interface Listed {
  name: string;
  state: string;
  bytes?: number;
  sha256?: string;
  file?: string;
}

describe('data list and path', () => {
  test('list --json: every catalog table with its state, size and sha256', async () => {
    const r = await runCli(['data', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as { home: string; bundled: string; tables: Listed[] };
    expect(listed.home).toBe(home);
    expect(listed.bundled).toBe(path.join(PACKAGE_ROOT, 'data'));
    expect(listed.tables.map((t) => [t.name, t.state])).toEqual(
      BUILTIN_TABLES.map((t) => [t.name, t.bundled ? 'bundled' : t.remote ? 'fetchable' : 'absent']),
    );
    for (const t of BUILTIN_TABLES.filter((e) => e.sha256)) expect(listed.tables.find((x) => x.name === t.name)).toMatchObject({ bytes: t.bytes, sha256: t.sha256 });
    expect(listed.tables.find((x) => x.name === 'nas-bench-mr/3ddet')?.sha256).toBeUndefined(); // known by name only, nothing to pin
    expect(listed.tables.find((t) => t.name === 'nb201')?.file).toBe(bundledFile('nb201'));
  });

  test('list shows cached tables (before bundled ones) and files of $TORCHNAS_HOME the catalog does not know', async () => {
    fs.mkdirSync(path.join(home, 'nas-bench-mr'));
    fs.writeFileSync(path.join(home, 'nas-bench-mr', 'video.pkl'), bundledBytes('video'));
    fs.writeFileSync(path.join(home, 'nas-bench-mr', 'mine.json'), '[1]');
    const r = await runCli(['data', 'list']);
    expect(r.code).toBe(0);
    const line = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(line('nas-bench-mr/video')).toMatch(new RegExp(`video +cached +1\\.12 MB +ec40f09230374c5cb80fa689b16e8c0767060dac7312fb3a6c48610972df2e4d +${path.join(home, 'nas-bench-mr', 'video.pkl')}`));
    expect(line('nas-bench-mr/seg-4x')).toMatch(/fetchable +1\.15 MB +c111b4ad884e63fd16a1fd2d91fe5eb25ef39a9f3c8b5534a34b025aed06d434 +torchnas data fetch nas-bench-mr\/seg-4x/);
    expect(line('nas-bench-mr/mine')).toContain(`cached     0.00 MB  ${createHash('sha256').update('[1]').digest('hex')}`);
    expect(r.stdout).toContain(`$TORCHNAS_HOME: ${home}`);
  });

  test('path prints what a name resolves to; a missing table, a missing argument and extra ones are errors', async () => {
    expect(await runCli(['data', 'path', 'nb201'])).toMatchObject({ code: 0, stdout: `${bundledFile('nb201')}\n` });
    expect(await runCli(['data', 'path', 'search-list'])).toMatchObject({ code: 0, stdout: `${bundledFile('search-list')}\n` });
    const missing = await runCli(['data', 'path', 'video-p']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^torchnas data path: error \[FILE_NOT_FOUND\]: table 'nas-bench-mr\/video-p' is not available: download it with 'torchnas data fetch nas-bench-mr\/video-p'/);
    expect(await runCli(['data', 'path'])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected 1 argument(s), got 0') });
    expect(await runCli(['data', 'path', 'a', 'b'])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected 1 argument(s), got 2 (a b)') });
  });
});

describe('data verify', () => {
  test('all bundled tables match their pins', async () => {
    const r = await runCli(['data', 'verify', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; where: string; status: string; actual: { sha256: string } }[];
    const bundled = BUILTIN_TABLES.filter((t) => t.bundled);
    expect(rows.map((x) => [x.name, x.where, x.status])).toEqual(bundled.map((t) => [t.name, 'bundled', 'ok']));
    expect(rows.map((x) => x.actual.sha256)).toEqual(bundled.map((t) => t.sha256));
  });

  test('a cached table with other bytes, or a damaged gzip, fails verification (FILE_CORRUPT, exit 1); a JSON copy is unpinned', async () => {
    fs.mkdirSync(path.join(home, 'nas-bench-mr'));
    const wrong = path.join(home, 'nas-bench-mr', 'seg-4x.pkl');
    fs.writeFileSync(wrong, bundledBytes('seg')); // seg's bytes are not seg-4x's
    const damaged = path.join(home, 'nas-bench-mr', 'cls-50-1000.pkl.gz');
    fs.writeFileSync(damaged, fs.readFileSync(bundledFile('cls-10c')).subarray(0, 1000));
    fs.writeFileSync(path.join(home, 'nas-bench-mr', 'video.json'), '[]');
    const r = await runCli(['data', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`torchnas data verify: error [FILE_CORRUPT]: 2 table file(s) failed verification: ${wrong}, ${damaged}\n`);
    expect(r.stdout).toMatch(new RegExp(`nas-bench-mr/seg-4x +cached +mismatch +1854e1ec044c8416cc53d4068cdef4d019a24bcd1e72d07020255550f56ea729`));
    expect(r.stdout).toContain(`nas-bench-mr/seg-4x: ${wrong} has sha256 1854e1ec044c8416cc53d4068cdef4d019a24bcd1e72d07020255550f56ea729, expected c111b4ad884e63fd16a1fd2d91fe5eb25ef39a9f3c8b5534a34b025aed06d434`);
    expect(r.stdout).toMatch(/nas-bench-mr\/cls-50-1000: .*corrupt gzip data/);
    expect(r.stdout).toMatch(/nas-bench-mr\/video +cached +unpinned/);
  });
});

describe('data fetch', () => {
  test('fetch seg-4x from a mirror (catalog override pinning the bundled seg bytes), then ncp train --data seg-4x', async () => {
    const table = bundledBytes('seg');
    server.route('/ncp/data/seg-4x/trainval.pkl', { kind: 'serve', body: table });
    const sha = createHash('sha256').update(table).digest('hex');
    process.env.TORCHNAS_CATALOG = writeCatalog(tmp, [
      { name: 'nas-bench-mr/seg-4x', kind: 'nas-bench-mr', file: 'nas-bench-mr/seg-4x.pkl', bytes: table.length, sha256: sha, base: 'https://example.invalid/data', path: 'seg-4x/trainval.pkl' },
    ]);
    process.env.TORCHNAS_MIRROR = `${server.base}/ncp/data`;
    const fetched = await runCli(['data', 'fetch', 'seg-4x']);
    expect(fetched.code).toBe(0);
    const target = path.join(home, 'nas-bench-mr', 'seg-4x.pkl');
    expect(fetched.stdout).toBe(`nas-bench-mr/seg-4x: downloaded ${table.length} bytes from ${server.base}/ncp/data/seg-4x/trainval.pkl; sha256 ${sha} verified\n  -> ${target}\n`);
    // not a terminal: plain progress lines, ending at the full size
    expect(fetched.stderr).toMatch(new RegExp(`fetch seg-4x: ${table.length}/${table.length} \\(100%\\)`));
    expect(fs.readFileSync(target).equals(table)).toBe(true);

    const config = path.join(tmp, 'seg-short.yaml');
    fs.writeFileSync(config, fs.readFileSync(path.join(PACKAGE_ROOT, 'configs', 'ncp', 'seg.yaml'), 'utf8').replace('epoch: 200', 'epoch: 2'));
    const trained = await runCli(['ncp', 'train', '--config', config, '--data', 'seg-4x', '--json']);
    expect(trained.code).toBe(0);
    const envelope = JSON.parse(trained.stdout);
    expect(envelope).toMatchObject({ method: 'ncp train', status: 'completed', result: { dataset: 'seg-4x', table: target, epochs: 2, split: { train: 2005, validation: 502 } } });

    const again = await runCli(['data', 'fetch', 'nas-bench-mr/seg-4x', 'nb201', '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { status: string }[]).map((x) => x.status)).toEqual(['present', 'bundled']);
  });

  test('--mirror with the shipped pins: a mirror serving other bytes is refused and nothing is kept', async () => {
    server.route('/bad/cls-50-1000/trainval.pkl', { kind: 'serve', body: bundledBytes('cls-10c') }); // same size, other table
    const r = await runCli(['data', 'fetch', 'cls-50-1000', '--mirror', `${server.base}/bad`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error \[FILE_CORRUPT\]: checksum mismatch for nas-bench-mr\/cls-50-1000 from http:\/\/127\.0\.0\.1:\d+\/bad\/cls-50-1000\/trainval\.pkl: sha256 99d8e316.*expected ce6588f4.*the partial file .* was deleted/);
    expect(fs.readdirSync(path.join(home, 'nas-bench-mr'))).toEqual([]);
  });

  test('HTTP 500 is exit 1 with NETWORK_ERROR; an unknown name is a usage error', async () => {
    server.route('/down/video-p/trainval.pkl', { kind: 'status', status: 500 });
    const r = await runCli(['data', 'fetch', 'video-p', '--mirror', `${server.base}/down`]);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/error \[NETWORK_ERROR\]: download of http:\/\/127\.0\.0\.1:\d+\/down\/video-p\/trainval\.pkl failed: HTTP 500/) });
    expect(await runCli(['data', 'fetch', 'video-q'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown table 'video-q'") });
  });
});

describe('the compiled CLI, run from a folder with nothing beside it', () => {
  let cli: string;
  beforeAll(() => {
    cli = compileCli('build-cli-data-test');
  });

  test('data path finds the bundled table beside the package, not the working directory', async () => {
    const { stdout } = await run(process.execPath, [cli, 'data', 'path', 'nb201'], { cwd: tmp });
    expect(stdout).toBe(`${bundledPath(BUILTIN_TABLES[0])}\n`);
  });

  test('tenas search on the defaults prints the NB201 accuracy and rank from the bundled table', async () => {
    const config = path.join(tmp, 'small.yaml');
    // the embedded defaults with CPU-cheap settings (random inputs, few linear-region samples)
    fs.writeFileSync(config, 'seed: 7\nthreads: 1\ndata: { source: random }\nntk: { batchSize: 4 }\nlinearRegions: { samples: 500, batchSize: 500 }\nsearch: { repeats: 1 }\n');
    const { stdout } = await run(process.execPath, [cli, 'tenas', 'search', '--config', config], { cwd: tmp, env: { ...process.env, TORCHNAS_HOME: home } });
    const arch = /^architecture: (\S+)$/m.exec(stdout)?.[1] as string;
    const expected = lookupNb201(await openNb201Table('nb201'), parseNb201String(arch));
    expect(stdout).toContain(
      `benchmark: NB201 index ${expected.index}, ImageNet16-120 accuracy ${expected.accuracy.toFixed(2)} %, rank ${expected.rank} of 15625 (better than ${expected.percentile.toFixed(1)} % of the space)`,
    );
  });
});
