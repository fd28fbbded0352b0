// FLOPs/params of every NAS-Bench-MR record (ncp.md §4): the hook-style count on the built module (meta
// device) and the closed form both equal the stored values exactly; the CLI reports the same.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNasBenchMrTable, NasBenchMrTable } from '../../src/benchmarks/nasbench-mr';
import { main } from '../../src/cli';
import { countCosts, readCostInputs } from '../../src/methods/ncp/costs';
import { bundledFile, writeJsonCopy } from '../helpers/bundled';

let table: NasBenchMrTable;
let tmp: string;
beforeAll(async () => {
  table = await loadNasBenchMrTable(bundledFile('seg'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-flops-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function captureStdout(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join(''), restore: () => spy.mockRestore() };
}

describe('NAS-Bench-MR costs', () => {
  test('hook count of the built module equals the stored flops and params of all 2507 records', async () => {
    const codes = table.records.map((r) => r.code);
    const stored = table.records.map((r) => ({ flops: r.flops, params: r.params }));
    const report = await countCosts(codes, stored, { method: 'both' });
    expect(report.matches).toEqual({ records: 2507, closed: 2507, hooks: 2507 });
    // Integer counts agree too (flops = ops / 1e9 exactly, §4).
    expect(report.rows[0].hooks).toEqual(report.rows[0].closed);
  });

  test('the NCP start code in both conventions (§4 table)', async () => {
    const code = '64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64';
    const cls = await countCosts([code], undefined, { method: 'both' });
    expect(cls.rows[0].hooks).toEqual({ flops: 1.959638194, params: 4.128754 });
    expect(cls.rows[0].closed).toEqual(cls.rows[0].hooks);
    const seg = await countCosts([code], undefined, { method: 'both', convention: { head: 'seg', numClasses: 19 } });
    expect(seg.rows[0].hooks).toEqual({ flops: 1.97754368, params: 4.126739 });
    expect(seg.rows[0].closed).toEqual(seg.rows[0].hooks);
  });

  test('reads codes from search_list.txt (2511 lines, no trailing newline; by name or gzipped path) and tables', async () => {
    const list = await readCostInputs('search-list');
    expect(list.codes).toHaveLength(2511);
    expect(list.stored).toBeUndefined();
    expect((await readCostInputs(bundledFile('search-list'))).codes).toEqual(list.codes);
    const json = await readCostInputs(await writeJsonCopy('cls-10c', tmp));
    expect(json.codes).toEqual(table.records.map((r) => r.code));
    expect(json.stored?.[2506]).toEqual({ flops: table.records[2506].flops, params: table.records[2506].params });
  });

  test('torchnas flops --file TABLE (a name) reports 2507/2507 and exits 0', async () => {
    const out = captureStdout();
    try {
      const code = await main(['flops', '--space', 'nasbench-mr', '--file', 'video']);
      expect(code).toBe(0);
    } finally {
      out.restore();
    }
    expect(out.text()).toMatch(/closed form: 2507\/2507 records equal the stored flops and params/);
  });

  test('torchnas flops --code … --json with another head and class count', async () => {
    const out = captureStdout();
    let exit: number;
    try {
      exit = await main(['flops', '--code', '8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8', '--head', 'seg', '--classes', '19', '--method', 'both', '--json']);
    } finally {
      out.restore();
    }
    expect(exit).toBe(0);
    const report = JSON.parse(out.text());
    expect(report.rows[0].closed).toEqual({ flops: 0.011291392, params: 0.021043 });
    expect(report.rows[0].hooks).toEqual(report.rows[0].closed);
  });

  test('bad arguments are usage errors', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(main(['flops', '--space', 'nb201', '--code', 'x'])).resolves.toBe(2);
      await expect(main(['flops'])).resolves.toBe(2);
      await expect(main(['flops', '--code', '1_2_3'])).resolves.toBe(1); // INVALID_CODE
    } finally {
      err.mockRestore();
    }
  });
});
