/**
 * Issue 7: the async loaders parse on a worker thread, so the event loop runs while they work, and
 * several loads run at once with the right content each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parsePickle, readPickleFile } from '../../src/benchmarks/pickle';
import { loadNb201Table, parseNb201Table } from '../../src/benchmarks/nb201-table';
import { loadNasBenchMrTable, parseNasBenchMrTable } from '../../src/benchmarks/nasbench-mr';
import { buildPredictorDataset, loadPredictorDataset } from '../../src/methods/ncp/dataset';
import { Random } from '../../src/core/random';
import { TorchnasError } from '../../src/core/errors';
import { writePickle } from '../helpers/pickle-writer';
import { nasBenchMrRecords, nb201Records } from '../helpers/tables';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-async-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeTemp(name: string, data: Uint8Array | string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  return file;
}

/** A pickle of `n` records with tuples, numpy arrays, nested lists and strings; different per seed. */
function samplePickleValue(n: number, seed: number): unknown {
  const random = new Random(seed);
  return Array.from({ length: n }, (_, i) => ({
    name: `arch-${seed}-${i}`,
    shape: Object.freeze([random.int(1, 9), random.int(1, 9)]),
    weights: Float32Array.from({ length: 8 }, () => Math.fround(random.normal())),
    counts: [random.int(0, 300), random.int(-5, 70000), [random.next(), null, true]],
  }));
}

/**
 * Runs `load` and records, in order, when a setImmediate and a 0 ms timer scheduled right after it fire
 * and when it settles. On this (main) thread, reading a file is made to complete at once (a resolved
 * promise), so a loader that parsed on this thread would settle within the same task, before either
 * callback; a loader that parses on a worker thread settles only after a later event-loop turn.
 */
async function orderAround<T>(load: () => Promise<T>): Promise<{ order: string[]; value: T }> {
  const order: string[] = [];
  const realReadFile = fs.promises.readFile;
  const instant = jest.spyOn(fs.promises, 'readFile').mockImplementation((async (file: fs.PathLike) => fs.readFileSync(file)) as typeof realReadFile);
  const instantStat = jest.spyOn(fs.promises, 'stat').mockImplementation((async (file: fs.PathLike) => fs.statSync(file)) as typeof fs.promises.stat);
  try {
    const promise = load();
    setImmediate(() => order.push('immediate'));
    setTimeout(() => order.push('timer'), 0);
    const value = await promise.finally(() => order.push('settled'));
    return { order, value };
  } finally {
    instant.mockRestore();
    instantStat.mockRestore();
  }
}

/** Both callbacks ran before the load settled (their own order is the event loop's business). */
function expectNotBlocked(order: string[]): void {
  expect(order).toHaveLength(3);
  expect(order[2]).toBe('settled');
}

