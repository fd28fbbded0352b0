// One way to name a table: a path that exists, else $TORCHNAS_HOME, else the bundled data/ (docs/architecture.md).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BUILTIN_TABLES } from '../../src/benchmarks/catalog';
import { loadNasBenchMrTable } from '../../src/benchmarks/nasbench-mr';
import { BUNDLED_DATA_DIR, bundledPath, resolveTablePath, torchnasHome } from '../../src/benchmarks/table-names';
import { loadNcpConfig } from '../../src/methods/ncp/config';
import { resolveTable } from '../../src/methods/ncp/predictor';
import { PACKAGE_ROOT } from '../../src/native';
import { bundledBytes, bundledFile, writeJsonCopy } from '../helpers/bundled';

let tmp: string;
let home: string;
const savedHome = process.env.TORCHNAS_HOME;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-names-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  home = fs.mkdtempSync(path.join(tmp, 'home-'));
  process.env.TORCHNAS_HOME = home;
});
afterEach(() => {
  process.env.TORCHNAS_HOME = savedHome;
});

describe('bundled tables', () => {
  const bundled = BUILTIN_TABLES.filter((t) => t.bundled);

  test('eight bundled tables under data/ beside the package, about 2 MB in all', () => {
    expect(bundled.map((t) => t.name)).toEqual([
      'nb201',
      'nas-bench-mr/seg',
      'nas-bench-mr/cls-10-1000',
      'nas-bench-mr/cls-10c',
      'nas-bench-mr/cls-50-100',
      'nas-bench-mr/video',
      'nas-bench-mr/search-list',
      'densenas/lat-small32-cpu',
    ]);
    expect(BUNDLED_DATA_DIR).toBe(path.join(PACKAGE_ROOT, 'data'));
    const total = bundled.reduce((n, t) => n + fs.statSync(bundledPath(t)).size, 0);
    expect(total).toBeGreaterThan(1.9e6);
    expect(total).toBeLessThan(2.2e6);
  });

  test.each(BUILTIN_TABLES.filter((t) => t.bundled).map((t) => [t.name, t] as const))('%s: gzip of the original bytes, whose size and sha256 are the pins', (_, entry) => {
    const bytes = zlib.gunzipSync(fs.readFileSync(bundledPath(entry)));
    expect(bytes.length).toBe(entry.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.sha256);
  });

  test('data/NOTICE names each bundled table, its file, size, sha256, source and license', () => {
    const notice = fs.readFileSync(path.join(BUNDLED_DATA_DIR, 'NOTICE'), 'utf8');
    for (const t of bundled) {
      const row = notice.split('\n').find((line) => line.trimStart().startsWith(`${t.name} `));
      expect(row).toBeDefined();
      expect(row).toContain(path.relative(BUNDLED_DATA_DIR, bundledPath(t)));
      expect(row).toContain(String(t.bytes));
      expect(row).toContain(t.sha256 as string);
    }
    expect(notice).toContain('https://github.com/dingmyu/NCP');
    expect(notice).toContain('BSD 2-Clause License');
    expect(notice).toMatch(/NAS-Bench-201 .*MIT/);
    // the pins of the tables that are fetched, not shipped
    for (const t of BUILTIN_TABLES.filter((e) => !e.bundled && e.sha256)) expect(notice).toContain(t.sha256 as string);
  });
});

