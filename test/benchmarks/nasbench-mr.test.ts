import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNasBenchMrTable, loadSearchList, NasBenchMrTable, parseSearchList } from '../../src/benchmarks/nasbench-mr';
import { TorchnasError } from '../../src/core/errors';
import { bundledBytes, bundledFile, bundledRecords, writeJsonCopy } from '../helpers/bundled';

const TASKS: [string, string[]][] = [
  ['seg', ['mIoU', 'mAcc', 'aAcc']],
  ['cls-10-1000', ['top1', 'top5']],
  ['cls-10c', ['top1', 'top5']],
  ['cls-50-100', ['top1', 'top5']],
  ['video', ['top1', 'top5']],
];

const tables = new Map<string, NasBenchMrTable>();
let tmp: string;
let segRecords: Record<string, unknown>[];

beforeAll(async () => {
  for (const [task] of TASKS) tables.set(task, await loadNasBenchMrTable(bundledFile(task)));
  segRecords = await bundledRecords('seg');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-mr-'));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const seg = (): NasBenchMrTable => tables.get('seg') as NasBenchMrTable;

/** Raw records of the seg table (as its JSON copy holds them, a fresh copy per call), for building variants in a temp folder. */
function rawSeg(): Record<string, unknown>[] {
  return structuredClone(segRecords);
}

function writeTemp(name: string, value: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('shipped tables (ncp.md §1.1)', () => {
  test.each(TASKS)('%s: 2507 typed records with metric keys %j (bundled .pkl.gz), equal to its .json copy', async (task, keys) => {
    const fromPickle = tables.get(task) as NasBenchMrTable;
    expect(fromPickle.task).toBe(task);
    expect(fromPickle.metricKeys).toEqual(keys);
    expect(fromPickle.records).toHaveLength(2507);
    const fromJson = await loadNasBenchMrTable(await writeJsonCopy(task, tmp));
    expect(fromJson.records).toEqual(fromPickle.records);
    const r = fromPickle.records[0];
    expect(r.index).toBe(0);
    expect(Object.keys(r.metrics)).toEqual(keys);
  });

  test('all tables list the same architectures with the same flops and params, in the same order', () => {
    const reference = seg().records;
    for (const [task] of TASKS) {
      const records = (tables.get(task) as NasBenchMrTable).records;
      const same = records.filter((r, i) => r.code === reference[i].code && r.flops === reference[i].flops && r.params === reference[i].params);
      expect(same).toHaveLength(2507);
    }
    expect(new Set(reference.map((r) => r.code)).size).toBe(2507);
  });

  test('value ranges of seg match the spec', () => {
    const records = seg().records;
    const range = (f: (r: (typeof records)[number]) => number): [number, number] => [
      Math.min(...records.map(f)),
      Math.max(...records.map(f)),
    ];
    expect(range((r) => r.metrics.mIoU)).toEqual([32.91, 79.1]);
    expect(range((r) => r.metrics.mAcc)).toEqual([39.14, 86.4]);
    expect(range((r) => r.metrics.aAcc)).toEqual([87.8, 96.42]);
    expect(range((r) => r.flops)).toEqual([0.010842562, 13.727426866]);
    expect(range((r) => r.params)).toEqual([0.021322, 28.290994]);
  });

  test('cls-10-1000 top1 is coarse: 58 distinct values in 74.4..90.4', () => {
    const top1 = (tables.get('cls-10-1000') as NasBenchMrTable).records.map((r) => r.metrics.top1);
    expect(new Set(top1).size).toBe(58);
    expect([Math.min(...top1), Math.max(...top1)]).toEqual([74.4, 90.4]);
  });

  test('record 0 is the largest network, its code and setting decoded', () => {
    const r = seg().records[0];
    expect(r.code).toBe('128_128-2_1_4_128-2_2_4_4_128_128-2_3_4_4_4_128_128_128-2_4_4_4_4_4_128_128_128_128-128');
    expect(r.setting.inputChannel).toEqual([128, 128]);
    expect(r.setting.networkSetting).toHaveLength(8);
    expect(r.setting.lastChannel).toBe(128);
    expect(r.metrics).toEqual({ mIoU: 76.09, mAcc: 83.87, aAcc: 96.1 });
  });
});

describe('other tables and corrupt records', () => {
  test('a user-held task with other metric keys (3ddet, `moderate`) loads', async () => {
    const raw = rawSeg()
      .slice(0, 5)
      .map(({ mIoU, mAcc: _a, aAcc: _b, ...rest }) => ({ moderate: mIoU, ...rest }));
    const table = await loadNasBenchMrTable(writeTemp('3ddet.json', raw));
    expect(table.task).toBe('3ddet');
    expect(table.metricKeys).toEqual(['moderate']);
    expect(table.records.map((r) => r.metrics.moderate)).toEqual(raw.map((r) => r.moderate));
  });

  test('an unknown table name accepts any numeric metric keys; task null skips the check', async () => {
    const raw = rawSeg().slice(0, 3);
    expect((await loadNasBenchMrTable(writeTemp('my-task.json', raw))).task).toBeUndefined();
    // A name that is an Object.prototype property is not a task either.
    expect((await loadNasBenchMrTable(writeTemp('constructor.json', raw))).task).toBeUndefined();
    const renamed = writeTemp('video.json', raw);
    await expect(loadNasBenchMrTable(renamed)).rejects.toThrow(/record 0: metric keys \[mIoU, mAcc, aAcc\] are not those of task video \[top1, top5\]/);
    expect((await loadNasBenchMrTable(renamed, { task: null })).metricKeys).toEqual(['mIoU', 'mAcc', 'aAcc']);
  });

  test.each([
    ['a record with different metric keys', (r: Record<string, unknown>[]) => delete r[2].aAcc, /record 2: metric keys \[mIoU, mAcc\] differ from record 0's/],
    ['a missing key', (r: Record<string, unknown>[]) => delete r[1].flops, /record 1: missing key 'flops'/],
    ['a metric that is not a number', (r: Record<string, unknown>[]) => (r[0].mIoU = 'high'), /record 0: mIoU is "high", not a finite number/],
    [
      'a 26-number embedding',
      (r: Record<string, unknown>[]) => (r[3].embedding as number[]).pop(),
      /record 3: embedding is not a valid network: wrong length: 26 integers, expected 27/,
    ],
    [
      'an embedding outside the space',
      (r: Record<string, unknown>[]) => ((r[0].embedding as number[])[8] = 12),
      /record 0: embedding is not a valid network: stage 2 branch 1 channel 12: not a multiple of 8/,
    ],
    [
      'a setting that disagrees with the embedding',
      (r: Record<string, unknown>[]) => ((r[1].input_channel as number[])[0] = 24),
      /record 1: input_channel \[24,16\] disagrees with the embedding, which decodes to \[16,16\]/,
    ],
    ['a record without the common keys', (r: Record<string, unknown>[]) => r.splice(0, r.length, { a: 1 }), /record 0: missing key 'flops'/],
  ])('%s is FILE_CORRUPT', async (_, corrupt, message) => {
    const raw = rawSeg().slice(0, 4);
    corrupt(raw);
    const e = await loadNasBenchMrTable(writeTemp('seg.json', raw)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TorchnasError);
    expect((e as TorchnasError).code).toBe('FILE_CORRUPT');
    expect((e as TorchnasError).message).toMatch(message);
  });

  test('an empty table, a dict instead of a list, and a file that is neither format are FILE_CORRUPT', async () => {
    await expect(loadNasBenchMrTable(writeTemp('a.json', []))).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/no records/) });
    await expect(loadNasBenchMrTable(writeTemp('b.json', { a: 1 }))).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/expected a list of records/) });
    const text = path.join(tmp, 'c.pkl');
    fs.writeFileSync(text, 'hello');
    await expect(loadNasBenchMrTable(text)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/neither a pickle/) });
    const badJson = path.join(tmp, 'd.json');
    fs.writeFileSync(badJson, '[{"flops": ');
    await expect(loadNasBenchMrTable(badJson)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/corrupt JSON/) });
  });

  test('a missing file is FILE_NOT_FOUND', async () => {
    await expect(loadNasBenchMrTable(path.join(tmp, 'nope.pkl'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(loadSearchList(path.join(tmp, 'nope.txt'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('search_list.txt (ncp.md §1.3)', () => {
  test('2511 codes although the file has 2510 newlines (no newline after the last line)', async () => {
    const file = bundledFile('search-list');
    const text = bundledBytes('search-list').toString('utf8');
    expect(text.split('\n').length - 1).toBe(2510);
    expect(text.endsWith('\n')).toBe(false);
    const codes = await loadSearchList(file);
    expect(codes).toHaveLength(2511);
    expect(codes).toEqual(text.split('\n'));
    expect(codes[2510]).toBe('96_128-1_1_1_48-1_2_1_1_128_8-1_3_1_1_1_128_128_120-4_4_4_4_4_4_128_128_128_128-64');
    expect(parseSearchList(text + '\n', 'with newline')).toEqual(codes);
  });

  test('exactly lines 1562, 1580, 1666, 1756 are not in the table; the other 2507 are, including all of 2501..2511', async () => {
    const codes = await loadSearchList('search-list');
    const inTable = new Set(seg().records.map((r) => r.code));
    const missing = codes.flatMap((c, i) => (inTable.has(c) ? [] : [i + 1]));
    expect(missing).toEqual([1562, 1580, 1666, 1756]);
    expect(new Set(codes).size).toBe(2511);
  });

  test('a bad line is FILE_CORRUPT naming the line', () => {
    const text = '8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8\n8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8-8';
    expect(() => parseSearchList(text, 'list.txt')).toThrow(/list\.txt: line 2: .*wrong length: 30 integers, expected 31/);
    expect(() => parseSearchList('', 'empty.txt')).toThrow(/empty\.txt: line 1/);
  });
});
