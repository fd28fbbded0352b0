// Downloads of `torchnas data fetch` against a local HTTP server (never the internet): synthetic bytes whose
// pin comes from an extra catalog, plus the shipped catalog's real pins for the mismatch case.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILTIN_TABLES, findTable } from '../../src/benchmarks/catalog';
import { fetchTable, FetchTableOptions } from '../../src/benchmarks/fetch-table';
import { Random } from '../../src/core/random';
import { startTableServer, TableServer, writeCatalog } from '../helpers/table-server';

const SIZE = 300_000;
const body = (() => {
  const random = new Random(11);
  return Uint8Array.from({ length: SIZE }, () => random.int(0, 255));
})();
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let server: TableServer;
let tmp: string;

beforeAll(async () => {
  server = await startTableServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-fetch-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let home: string;
let counter = 0;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(tmp, 'home-'));
  server.requests.length = 0;
});

/** A catalog with one table `test/t<k>` whose pin is the synthetic body's; served at `/<route>/t<k>.bin`. */
function catalogFor(route: string, pin: { bytes: number; sha256: string } = { bytes: SIZE, sha256: sha256(body) }): { name: string; options: FetchTableOptions; target: string; urlPath: string } {
  const k = ++counter;
  const name = `test/t${k}`;
  const catalog = writeCatalog(tmp, [{ name, kind: 'nas-bench-mr', file: `test/t${k}.pkl`, ...pin, base: `${server.base}/${route}`, path: `t${k}.bin` }]);
  return { name, options: { catalog, home }, target: path.join(home, 'test', `t${k}.pkl`), urlPath: `/${route}/t${k}.bin` };
}

