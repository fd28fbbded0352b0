import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parseIdx, readIdxFile } from '../../src/data/idx';
import { loadFashionMnist } from '../../src/data/fashion-mnist';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-idx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function idx(shape: number[], data: number[]): Uint8Array {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

describe('IDX reader', () => {
  test('parses a hand-made file', () => {
    const r = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'mem');
    expect(r.shape).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  test('rejects truncated data, bad magic and other data types', () => {
    expect(() => parseIdx(idx([2, 3], [1, 2, 3]), 'cut')).toThrow(/\[2, 3\] = 6 values but 3 bytes follow/);
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1]), 'magic')).toThrow(/bad IDX magic/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'float')).toThrow(/not unsigned byte/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 2, 0, 0]), 'hdr')).toThrow(/truncated IDX header/);
  });
  test('gzipped files, and a truncated gzip is FILE_CORRUPT', async () => {
    const gz = zlib.gzipSync(idx([4], [9, 8, 7, 6]));
    const ok = path.join(tmp, 'ok.gz');
    fs.writeFileSync(ok, gz);
    expect(Array.from((await readIdxFile(ok)).data)).toEqual([9, 8, 7, 6]);
    const cut = path.join(tmp, 'cut.gz');
    fs.writeFileSync(cut, gz.subarray(0, gz.length - 8));
    await expect(readIdxFile(cut)).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  });
});


describe('Fashion-MNIST from Debian', () => {
  test('test split has 10000 28x28 images with balanced labels', async () => {
    const s = await loadFashionMnist('test');
    expect([s.count, s.height, s.width]).toEqual([10000, 28, 28]);
    const counts = new Array(10).fill(0);
    for (const l of s.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
  test('train split has 60000 images whose mean pixel matches the published statistic', async () => {
    const s = await loadFashionMnist('train');
    expect(s.count).toBe(60000);
    let sum = 0;
    for (const p of s.images) sum += p;
    expect(sum / s.images.length / 255).toBeCloseTo(0.286, 3);
  });
  test('a missing folder names the Debian package', async () => {
    await expect(loadFashionMnist('test', { dir: tmp })).rejects.toThrow(/dataset-fashion-mnist/);
  });
});
