/**
 * `torchnas data fetch`: downloads a table the package does not ship from its public URL (or a mirror) into
 * `$TORCHNAS_HOME`, with Node's own http/https modules. The bytes go to `<file>.partial`, which a later call
 * resumes with an HTTP Range request; the whole file must match the catalog's pinned size and sha256 before
 * it is renamed into place, and a mismatch deletes the partial file.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { isAlive, renameIntoPlace } from '../core/atomic-file';
import { TorchnasError } from '../core/errors';
import { ProgressCallback } from '../core/progress';
import { CatalogOptions, findTable, TableEntry, tableCatalog } from './catalog';
import { bundledPath, torchnasHome } from './table-names';
import { hashStream } from './table-store';

export interface FetchTableOptions extends CatalogOptions {
  /** Base URL that replaces the table's own (`<mirror>/<path>`, e.g. `<mirror>/seg-4x/trainval.pkl`); default `$TORCHNAS_MIRROR`. */
  mirror?: string;
  /** Folder to download into; default `$TORCHNAS_HOME` (`~/.cache/torchnas`). */
  home?: string;
  /** Bytes done of the table's size, as they arrive (resumed bytes count as done). */
  onProgress?: ProgressCallback;
  /** Aborting stops the transfer (CANCELLED); the partial file stays for a later resume. */
  signal?: AbortSignal;
  /** A connection silent for this long fails (default 30000 ms). */
  timeoutMs?: number;
}

export interface FetchTableResult {
  name: string;
  /** Where the table is now. */
  file: string;
  /** The URL it came from (after a mirror), or undefined when nothing was downloaded. */
  url?: string;
  bytes: number;
  sha256: string;
  /** 'downloaded' (this call finished it), 'present' (already in place and verified) or 'bundled' (shipped, nothing to do). */
  status: 'downloaded' | 'present' | 'bundled';
  /** Bytes a previous, interrupted call had left in the partial file (0 for a fresh download). */
  resumedFrom: number;
}

const idleMs = (options: FetchTableOptions): number => options.timeoutMs ?? 30000;

/** Redirects followed before giving up. */
const MAX_REDIRECTS = 5;

/** sha256 and size of a file's bytes as they are (the pins are of the downloaded bytes, never decompressed). */
function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  return hashStream(fs.createReadStream(file));
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The URL of `entry`, with its base replaced by `mirror` when one is given. */
export function tableUrl(entry: TableEntry, mirror?: string): string {
  if (!entry.remote) throw new TorchnasError(`table '${entry.name}' has no download URL`, 'INVALID_ARGUMENT');
  const base = (mirror ?? entry.remote.base).replace(/\/+$/, '');
  return `${base}/${entry.remote.path}`;
}

/** Takes `<file>.lock` for this process; a lock whose process is gone is taken over. Returns the release. */
async function takeLock(lock: string, name: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.promises.open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => fs.promises.rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await fs.promises.readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid) && pid !== process.pid) {
        throw new TorchnasError(`another process (pid ${pid}) is fetching ${name}; wait for it to finish (or remove ${lock} if that process is not torchnas)`, 'BUSY');
      }
      if (pid === process.pid) throw new TorchnasError(`${name} is already being fetched by this process`, 'BUSY');
      await fs.promises.rm(lock, { force: true }); // left by a process that died
    }
  }
  throw new TorchnasError(`could not take the lock ${lock} to fetch ${name}`, 'BUSY');
}

/** One GET; resolves with the response (any status) or rejects with a NETWORK_ERROR / CANCELLED. */
function request(url: string, headers: Record<string, string>, options: FetchTableOptions): Promise<http.IncomingMessage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TorchnasError(`invalid download URL '${url}'`, 'INVALID_ARGUMENT');
  }
  const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
  if (!client) throw new TorchnasError(`cannot download from '${url}': only http and https URLs are supported`, 'INVALID_ARGUMENT');
  return new Promise((resolve, reject) => {
    const req = client.get(parsed, { headers: { 'user-agent': 'torchnas', ...headers }, signal: options.signal });
    req.setTimeout(idleMs(options), () => req.destroy(new Error(`no answer for ${idleMs(options) / 1000} s`)));
    req.on('response', (response) => {
      req.setTimeout(0); // from here on receive() watches the body
      resolve(response);
    });
    req.on('error', (e) => reject(transferError(e, url, options.signal)));
  });
}