describe('fetchTable', () => {
  test('downloads, reports progress in order up to the size, verifies and renames into place', async () => {
    const t = catalogFor('ok');
    server.route(t.urlPath, { kind: 'serve', body });
    const progress: [number, number][] = [];
    const r = await fetchTable(t.name, { ...t.options, onProgress: (done, total) => progress.push([done, total]) });
    expect(r).toMatchObject({ name: t.name, file: t.target, status: 'downloaded', bytes: SIZE, sha256: sha256(body), resumedFrom: 0, url: `${server.base}${t.urlPath}` });
    expect(fs.readFileSync(t.target).equals(Buffer.from(body))).toBe(true);
    expect(fs.readdirSync(path.dirname(t.target))).toEqual([path.basename(t.target)]); // no .partial, no .lock left
    expect(progress[0]).toEqual([0, SIZE]);
    expect(progress[progress.length - 1]).toEqual([SIZE, SIZE]);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1][0])).toBe(true);
    // A second fetch verifies the file in place and downloads nothing.
    const again = await fetchTable(t.name, t.options);
    expect(again.status).toBe('present');
    expect(server.requests).toHaveLength(1);
  });

  test('a cut connection is NETWORK_ERROR that keeps the partial file; the next fetch resumes it with Range', async () => {
    const t = catalogFor('cut');
    server.route(t.urlPath, { kind: 'cut', body, cutAt: 120_000, times: 1 });
    const error = await fetchTable(t.name, t.options).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR', message: expect.stringMatching(/connection closed after \d+ of 300000 bytes.*run the command again to resume/) });
    const partial = `${t.target}.partial`;
    const kept = fs.statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(120_000);
    expect(fs.existsSync(t.target)).toBe(false);
    expect(fs.readFileSync(partial).equals(Buffer.from(body.subarray(0, kept)))).toBe(true);

    const r = await fetchTable(t.name, t.options);
    expect(r).toMatchObject({ status: 'downloaded', resumedFrom: kept, sha256: sha256(body) });
    expect(server.requests.map((q) => q.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(fs.readFileSync(t.target).equals(Buffer.from(body))).toBe(true);
    expect(fs.existsSync(partial)).toBe(false);
  });

  test('a server that ignores Range sends the whole file again, which replaces the partial one', async () => {
    const t = catalogFor('norange');
    fs.mkdirSync(path.dirname(t.target), { recursive: true });
    fs.writeFileSync(`${t.target}.partial`, Buffer.from(body.subarray(0, 5000)).fill(7)); // wrong bytes: a resume would corrupt
    server.route(t.urlPath, { kind: 'serve', body, ignoreRange: true });
    const r = await fetchTable(t.name, t.options);
    expect(r).toMatchObject({ status: 'downloaded', resumedFrom: 0 });
    expect(server.requests[0].range).toBe('bytes=5000-');
    expect(fs.readFileSync(t.target).equals(Buffer.from(body))).toBe(true);
  });

  test('wrong bytes of the right size: FILE_CORRUPT naming both hashes, the partial file is deleted, nothing renamed', async () => {
    const t = catalogFor('wrong');
    const other = Uint8Array.from(body, (b) => b ^ 1);
    server.route(t.urlPath, { kind: 'serve', body: other });
    const error = await fetchTable(t.name, t.options).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FILE_CORRUPT' });
    const message = (error as Error).message;
    expect(message).toContain(`sha256 ${sha256(other)}`);
    expect(message).toContain(`expected ${sha256(body)}`);
    expect(message).toMatch(/partial file .* was deleted/);
    expect(fs.readdirSync(path.dirname(t.target))).toEqual([]);
  });

  test('a size other than the pin is refused before the body is read', async () => {
    const t = catalogFor('short');
    server.route(t.urlPath, { kind: 'serve', body: body.subarray(0, 1000) });
    await expect(fetchTable(t.name, t.options)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/is 1000 bytes, but the pinned table has 300000/) });
    expect(fs.readdirSync(path.dirname(t.target))).toEqual([]);
  });

  test('a body without Content-Length that runs past the pinned size is refused mid-transfer and deleted', async () => {
    const t = catalogFor('long');
    server.route(t.urlPath, { kind: 'serve', body: Uint8Array.from([...body, ...body]), chunked: true });
    await expect(fetchTable(t.name, t.options)).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: expect.stringMatching(/the server sent more than the 300000 bytes of the pinned table; the partial file .* was deleted/),
    });
    expect(fs.readdirSync(path.dirname(t.target))).toEqual([]);
  });

  test('a body without Content-Length that ends short is NETWORK_ERROR, and the bytes stay for a resume', async () => {
    const t = catalogFor('shortchunked');
    server.route(t.urlPath, { kind: 'serve', body: body.subarray(0, 7000), chunked: true });
    await expect(fetchTable(t.name, t.options)).rejects.toMatchObject({ code: 'NETWORK_ERROR', message: expect.stringContaining('the server sent 7000 of 300000 bytes') });
    expect(fs.statSync(`${t.target}.partial`).size).toBe(7000);
  });

  test('HTTP 500 is NETWORK_ERROR naming the status; a partial file from before is kept', async () => {
    const t = catalogFor('e500');
    fs.mkdirSync(path.dirname(t.target), { recursive: true });
    fs.writeFileSync(`${t.target}.partial`, Buffer.from(body.subarray(0, 4096)));
    server.route(t.urlPath, { kind: 'status', status: 500 });
    await expect(fetchTable(t.name, t.options)).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
      message: expect.stringMatching(/HTTP 500 Internal Server Error; the 4096 bytes already in .*\.partial are kept/),
    });
    expect(fs.statSync(`${t.target}.partial`).size).toBe(4096);
    // once the server is well again, the download resumes from those bytes
    server.route(t.urlPath, { kind: 'serve', body });
    expect(await fetchTable(t.name, t.options)).toMatchObject({ status: 'downloaded', resumedFrom: 4096 });
  });

  test('redirects are followed', async () => {
    const t = catalogFor('moved');
    server.route(t.urlPath, { kind: 'redirect', location: '/elsewhere/file.bin' });
    server.route('/elsewhere/file.bin', { kind: 'serve', body });
    expect(await fetchTable(t.name, t.options)).toMatchObject({ status: 'downloaded' });
    expect(server.requests.map((q) => q.path)).toEqual([t.urlPath, '/elsewhere/file.bin']);
  });

  test('aborting is CANCELLED and keeps what arrived; a silent server times out as NETWORK_ERROR', async () => {
    const t = catalogFor('stall');
    server.route(t.urlPath, { kind: 'stall', body, stallAt: 50_000 });
    const controller = new AbortController();
    const run = fetchTable(t.name, { ...t.options, signal: controller.signal, onProgress: (done) => done >= 50_000 && controller.abort() });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(fs.statSync(`${t.target}.partial`).size).toBe(50_000);
    await expect(fetchTable(t.name, { ...t.options, timeoutMs: 300 })).rejects.toMatchObject({ code: 'NETWORK_ERROR', message: expect.stringMatching(/no data for 0.3 s/) });
    expect(server.requests.map((q) => q.range)).toEqual([undefined, 'bytes=50000-']);
  });

  test('the shipped pins stay in force: synthetic bytes on a mirror for seg-4x are refused', async () => {
    const seg4x = findTable('seg-4x', BUILTIN_TABLES);
    expect(seg4x).toMatchObject({ bytes: 1145600, sha256: 'c111b4ad884e63fd16a1fd2d91fe5eb25ef39a9f3c8b5534a34b025aed06d434', remote: { path: 'seg-4x/trainval.pkl' } });
    const fake = new Uint8Array(1145600).fill(3);
    server.route('/mirror/seg-4x/trainval.pkl', { kind: 'serve', body: fake });
    const error = await fetchTable('seg-4x', { home, mirror: `${server.base}/mirror/` }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining(`sha256 ${sha256(fake)} (1145600 bytes), expected c111b4ad`) });
    expect(server.requests.map((q) => q.path)).toEqual(['/mirror/seg-4x/trainval.pkl']);
    expect(fs.existsSync(path.join(home, 'nas-bench-mr', 'seg-4x.pkl'))).toBe(false);
  });

  test('names: unknown, bundled and unpinned tables', async () => {
    await expect(fetchTable('no-such-table', { home })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown table 'no-such-table'; tables to fetch: .*nas-bench-mr\/seg-4x/) });
    expect(await fetchTable('nb201', { home })).toMatchObject({ status: 'bundled', sha256: '6048b2ce2ae8f466c9c2fafd0cb9065edbe94db36f7804790beab0e845fa40d0' });
    await expect(fetchTable('3ddet', { home })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('has no pinned download; place your copy at') });
    expect(server.requests).toHaveLength(0);
  });

  test('a lock held by a live process is BUSY; one left by a dead process is taken over', async () => {
    const t = catalogFor('locked');
    server.route(t.urlPath, { kind: 'serve', body });
    fs.mkdirSync(path.dirname(t.target), { recursive: true });
    fs.writeFileSync(`${t.target}.lock`, String(process.ppid));
    await expect(fetchTable(t.name, t.options)).rejects.toMatchObject({ code: 'BUSY', message: expect.stringContaining(`pid ${process.ppid}`) });
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = child.pid as number;
    await new Promise((resolve) => child.on('exit', resolve));
    fs.writeFileSync(`${t.target}.lock`, String(deadPid));
    expect(await fetchTable(t.name, t.options)).toMatchObject({ status: 'downloaded' });
    expect(fs.existsSync(`${t.target}.lock`)).toBe(false);
  });

  test('a bad extra catalog is CONFIG_INVALID naming the field', async () => {
    const catalog = writeCatalog(tmp, [{ name: 'x/y', kind: 'nas-bench-mr', file: '../escape.pkl', base: 'http://127.0.0.1:1', path: 'a' }]);
    const error = await fetchTable('x/y', { catalog, home }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as Error).message).toMatch(/tables\.0\.file: expected a relative path without \.\./);
    expect((error as Error).message).toMatch(/needs its bytes and sha256/);
  });
});
