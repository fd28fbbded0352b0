/**
 * What `torchnas data list` and `data verify` report: every table of the catalog (bundled, cached in
 * `$TORCHNAS_HOME`, fetchable, or known by name only), other table files found in `$TORCHNAS_HOME`,
 * and whether each file on disk still has its pinned sha256.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { TorchnasError } from '../core/errors';
import { CatalogOptions, TableEntry, TableKind, tableCatalog } from './catalog';
import { bundledPath, homeCandidates, torchnasHome } from './table-names';

export type TableState = 'bundled' | 'cached' | 'fetchable' | 'absent';

export interface TableListing {
  name: string;
  aliases: string[];
  /** undefined for a file of $TORCHNAS_HOME the catalog does not know. */
  kind?: TableKind;
  description: string;
  /** Where the table is read from, in resolution order: cached (in $TORCHNAS_HOME) before bundled. */
  state: TableState;
  /** The file a name resolves to now, if any. */
  file?: string;
  /** Size and sha256 of the original bytes: the pins, or measured for a table without one. */
  bytes?: number;
  sha256?: string;
  /** Size of `file` on disk (gzipped for a bundled table). */
  fileBytes?: number;
  /** Where the table goes in $TORCHNAS_HOME (fetched or placed by hand). */
  homeFile: string;
  /** A download left unfinished (`torchnas data fetch` resumes it). */
  partial?: { file: string; bytes: number };
  url?: string;
  source: string;
  license: string;
}