/** The error for a failed transfer: CANCELLED when aborted, else NETWORK_ERROR naming the URL. */
function transferError(e: unknown, url: string, signal: AbortSignal | undefined, partial?: { file: string; bytes: number; total: number }): TorchnasError {
  if (e instanceof TorchnasError) return e;
  const kept = partial && partial.bytes > 0 ? `; ${partial.bytes} of ${partial.total} bytes are kept in ${partial.file}, run the command again to resume` : '';
  if (signal?.aborted) return new TorchnasError(`download of ${url} was cancelled${kept}`, 'CANCELLED', { cause: e });
  return new TorchnasError(`download of ${url} failed: ${(e as Error).message}${kept}`, 'NETWORK_ERROR', { cause: e });
}

/** Streams a response body onto the partial file (appending or from the start), reporting progress. */
async function receive(response: http.IncomingMessage, partial: string, append: boolean, done: number, total: number, url: string, options: FetchTableOptions): Promise<void> {
  const handle = await fs.promises.open(partial, append ? 'a' : 'w');
  let received = done;
  let onAbort: (() => void) | undefined;
  let idle: NodeJS.Timeout | undefined;
  // Writes are chained so the file holds the bytes in order even though data events do not wait.
  let writing: Promise<void> = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        response.destroy();
        reject(e);
      };
      idle = setTimeout(() => fail(new Error(`no data for ${idleMs(options) / 1000} s after ${received} of ${total} bytes`)), idleMs(options));
      response.on('data', (chunk: Buffer) => {
        idle?.refresh();
        received += chunk.length;
        if (received > total) {
          fail(new TorchnasError(`the server sent more than the ${total} bytes of the pinned table`, 'FILE_CORRUPT'));
          return;
        }
        response.pause();
        writing = writing
          .then(() => handle.write(chunk))
          .then(() => {
            options.onProgress?.(received, total);
            response.resume();
          }, fail);
      });
      const cut = () => new Error(`connection closed after ${received} of ${total} bytes`);
      response.on('error', (e) => fail(options.signal?.aborted ? e : cut()));
      // A connection cut mid-body ends in 'close' without 'end' (and an 'error' on newer Node versions).
      response.on('close', () => {
        if (!response.complete) fail(cut());
      });
      response.on('end', () => {
        void writing.then(() => {
          if (failed) return;
          if (received < total) fail(new Error(`the server sent ${received} of ${total} bytes`));
          else resolve();
        }, fail);
      });
      onAbort = () => fail(new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    await handle.sync();
  } catch (e) {
    await writing.catch(() => undefined); // let the write in flight finish before the file is synced and closed
    if (e instanceof TorchnasError && e.code === 'FILE_CORRUPT') {
      await handle.close();
      await fs.promises.rm(partial, { force: true });
      throw new TorchnasError(`${url}: ${e.message}; the partial file ${partial} was deleted (is the mirror serving another file?)`, 'FILE_CORRUPT', { cause: e });
    }
    await handle.sync().catch(() => undefined); // what did arrive is kept for the resume
    throw transferError(e, url, options.signal, { file: partial, bytes: sizeOf(partial), total });
  } finally {
    clearTimeout(idle);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    await handle.close().catch(() => undefined); // closed already when the partial file was deleted
  }
}

/**
 * Downloads (or resumes) `url` into `partial` until it holds `total` bytes.
 * @returns the bytes of the partial file that were kept (0 when the download started from the beginning).
 */
