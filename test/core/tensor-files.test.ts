/**
 * Files torchnas writes are sealed (native/core/verified_archive.h) and every archive is checked before
 * LibTorch parses it: damaged files are FILE_CORRUPT naming what failed, never a crash or a multi-GB
 * allocation; paths that are not regular files are refused at once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchnasError } from '../../src/core/errors';
import { native } from '../../src/native';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TRAILER = 105;
const b = native();
const values = Float32Array.from({ length: 24 }, (_, i) => i * 0.25 - 2);

async function writeTensorFile(name: string): Promise<string> {
  const file = path.join(tmp, name);
  await b.saveTensors(file, { weight: new b.Tensor(values, [2, 3, 4]), bias: new b.Tensor(new Int32Array([7, -7]), [2]) });
  return file;
}

/** The same archive without the torchnas trailer: what torchnas < 0.2 and torch::save wrote. */
function unseal(bytes: Buffer): Buffer {
  const zip = Buffer.from(bytes.subarray(0, bytes.length - TRAILER));
  zip.writeUInt16LE(0, zip.length - 2);
  return zip;
}

async function rejection(p: Promise<unknown>): Promise<TorchnasError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(TorchnasError);
      return e as TorchnasError;
    },
  );
}

/** loadTensors in a child process: a crash there fails this test instead of killing jest. */
function loadInChild(file: string): { value?: Record<string, number[]>; error?: { code: string; message: string } } {
  const body = `const r = await b.loadTensors(${JSON.stringify(file)});
    return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.toArray())]));`;
  const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'fuzz', 'child', 'eval.js'), body], { encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`loadTensors(${file}) killed the process: ${child.signal ?? child.status}\n${child.stderr}`);
  return JSON.parse(child.stdout);
}

test('a saved tensor file is a zip whose comment is the trailer "torchnas-archive 1 <length> <sha256>\\n"', async () => {
  const bytes = fs.readFileSync(await writeTensorFile('sealed.pt'));
  const trailer = bytes.subarray(bytes.length - TRAILER).toString('latin1');
  const payload = bytes.subarray(0, bytes.length - TRAILER);
  expect(trailer).toMatch(/^torchnas-archive 1 \d{20} [0-9a-f]{64}\n$/);
  expect(Number(trailer.slice(19, 39))).toBe(payload.length);
  expect(trailer.slice(40, 104)).toBe(createHash('sha256').update(payload).digest('hex'));
  // The end-of-central-directory record (22 bytes + comment) declares the trailer as its comment.
  expect(payload.readUInt32LE(payload.length - 22)).toBe(0x06054b50);
  expect(payload.readUInt16LE(payload.length - 2)).toBe(TRAILER);
});

test('one flipped byte (__parameters__ -> __paramoters__) is FILE_CORRUPT by checksum, not a crash', async () => {
  const bytes = fs.readFileSync(await writeTensorFile('flip.pt'));
  const at = bytes.indexOf('__parameters__');
  expect(at).toBeGreaterThan(0);
  bytes[at + 7] = 'o'.charCodeAt(0);
  const file = path.join(tmp, 'flipped.pt');
  fs.writeFileSync(file, bytes);
  const r = loadInChild(file);
  expect(r.error?.code).toBe('FILE_CORRUPT');
  expect(r.error?.message).toContain(file);
  expect(r.error?.message).toMatch(/SHA-256 mismatch/);
});

test('files without the trailer (older torchnas, torch::save) still load, after their zip is checked', async () => {
  const legacy = path.join(tmp, 'legacy.pt');
  fs.writeFileSync(legacy, unseal(fs.readFileSync(await writeTensorFile('for-legacy.pt'))));
  const r = loadInChild(legacy);
  expect(r.value?.weight).toEqual(Array.from(values));
  expect(r.value?.bias).toEqual([7, -7]);

  // The same flip there: LibTorch skips zip CRCs, torchnas checks them first.
  const bytes = fs.readFileSync(legacy);
  bytes[bytes.indexOf('__parameters__') + 7] = 'o'.charCodeAt(0);
  fs.writeFileSync(legacy, bytes);
  const bad = loadInChild(legacy);
  expect(bad.error?.code).toBe('FILE_CORRUPT');
  expect(bad.error?.message).toMatch(/CRC-32 mismatch/);
});