describe('readPickleFile on a worker thread', () => {
  test('same value as parsePickle: tuples frozen, numpy arrays as this realm’s typed arrays', async () => {
    const bytes = writePickle(samplePickleValue(200, 1));
    const file = writeTemp('one.pkl', bytes);
    const value = (await readPickleFile(file)) as ReturnType<typeof samplePickleValue> & { shape: number[]; weights: Float32Array }[];
    expect(value).toEqual(parsePickle(bytes));
    expect(value).toHaveLength(200);
    expect(Object.isFrozen(value[7].shape)).toBe(true);
    expect(Object.isFrozen(value)).toBe(false);
    expect(value[7].weights).toBeInstanceOf(Float32Array);
    expect(value[7].weights).toHaveLength(8);
  });

  test('a setImmediate and a timer scheduled after the load starts run before it settles', async () => {
    const file = writeTemp('big.pkl', writePickle(samplePickleValue(20000, 2)));
    const { order, value } = await orderAround(() => readPickleFile(file));
    expectNotBlocked(order);
    expect(value).toHaveLength(20000);
  });

  test('eight concurrent loads each resolve with their own file’s content', async () => {
    const files = Array.from({ length: 8 }, (_, k) => {
      const bytes = writePickle(samplePickleValue(300 + k, 100 + k));
      return { file: writeTemp(`c${k}.pkl`, bytes), expected: parsePickle(bytes) };
    });
    const values = await Promise.all(files.map(({ file }) => readPickleFile(file)));
    values.forEach((v, k) => {
      expect(v).toHaveLength(300 + k);
      expect(v).toEqual(files[k].expected);
    });
  });

  test('errors come back as TorchnasErrors with their code and the file named', async () => {
    const bytes = writePickle(samplePickleValue(3, 3));
    const cut = writeTemp('cut.pkl', bytes.subarray(0, bytes.length - 5));
    await expect(readPickleFile(cut)).rejects.toThrow(TorchnasError);
    await expect(readPickleFile(cut)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/^.*cut\.pkl: corrupt pickle: truncated/) });
    await expect(readPickleFile(path.join(tmp, 'none.pkl'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(readPickleFile(tmp)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: `${tmp} is a folder, expected a file` });
  });

  test('a pickle nested deeper than 1000 levels is FILE_CORRUPT (it left the load pending forever)', async () => {
    const nested = (depth: number) => Uint8Array.from([0x80, 4, ...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), 0x2e]);
    const ok = writeTemp('deep-ok.pkl', nested(1000));
    let v = (await readPickleFile(ok)) as unknown[];
    for (let level = 1; level < 1000; level++) v = v[0] as unknown[];
    expect(v).toEqual([]);
    const deep = writeTemp('deep.pkl', nested(10000));
    await expect(readPickleFile(deep)).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: `${deep}: corrupt pickle: values nest 10000 levels deep; at most 1000 are read`,
    });
  });

  (process.platform === 'win32' ? test.skip : test)('a FIFO is refused instead of blocking a worker forever', async () => {
    const fifo = path.join(tmp, 'pipe.pkl');
    execFileSync('mkfifo', [fifo]);
    await expect(readPickleFile(fifo)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: `${fifo} is not a regular file` });
    await expect(loadNb201Table(fifo)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('table loaders on a worker thread', () => {
  test('loadNb201Table: ordering, and pickle and JSON copies load equal to the synchronous parse', async () => {
    const records = nb201Records(3000, 4);
    const pkl = writeTemp('nb201.pkl', writePickle(records));
    const json = writeTemp('nb201.json', JSON.stringify(records.map((r) => ({ ...r, embedding: Array.from(r.embedding) }))));
    const { order, value } = await orderAround(() => loadNb201Table(pkl));
    expectNotBlocked(order);
    const expected = parseNb201Table(records, 'x');
    expect(value).toEqual(expected);
    expect(value[2345].embedding).toBeInstanceOf(Float32Array);
    expect(await loadNb201Table(json)).toEqual(expected);
  });

  test('loadNasBenchMrTable: ordering, concurrency and content', async () => {
    const tables = [0, 1, 2, 3].map((k) => nasBenchMrRecords(600 + k, 10 + k));
    const files = tables.map((t, k) => writeTemp(`cls-10c-${k}.pkl`, writePickle(t)));
    const { order, value } = await orderAround(() => Promise.all(files.map((f) => loadNasBenchMrTable(f, { task: 'cls-10c' }))));
    expectNotBlocked(order);
    value.forEach((table, k) => {
      expect(table).toEqual(parseNasBenchMrTable(tables[k], files[k], 'cls-10c'));
      expect(table.records).toHaveLength(600 + k);
    });
    // The task is still inferred from the file name.
    expect((await loadNasBenchMrTable(writeTemp('cls-10c.json', JSON.stringify(tables[0])))).task).toBe('cls-10c');
    const wrong = writeTemp('seg.json', JSON.stringify(tables[0]));
    await expect(loadNasBenchMrTable(wrong)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/record 0: metric keys \[top1, top5\] are not those of task seg/) });
  });

  test('loadPredictorDataset (the start of trainNcpPredictor): ordering and the same data as the synchronous build', async () => {
    const raw = nasBenchMrRecords(2000, 20);
    const file = writeTemp('cls-10-1000.json', JSON.stringify(raw));
    const groups = [['top1'], ['top5'], ['flops', 'params']];
    const { order, value } = await orderAround(() => loadPredictorDataset(file, groups, 233));
    expectNotBlocked(order);
    expect(value.task).toBe('cls-10-1000');
    const expected = buildPredictorDataset(parseNasBenchMrTable(raw, file, 'cls-10-1000'), groups, 233);
    expect(value.data).toEqual(expected);
    expect(value.data.normalizedInputs).toBeInstanceOf(Float32Array);
    expect(value.data.trainIndices).toBeInstanceOf(Int32Array);
    await expect(loadPredictorDataset(file, [['mIoU']], 233)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/metric 'mIoU' is not in/) });
  });
});