async function download(url: string, partial: string, total: number, options: FetchTableOptions): Promise<number> {
  let current = url;
  for (let redirects = 0, restarts = 0; ; ) {
    const have = sizeOf(partial);
    if (have === total) return have;
    const response = await request(current, have > 0 ? { range: `bytes=${have}-` } : {}, options);
    const restart = async (): Promise<void> => {
      response.resume();
      if (++restarts > 2) throw new TorchnasError(`download of ${current} failed: the server does not answer range requests consistently`, 'NETWORK_ERROR');
      await fs.promises.rm(partial, { force: true });
    };
    const status = response.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && response.headers.location) {
      response.resume();
      if (++redirects > MAX_REDIRECTS) throw new TorchnasError(`download of ${url} failed: more than ${MAX_REDIRECTS} redirects`, 'NETWORK_ERROR');
      current = new URL(response.headers.location, current).toString();
      continue;
    }
    if (status === 416) {
      await restart(); // the partial file does not fit the remote one (longer, or the file changed): start over
      continue;
    }
    if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(response.headers['content-range'] ?? ''));
      if (!range || Number(range[1]) !== have || (range[3] !== '*' && Number(range[3]) !== total)) {
        response.resume();
        if (range && range[3] !== '*' && Number(range[3]) !== total) {
          await fs.promises.rm(partial, { force: true });
          throw new TorchnasError(`${current} is ${range[3]} bytes, but the pinned table has ${total}; the partial file was deleted (is the mirror serving another file?)`, 'FILE_CORRUPT');
        }
        await restart(); // a range we did not ask for: start over
        continue;
      }
      await receive(response, partial, true, have, total, current, options);
      return have;
    }
    if (status === 200) {
      const length = response.headers['content-length'];
      if (length !== undefined && Number(length) !== total) {
        response.resume();
        await fs.promises.rm(partial, { force: true });
        throw new TorchnasError(`${current} is ${length} bytes, but the pinned table has ${total}; the partial file was deleted (is the mirror serving another file?)`, 'FILE_CORRUPT');
      }
      // A server that ignores Range sends the whole file: write it from the start.
      await receive(response, partial, false, 0, total, current, options);
      return 0;
    }
    response.resume();
    const kept = have > 0 ? `; the ${have} bytes already in ${partial} are kept for a later resume` : '';
    throw new TorchnasError(`download of ${current} failed: HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd() + kept, 'NETWORK_ERROR');
  }
}

/**
 * Downloads the table `name` (a catalog name or alias) into `$TORCHNAS_HOME`, resuming a partial download,
 * and checks it against the pinned size and sha256 before renaming it into place.
 * @throws TorchnasError INVALID_ARGUMENT (unknown name, or a table without a pinned download),
 *   NETWORK_ERROR (HTTP error, connection lost: the partial file is kept), FILE_CORRUPT (size or sha256
 *   mismatch: the partial file is deleted), CANCELLED (aborted), BUSY (another process fetches it).
 */
export async function fetchTable(name: string, options: FetchTableOptions = {}): Promise<FetchTableResult> {
  const tables = tableCatalog(options);
  const entry = findTable(name, tables);
  if (!entry) {
    const fetchable = tables.filter((t) => t.remote && !t.bundled).map((t) => t.name);
    throw new TorchnasError(`unknown table '${name}'; tables to fetch: ${fetchable.join(', ')} (torchnas data list shows them all)`, 'INVALID_ARGUMENT');
  }
  if (entry.bundled && entry.sha256 && entry.bytes !== undefined && fs.existsSync(bundledPath(entry))) {
    return { name: entry.name, file: bundledPath(entry), bytes: entry.bytes, sha256: entry.sha256, status: 'bundled', resumedFrom: 0 };
  }
  const home = path.resolve(options.home ?? torchnasHome());
  const target = path.join(home, entry.file);
  if (!entry.remote || !entry.sha256 || entry.bytes === undefined) {
    throw new TorchnasError(`table '${entry.name}' has no pinned download; place your copy at ${target}`, 'INVALID_ARGUMENT');
  }
  const mirror = options.mirror ?? (process.env.TORCHNAS_MIRROR || undefined);
  const url = tableUrl(entry, mirror);
  const pinned = { sha256: entry.sha256, bytes: entry.bytes };
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const release = await takeLock(`${target}.lock`, entry.name);
  try {
    if (fs.existsSync(target)) {
      const present = await hashFile(target);
      if (present.sha256 === pinned.sha256) return { name: entry.name, file: target, bytes: present.bytes, sha256: present.sha256, status: 'present', resumedFrom: 0 };
      throw new TorchnasError(
        `${target} exists but is not the pinned ${entry.name} (sha256 ${present.sha256}, expected ${pinned.sha256}); remove it to download again`,
        'FILE_CORRUPT',
      );
    }
    const partial = `${target}.partial`;
    if (sizeOf(partial) > pinned.bytes) await fs.promises.rm(partial, { force: true });
    options.onProgress?.(sizeOf(partial), pinned.bytes);
    const resumedFrom = await download(url, partial, pinned.bytes, options);
    const got = await hashFile(partial);
    if (got.sha256 !== pinned.sha256 || got.bytes !== pinned.bytes) {
      await fs.promises.rm(partial, { force: true });
      throw new TorchnasError(
        `checksum mismatch for ${entry.name} from ${url}: sha256 ${got.sha256} (${got.bytes} bytes), expected ${pinned.sha256} (${pinned.bytes} bytes); ` +
          `the partial file ${partial} was deleted: run the command again to download from the start, or check the mirror`,
        'FILE_CORRUPT',
      );
    }
    await renameIntoPlace(partial, target);
    return { name: entry.name, file: target, url, bytes: got.bytes, sha256: got.sha256, status: 'downloaded', resumedFrom };
  } finally {
    await release();
  }
}
