import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadNb201Table, Nb201TableRecord, parseNb201Table } from '../../src/benchmarks/nb201-table';
import { bundledBytes, bundledFile, writeJsonCopy, writeOriginal } from '../helpers/bundled';

let records: Nb201TableRecord[];
let tmp: string;

beforeAll(async () => {
  records = await loadNb201Table(bundledFile('nb201'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nb201-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('NCP copy of NAS-Bench-201 (ncp.md §1.2, §6)', () => {
  test('15625 records with float32 embeddings of 30; the JSON copy loads to the same records', async () => {
    expect(records).toHaveLength(15625);
    expect(records.every((r, i) => r.index === i && r.embedding instanceof Float32Array && r.embedding.length === 30)).toBe(true);
    const json = await writeJsonCopy('nb201', tmp);
    expect(await loadNb201Table(json)).toEqual(records);
  });

  test('the four forms load to the same records: .pkl, .pkl.gz (bundled), .json, .json.gz; and by the name nb201', async () => {
    expect(await loadNb201Table(writeOriginal('nb201', tmp))).toEqual(records);
    const jsonGz = path.join(tmp, 'copy.json.gz');
    fs.writeFileSync(jsonGz, zlib.gzipSync(fs.readFileSync(await writeJsonCopy('nb201', tmp))));
    expect(await loadNb201Table(jsonGz)).toEqual(records);
    expect(await loadNb201Table('nb201')).toEqual(records);
  });

  test('a truncated gzip file is FILE_CORRUPT naming the file', async () => {
    const gz = fs.readFileSync(bundledFile('nb201'));
    const cut = path.join(tmp, 'cut.pkl.gz');
    fs.writeFileSync(cut, gz.subarray(0, gz.length >> 1));
    await expect(loadNb201Table(cut)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining(`${cut}: corrupt gzip data`) });
    expect(bundledBytes('nb201').length).toBe(2953708); // the whole file still decompresses to the original size
  });

  test('every embedding is 6 one-hot blocks of 5 and all 5^6 cells occur once', () => {
    const cells = new Set<string>();
    let oneHot = 0;
    for (const r of records) {
      const ops: number[] = [];
      for (let edge = 0; edge < 6; edge++) {
        const block = Array.from(r.embedding.subarray(edge * 5, edge * 5 + 5));
        if (block.filter((v) => v === 1).length === 1 && block.filter((v) => v === 0).length === 4) ops.push(block.indexOf(1));
      }
      if (ops.length === 6) oneHot++;
      cells.add(ops.join());
    }
    expect(oneHot).toBe(15625);
    expect(cells.size).toBe(15625);
  });

  test('acc, flops and params ranges (ImageNet16-120 accuracy, CIFAR-100 costs)', () => {
    const acc = records.map((r) => r.acc);
    const minAcc = Math.min(...acc);
    expect(minAcc).toBeCloseTo(100 / 120, 4);
    // The 1/120 cells are not bit-identical: six float values within 2e-9 of 100/120 (float32 noise, §6).
    const cutOff = acc.filter((a) => Math.abs(a - 100 / 120) < 1e-6);
    expect(cutOff).toHaveLength(345);
    expect(new Set(cutOff).size).toBe(6);
    // One run on 3000 images: every accuracy is a multiple of 1/30 % up to float32 noise (§6).
    expect(acc.filter((a) => Math.abs(a * 30 - Math.round(a * 30)) > 6e-6 * 30)).toHaveLength(0);
    expect(Math.max(...acc)).toBeCloseTo(47.333, 3);
    expect(acc.indexOf(Math.max(...acc))).toBe(81);
    const flops = records.map((r) => r.flops);
    const params = records.map((r) => r.params);
    expect([Math.min(...flops), Math.max(...flops)]).toEqual([7.79, 220.13]);
    expect([Math.min(...params), Math.max(...params)]).toEqual([0.079, 1.537]);
    expect(new Set(flops).size).toBe(28);
    expect(new Set(params).size).toBe(28);
  });

  test.each([
    ['a missing key', [{ embedding: new Array(30).fill(0), Acc: 1, Flops: 1 }], /record 0: keys \[embedding, Acc, Flops\], expected \[embedding, Acc, Flops, Params\]/],
    ['a short embedding', [{ embedding: [1, 0], Acc: 1, Flops: 1, Params: 1 }], /record 0: embedding has 2 numbers, expected 30/],
    ['a string in the embedding', [{ embedding: ['1', ...new Array(29).fill(0)], Acc: 1, Flops: 1, Params: 1 }], /record 0: embedding\[0\] is "1"/],
    ['a NaN accuracy', [{ embedding: new Float32Array(30), Acc: NaN, Flops: 1, Params: 1 }], /record 0: Acc is NaN, not a finite number/],
    ['no records', [], /no records/],
  ])('%s is FILE_CORRUPT', (_, raw, message) => {
    let error: unknown;
    try {
      parseNb201Table(raw, 'x.json');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(message) });
  });

  test('a missing file is FILE_NOT_FOUND', async () => {
    await expect(loadNb201Table(path.join(os.tmpdir(), 'torchnas-missing', 'ncp-trainval.pkl'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
