import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeImage, imageFolderOf, loadImageFolder, resizeInto } from '../../src/data/image-folder';
import { parseInputSource } from '../../src/data/input-source';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const jpeg = require('jpeg-js') as { encode(img: { width: number; height: number; data: Uint8Array }, quality?: number): { data: Buffer } };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { PNG } = require('pngjs') as { PNG: { sync: { write(png: { width: number; height: number; data: Buffer }): Buffer } } };

/** RGBA pixels of a solid colour. */
function solid(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return data;
}

function writePng(file: string, width: number, height: number, data: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write({ width, height, data: Buffer.from(data) }));
}

function writeJpeg(file: string, width: number, height: number, data: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ width, height, data }, 95).data);
}

describe('image folders (folder:DIR)', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-folder-'));
    // Classes created in non-sorted order: labels must follow the sorted names (zebra = 2, apple = 0, mango = 1).
    writePng(path.join(root, 'train', 'zebra', 'b.png'), 8, 6, solid(8, 6, [0, 0, 255]));
    writePng(path.join(root, 'train', 'zebra', 'a.PNG'), 4, 4, solid(4, 4, [0, 0, 250]));
    writeJpeg(path.join(root, 'train', 'apple', 'x.jpg'), 16, 16, solid(16, 16, [200, 30, 30]));
    writeJpeg(path.join(root, 'train', 'apple', 'y.jpeg'), 10, 20, solid(10, 20, [210, 20, 20]));
    writePng(path.join(root, 'train', 'mango', 'm.png'), 5, 5, solid(5, 5, [255, 255, 0]));
    fs.writeFileSync(path.join(root, 'train', 'mango', 'notes.txt'), 'not an image');
    writePng(path.join(root, 'val', 'mango', 'v.png'), 3, 3, solid(3, 3, [250, 250, 0]));
    writeJpeg(path.join(root, 'val', 'apple', 'v.jpg'), 8, 8, solid(8, 8, [200, 30, 30]));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('labels by sorted class folder, interleaves the classes, resizes and keeps RGB planes', async () => {
    const s = await loadImageFolder(root, 'train', { channels: 3, height: 4, width: 4 });
    expect(s.classes).toEqual(['apple', 'mango', 'zebra']);
    expect(s.count).toBe(5);
    // Round-robin: apple/x, mango/m, zebra/a.PNG, apple/y, zebra/b.
    expect(Array.from(s.labels)).toEqual([0, 1, 2, 0, 2]);
    expect(s.images.length).toBe(5 * 3 * 16);
    const pixel = (i: number, c: number) => s.images[i * 48 + c * 16 + 5];
    expect([pixel(1, 0), pixel(1, 1), pixel(1, 2)]).toEqual([255, 255, 0]); // PNG, lossless
    expect([pixel(2, 0), pixel(2, 1), pixel(2, 2)]).toEqual([0, 0, 250]);
    // JPEG is lossy: within a few levels of the encoded colour.
    expect(Math.abs(pixel(0, 0) - 200)).toBeLessThanOrEqual(4);
    expect(Math.abs(pixel(0, 1) - 30)).toBeLessThanOrEqual(4);
    expect(Math.abs(pixel(3, 2) - 20)).toBeLessThanOrEqual(4);
  });

  it('converts to one luminance channel and honours a limit, balanced over the classes', async () => {
    const s = await loadImageFolder(root, 'train', { channels: 1, height: 2, width: 3, limit: 3 });
    expect(s.count).toBe(3);
    expect(Array.from(s.labels)).toEqual([0, 1, 2]);
    // yellow (255, 255, 0): 0.299·255 + 0.587·255 = 226.1 → 226.
    expect(Array.from(s.images.subarray(6, 12))).toEqual([226, 226, 226, 226, 226, 226]);
  });

  it('reads the test split from val/ with the training classes', async () => {
    const s = await loadImageFolder(root, 'test', { channels: 3, height: 4, width: 4, classes: ['apple', 'mango', 'zebra'] });
    expect(s.dir).toBe(path.join(root, 'val'));
    expect(Array.from(s.labels)).toEqual([0, 1]);
  });

  it('resizes bilinearly with half-pixel centres', () => {
    // 2×1 image black | white → 4×1: 0, 64, 191, 255 (sample points -0.25→0, 0.25, 0.75, 1.25→1 of the span).
    const data = new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255]);
    const out = new Uint8Array(4);
    resizeInto({ width: 2, height: 1, data }, 1, 1, 4, out, 0);
    expect(Array.from(out)).toEqual([0, 64, 191, 255]);
  });

  it('gives clear errors for missing and empty folders and undecodable images', async () => {
    const shape = { channels: 3, height: 4, width: 4 };
    await expect(loadImageFolder(path.join(root, 'nope'), 'train', shape)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('not found') });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-folder-empty-'));
    try {
      await expect(loadImageFolder(empty, 'train', shape)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('no train folder') });
      fs.mkdirSync(path.join(empty, 'train'));
      await expect(loadImageFolder(empty, 'train', shape)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('no class folders') });
      fs.mkdirSync(path.join(empty, 'train', 'cat'));
      await expect(loadImageFolder(empty, 'train', shape)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(path.join('train', 'cat')) });
      fs.writeFileSync(path.join(empty, 'train', 'cat', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
      await expect(loadImageFolder(empty, 'train', shape)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('broken.jpg') });
      fs.writeFileSync(path.join(empty, 'train', 'cat', 'broken.jpg'), 'GIF89a');
      await expect(loadImageFolder(empty, 'train', shape)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('not a JPEG or PNG') });
      await expect(loadImageFolder(empty, 'test', shape)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('val/test') });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    expect(() => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'cut.png')).toThrow(/cut\.png: cannot decode this PNG/);
  });

  it('is accepted as a data source spelling', () => {
    expect(imageFolderOf('folder:/x/y')).toBe('/x/y');
    expect(imageFolderOf('folder:')).toBeUndefined();
    expect(parseInputSource('folder:/data/imgs')).toBe('folder:/data/imgs');
    expect(() => parseInputSource('folders:/x')).toThrow(/folder:DIR/);
  });
});