describe('resolveTablePath', () => {
  test('every name and alias of a bundled table resolves to its data/ file', () => {
    for (const t of BUILTIN_TABLES.filter((e) => e.bundled)) {
      for (const name of [t.name, ...t.aliases]) expect(resolveTablePath(name)).toBe(bundledPath(t));
    }
  });

  test('the bundled data is found from the package, whatever the working directory', () => {
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect(resolveTablePath('nb201')).toBe(path.join(PACKAGE_ROOT, 'data', 'nas-bench-201', 'ncp-trainval.pkl.gz'));
    } finally {
      process.chdir(cwd);
    }
  });

  test('order: an existing path first, then $TORCHNAS_HOME, then bundled', async () => {
    // a file named like a table, relative to baseDir, is taken as the path it is
    const local = path.join(tmp, 'seg');
    fs.writeFileSync(local, 'x');
    expect(resolveTablePath('seg', { baseDir: tmp })).toBe(local);
    fs.rmSync(local);
    // a folder of that name does not hide the table
    fs.mkdirSync(local);
    expect(resolveTablePath('seg', { baseDir: tmp })).toBe(bundledFile('seg'));
    fs.rmdirSync(local);
    // a copy in $TORCHNAS_HOME wins over the bundled one: original, gzipped or a JSON copy
    fs.mkdirSync(path.join(home, 'nas-bench-mr'));
    const json = await writeJsonCopy('seg', path.join(home, 'nas-bench-mr'));
    expect(resolveTablePath('nas-bench-mr/seg')).toBe(json);
    const original = path.join(home, 'nas-bench-mr', 'seg.pkl');
    fs.writeFileSync(original, bundledBytes('seg'));
    expect(resolveTablePath('seg')).toBe(original);
    const table = await loadNasBenchMrTable('seg');
    expect([table.source, table.task, table.records.length]).toEqual([original, 'seg', 2507]);
    expect(torchnasHome()).toBe(home);
  });

  test('a fetchable table that is not fetched yet says how to fetch it', () => {
    expect(() => resolveTablePath('seg-4x')).toThrow(
      expect.objectContaining({
        code: 'FILE_NOT_FOUND',
        message: `table 'nas-bench-mr/seg-4x' is not available: download it with 'torchnas data fetch nas-bench-mr/seg-4x' (1,145,600 bytes into ${path.join(home, 'nas-bench-mr', 'seg-4x.pkl')}), or pass a path`,
      }),
    );
    fs.mkdirSync(path.join(home, 'nas-bench-mr'));
    fs.writeFileSync(path.join(home, 'nas-bench-mr', 'seg-4x.pkl.gz'), zlib.gzipSync(bundledBytes('seg')));
    expect(resolveTablePath('seg-4x')).toBe(path.join(home, 'nas-bench-mr', 'seg-4x.pkl.gz'));
  });

  test('3ddet (never released) and names the catalog does not know, placed in $TORCHNAS_HOME', () => {
    expect(() => resolveTablePath('3ddet')).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND', message: expect.stringContaining(`place your copy at ${path.join(home, 'nas-bench-mr', '3ddet.pkl')}`) }));
    fs.mkdirSync(path.join(home, 'mine'));
    fs.writeFileSync(path.join(home, 'mine', 'table.json'), '[]');
    expect(resolveTablePath('mine/table')).toBe(path.join(home, 'mine', 'table.json'));
  });

  test('unknown names list the known ones; missing paths are FILE_NOT_FOUND; a table of another kind is refused', () => {
    expect(() => resolveTablePath('segg')).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/^'segg' is neither a file nor a known table name; known tables: nb201 \(nas-bench-201\), nas-bench-mr\/seg \(seg\),/) }));
    expect(() => resolveTablePath('nope', { kind: 'nb201' })).toThrow(expect.objectContaining({ message: expect.stringContaining('known NB201 tables: nb201 (nas-bench-201) (torchnas') }));
    expect(() => resolveTablePath(path.join(tmp, 'missing.pkl'))).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND', message: `file not found: ${path.join(tmp, 'missing.pkl')}` }));
    expect(() => resolveTablePath('seg', { kind: 'nb201' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: "table 'seg' (nas-bench-mr/seg) is a NAS-Bench-MR table, expected an NB201 table" }),
    );
    expect(() => resolveTablePath('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe("NCP's table: --data, data.table, data.dataset", () => {
  function config(data: string): string {
    const file = path.join(tmp, `ncp-${Math.random().toString(16).slice(2)}.yaml`);
    fs.writeFileSync(file, fs.readFileSync(path.join(PACKAGE_ROOT, 'configs', 'ncp', 'seg.yaml'), 'utf8').replace(/^data:\n {2}dataset: .*$/m, `data:\n${data}`));
    return file;
  }

  test('the dataset names the bundled table; data.table takes a name or a path relative to the config; --data wins', () => {
    expect(resolveTable(loadNcpConfig(config('  dataset: video')))).toBe(bundledFile('video'));
    expect(resolveTable(loadNcpConfig(config('  dataset: seg\n  table: cls-10c')))).toBe(bundledFile('cls-10c'));
    const sub = fs.mkdtempSync(path.join(tmp, 'cfg-'));
    fs.writeFileSync(path.join(sub, 'mine.pkl'), bundledBytes('seg'));
    const file = path.join(sub, 'c.yaml');
    fs.copyFileSync(config('  dataset: seg\n  table: mine.pkl'), file);
    expect(resolveTable(loadNcpConfig(file))).toBe(path.join(sub, 'mine.pkl'));
    expect(resolveTable(loadNcpConfig(file), 'nas-bench-mr/cls-50-100')).toBe(bundledFile('cls-50-100'));
  });

  test('a dataset whose table is not here names the fetch command', () => {
    expect(() => resolveTable(loadNcpConfig(path.join(PACKAGE_ROOT, 'configs', 'ncp', 'cls.yaml')))).toThrow(
      expect.objectContaining({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/^no table for data.dataset 'cls-50-1000': table 'nas-bench-mr\/cls-50-1000' is not available: download it with 'torchnas data fetch nas-bench-mr\/cls-50-1000'/) }),
    );
  });
});