function fileSize(file: string): number | undefined {
  try {
    const stat = fs.statSync(file);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 and size of what a stream yields. */
export async function hashStream(stream: AsyncIterable<unknown>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** sha256 and size of a file's content, decompressed first when it is gzipped (told by its first bytes). */
export async function contentHash(file: string): Promise<{ sha256: string; bytes: number }> {
  const head = Buffer.alloc(2);
  const fd = await fs.promises.open(file, 'r');
  try {
    await fd.read(head, 0, 2, 0);
  } finally {
    await fd.close();
  }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const stream: NodeJS.ReadableStream = gz ? fs.createReadStream(file).pipe(createGunzip()) : fs.createReadStream(file);
  try {
    return await hashStream(stream);
  } catch (e) {
    throw new TorchnasError(`${file}: ${gz ? 'corrupt gzip data' : 'cannot be read'} (${(e as Error).message})`, gz ? 'FILE_CORRUPT' : 'INVALID_ARGUMENT', { cause: e });
  }
}

/** Table files in `home` (one folder level, e.g. nas-bench-mr/x.pkl) that no catalog entry claims. */
function strayFiles(home: string, claimed: Set<string>): string[] {
  let groups: fs.Dirent[];
  try {
    groups = fs.readdirSync(home, { withFileTypes: true }).filter((d) => d.isDirectory());
  } catch {
    return [];
  }
  return groups.flatMap((g) =>
    fs
      .readdirSync(path.join(home, g.name))
      .filter((f) => /\.(pkl|json|txt)(\.gz)?$/.test(f))
      .map((f) => path.join(home, g.name, f))
      .filter((f) => !claimed.has(f) && fileSize(f) !== undefined),
  );
}

/** The name under which a file of $TORCHNAS_HOME resolves: `<group>/<stem>`. */
export function homeFileName(home: string, file: string): string {
  return path.relative(home, file).split(path.sep).join('/').replace(/\.(pkl|json|txt)(\.gz)?$/, '');
}

/**
 * Every known table and where it is now. Tables without a pin that sit in $TORCHNAS_HOME get their size
 * and sha256 measured.
 */
export async function listTables(options: CatalogOptions = {}): Promise<TableListing[]> {
  const home = torchnasHome();
  const tables = tableCatalog(options);
  const claimed = new Set<string>();
  const rows: TableListing[] = [];
  for (const entry of tables) {
    const candidates = homeCandidates(entry, home);
    candidates.forEach((c) => claimed.add(c));
    const cached = candidates.find((c) => fileSize(c) !== undefined);
    const bundled = entry.bundled && fileSize(bundledPath(entry)) !== undefined ? bundledPath(entry) : undefined;
    const partialFile = `${path.join(home, entry.file)}.partial`;
    const partialBytes = fileSize(partialFile);
    const state: TableState = cached ? 'cached' : bundled ? 'bundled' : entry.remote && entry.sha256 ? 'fetchable' : 'absent';
    const file = cached ?? bundled;
    let measured: { sha256: string; bytes: number } | undefined;
    if (cached && !entry.sha256) measured = await contentHash(cached);
    rows.push({
      ...describe(entry),
      state,
      file,
      bytes: entry.bytes ?? measured?.bytes,
      sha256: entry.sha256 ?? measured?.sha256,
      fileBytes: file ? fileSize(file) : undefined,
      homeFile: path.join(home, entry.file),
      partial: partialBytes !== undefined ? { file: partialFile, bytes: partialBytes } : undefined,
    });
  }
  for (const file of strayFiles(home, claimed)) {
    const measured = await contentHash(file);
    rows.push({
      name: homeFileName(home, file),
      aliases: [],
      description: 'a table file in $TORCHNAS_HOME that the catalog does not know',
      state: 'cached',
      file,
      bytes: measured.bytes,
      sha256: measured.sha256,
      fileBytes: fileSize(file),
      homeFile: file,
      source: 'user',
      license: 'unknown',
    });
  }
  return rows;
}

function describe(entry: TableEntry): Pick<TableListing, 'name' | 'aliases' | 'kind' | 'description' | 'url' | 'source' | 'license'> {
  return {
    name: entry.name,
    aliases: entry.aliases,
    kind: entry.kind,
    description: entry.description,
    url: entry.remote ? `${entry.remote.base}/${entry.remote.path}` : undefined,
    source: entry.source,
    license: entry.license,
  };
}

export interface VerifyRow {
  name: string;
  where: 'bundled' | 'cached';
  file: string;
  /** ok: the content's sha256 equals the pin; mismatch: it does not; missing: a bundled file is gone;
   *  unpinned: no pin to compare with (a table known by name only, or a JSON copy of a pinned pickle). */
  status: 'ok' | 'mismatch' | 'missing' | 'unpinned';
  expected?: string;
  actual?: { sha256: string; bytes: number };
  /** Why the content could not be hashed (e.g. a damaged gzip stream); status is then mismatch. */
  error?: string;
}

/** Checks every bundled table and every table file in $TORCHNAS_HOME against the pinned sha256 of its original bytes. */
export async function verifyTables(options: CatalogOptions = {}): Promise<VerifyRow[]> {
  const home = torchnasHome();
  const rows: VerifyRow[] = [];
  const claimed = new Set<string>();
  for (const entry of tableCatalog(options)) {
    if (entry.bundled) {
      const file = bundledPath(entry);
      if (fileSize(file) === undefined) rows.push({ name: entry.name, where: 'bundled', file, status: 'missing', expected: entry.sha256 });
      else rows.push(await check(entry, 'bundled', file));
    }
    const original = path.join(home, entry.file);
    for (const file of homeCandidates(entry, home)) {
      claimed.add(file);
      if (fileSize(file) === undefined) continue;
      // Only the original bytes (plain or gzipped) have a pin; a JSON copy has none.
      const pinned = file === original || file === `${original}.gz`;
      rows.push(pinned ? await check(entry, 'cached', file) : { name: entry.name, where: 'cached', file, status: 'unpinned', actual: await contentHash(file) });
    }
  }
  for (const file of strayFiles(home, claimed)) rows.push({ name: homeFileName(home, file), where: 'cached', file, status: 'unpinned', actual: await contentHash(file) });
  return rows;
}

async function check(entry: TableEntry, where: VerifyRow['where'], file: string): Promise<VerifyRow> {
  let actual: { sha256: string; bytes: number };
  try {
    actual = await contentHash(file);
  } catch (e) {
    return { name: entry.name, where, file, status: 'mismatch', expected: entry.sha256, error: (e as Error).message };
  }
  if (!entry.sha256) return { name: entry.name, where, file, status: 'unpinned', actual };
  const ok = actual.sha256 === entry.sha256 && (entry.bytes === undefined || actual.bytes === entry.bytes);
  return { name: entry.name, where, file, status: ok ? 'ok' : 'mismatch', expected: entry.sha256, actual };
}