test('an entry size beyond the file is refused before anything is allocated from it', async () => {
  const zip = unseal(fs.readFileSync(await writeTensorFile('sizes.pt')));
  const cd = zip.readUInt32LE(zip.length - 22 + 16);
  zip.writeUInt32LE(0x7ffffff0, cd + 20); // compressed size of the first entry
  zip.writeUInt32LE(0x7ffffff0, cd + 24); // uncompressed size
  const file = path.join(tmp, 'huge-entry.pt');
  fs.writeFileSync(file, zip);
  const r = loadInChild(file);
  expect(r.error?.code).toBe('FILE_CORRUPT');
  expect(r.error?.message).toMatch(/entry 0: 2147483632 bytes of data that do not fit in the file/);
});

test('truncated and extended files are FILE_CORRUPT naming the length', async () => {
  const bytes = fs.readFileSync(await writeTensorFile('cut.pt'));
  const cut = path.join(tmp, 'truncated.pt');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 1));
  const e1 = await rejection(b.loadTensors(cut));
  expect(e1.code).toBe('FILE_CORRUPT');
  const longer = path.join(tmp, 'extended.pt');
  fs.writeFileSync(longer, Buffer.concat([bytes, Buffer.from('x')]));
  const e2 = await rejection(b.loadTensors(longer));
  expect(e2.code).toBe('FILE_CORRUPT');
  expect(e2.message).toContain(longer);
});

test('a FIFO, a directory and a device are refused at once (a FIFO blocked a worker forever)', async () => {
  const fifo = path.join(tmp, 'fifo.pt');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const e = await rejection(b.loadTensors(fifo));
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.message).toMatch(/is a FIFO/);
  expect((await rejection(b.loadTensors(tmp))).message).toMatch(/is a directory/);
  expect((await rejection(b.loadTensors('/dev/zero'))).message).toMatch(/is a device/);
}, 15_000);

test('module state files are sealed too, load back, and are checked', async () => {
  const cnn = new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 3 });
  const file = path.join(tmp, 'cnn.pt');
  await cnn.save(file);
  const bytes = fs.readFileSync(file);
  expect(bytes.subarray(bytes.length - TRAILER).toString('latin1')).toMatch(/^torchnas-archive 1 /);
  const other = new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 4 });
  await other.load(file);
  const x = new b.Tensor(Float32Array.from({ length: 64 }, (_, i) => i / 64), [1, 1, 8, 8]);
  expect(Array.from((await other.forward(x)).toArray() as Float32Array)).toEqual(Array.from((await cnn.forward(x)).toArray() as Float32Array));
  bytes[bytes.length >> 1] ^= 0x40;
  fs.writeFileSync(file, bytes);
  const e = await rejection(other.load(file));
  expect(e.code).toBe('FILE_CORRUPT');
  expect(e.message).toMatch(/SHA-256 mismatch/);
});

test('saving onto a directory is INVALID_ARGUMENT naming it, and leaves no temp file behind', async () => {
  const target = path.join(tmp, 'a-folder');
  fs.mkdirSync(target);
  const e = await rejection(b.saveTensors(target, { x: new b.Tensor(values, [24]) }));
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.message).toBe(`cannot write ${target}: it is a directory`);
  expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
});

test('saving onto a FIFO (or a device) refuses to replace it', async () => {
  const fifo = path.join(tmp, 'save-fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const e = await rejection(b.saveTensors(fifo, { x: new b.Tensor(values, [24]) }));
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.message).toBe(`cannot write ${fifo}: it exists and is not a regular file (a device, FIFO or socket)`);
  expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
});
