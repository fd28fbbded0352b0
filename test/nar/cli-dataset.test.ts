// `torchnas nar dataset`: regenerates the NB201 cell-information file with the spec's sha256 (nar.md §7.1).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';

const SHA256 = 'd9c2a8ed8696cc87f9b182a351c4e32941c09b401942b0eb5ad73eef1e6984bf';
let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-cli-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('torchnas nar dataset', () => {
  test('--space nb201 --table nb201 --out F --json writes the file with the spec\'s sha256 and reports it', async () => {
    const out = path.join(tmp, 'nb201.json');
    const r = await runCli(['nar', 'dataset', '--space', 'nb201', '--table', 'nb201', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ space: 'nb201', file: out, records: 15625, bytes: 59028445, sha256: SHA256 });
    expect(report.table).toMatch(/ncp-trainval\.pkl\.gz$/);
    expect(createHash('sha256').update(fs.readFileSync(out)).digest('hex')).toBe(SHA256);
  });

  test('without --json or --table (default nb201), with --float-style python: a summary naming the file, its size and the Python form\'s sha256', async () => {
    const out = path.join(tmp, 'python.json');
    const r = await runCli(['nar', 'dataset', '--space', 'nb201', '--out', out, '--float-style', 'python']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NB201 cell information: 15,625 architectures from .*ncp-trainval\.pkl\.gz\n/);
    expect(r.stdout).toContain(`wrote ${out} (59,028,505 bytes`);
    expect(r.stdout).toContain('sha256 61cc554dffaffff407389f172877beef1a50bb393de46f5cba2df20a8b519586');
  });

  test('usage errors: missing --space or --out, an unknown space, nb101, a missing table; the group help lists dataset', async () => {
    const cases: [string[], RegExp][] = [
      [['nar', 'dataset', '--out', path.join(tmp, 'x.json')], /--space is required/],
      [['nar', 'dataset', '--space', 'nb201'], /--out FILE is required/],
      [['nar', 'dataset', '--space', 'darts', '--out', 'x.json'], /--space darts: expected nb201, nb101/],
      [['nar', 'dataset', '--space', 'nb101', '--out', 'x.json'], /NB101 cell information cannot be regenerated/],
      [['nar', 'dataset', '--space', 'nb201', '--out', 'x.json', '--float-style', 'c'], /--float-style c: expected js, python/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect([argv.join(' '), r.code]).toEqual([argv.join(' '), 2]);
      expect(r.stderr).toMatch(/^torchnas nar dataset: error \[INVALID_ARGUMENT\]/);
      expect(r.stderr).toMatch(message);
    }
    const missing = await runCli(['nar', 'dataset', '--space', 'nb201', '--table', path.join(tmp, 'none.pkl'), '--out', path.join(tmp, 'y.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[FILE_NOT_FOUND]');
    expect(fs.existsSync(path.join(tmp, 'y.json'))).toBe(false);
    const help = await runCli(['nar', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: torchnas nar <dataset\|train\|evaluate\|search> \[options\]/);
  });
});
