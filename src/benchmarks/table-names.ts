/**
 * One way to name a table (docs/architecture.md, "Shared pieces"): every flag and config field that takes a table accepts
 * a path or a name from the catalog (`nb201`, `nas-bench-mr/seg`, `seg-4x`, …). A name resolves to
 *   1. a path that exists (relative to the working directory, or to the config file for config fields);
 *   2. the table's file under `$TORCHNAS_HOME` (default `~/.cache/torchnas`), where `data fetch` puts it;
 *   3. the gzipped copy the package ships in its own `data/` folder (found from this module's location,
 *      never from the working directory).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';
import { PACKAGE_ROOT } from '../native';
import { CatalogOptions, findTable, KIND_NAMES, kindWithArticle, TableEntry, TableKind, tableCatalog } from './catalog';

/** The folder of downloaded and user-placed tables: `$TORCHNAS_HOME`, default `~/.cache/torchnas`. */
export function torchnasHome(): string {
  const home = process.env.TORCHNAS_HOME;
  return path.resolve(home !== undefined && home !== '' ? home : path.join(os.homedir(), '.cache', 'torchnas'));
}

/** The package's own `data/` folder (beside `dist/` in an install, beside `src/` in a clone). */
export const BUNDLED_DATA_DIR = path.join(PACKAGE_ROOT, 'data');

/** Where a bundled table lies: `data/<file>.gz`. */
export function bundledPath(entry: TableEntry): string {
  return path.join(BUNDLED_DATA_DIR, `${entry.file}.gz`);
}

/**
 * The files under `home` that hold `entry`, in the order they are tried: the original file, gzipped, and a
 * JSON copy (plain or gzipped) for pickled tables.
 */
export function homeCandidates(entry: TableEntry, home = torchnasHome()): string[] {
  const file = path.join(home, entry.file);
  const variants = [file, `${file}.gz`];
  if (file.endsWith('.pkl')) {
    const json = file.slice(0, -'.pkl'.length) + '.json';
    variants.push(json, `${json}.gz`);
  }
  return variants;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Where a known table is available now, if anywhere. */
export interface TableLocation {
  entry: TableEntry;
  /** The file to read. */
  file: string;
  where: 'home' | 'bundled';
}

/** The file a catalog entry resolves to ($TORCHNAS_HOME first, then the bundled copy), or undefined. */
export function locateTable(entry: TableEntry, home = torchnasHome()): TableLocation | undefined {
  const cached = homeCandidates(entry, home).find(isFile);
  if (cached) return { entry, file: cached, where: 'home' };
  const bundled = bundledPath(entry);
  if (entry.bundled && isFile(bundled)) return { entry, file: bundled, where: 'bundled' };
  return undefined;
}

export interface ResolveTableOptions extends CatalogOptions {
  /** The kinds of table the caller reads; a name of another kind is refused. */
  kind?: TableKind | readonly TableKind[];
  /** Folder a relative path is taken from (default the working directory; a config's folder for its fields). */
  baseDir?: string;
}

/** Text that can only be a path, never a name: it has a folder part other than `<group>/`, or a file extension. */
function looksLikePath(spec: string): boolean {
  return path.isAbsolute(spec) || spec.startsWith('.') || /\.(pkl|json|gz|txt)$/i.test(spec) || spec.split(/[\\/]/).length > 2;
}

/** Every name and alias of the catalog, for messages. */
function knownNames(tables: readonly TableEntry[], kinds?: readonly TableKind[]): string {
  return tables
    .filter((t) => kinds === undefined || kinds.includes(t.kind))
    .map((t) => (t.aliases.length > 0 ? `${t.name} (${t.aliases.join(', ')})` : t.name))
    .join(', ');
}

/**
 * Resolves a table given as a path or a name to the file to read (see the module comment for the order).
 * @throws TorchnasError FILE_NOT_FOUND naming what was tried and how to get the table (`torchnas data fetch`
 *   for a fetchable one); INVALID_ARGUMENT for a name of another kind than `options.kind`.
 */
export function resolveTablePath(spec: string, options: ResolveTableOptions = {}): string {
  if (typeof spec !== 'string' || spec.trim() === '') throw new TorchnasError('a table must be a path or a name (see torchnas data list)', 'INVALID_ARGUMENT');
  const asPath = path.resolve(options.baseDir ?? process.cwd(), spec);
  const tables = tableCatalog(options);
  const entry = looksLikePath(spec) ? undefined : findTable(spec, tables);
  // A path that exists wins; a folder of the same name as a table (e.g. ./seg) does not hide the table.
  if (fs.existsSync(asPath) && (entry === undefined || isFile(asPath))) return asPath;
  const kinds = options.kind === undefined ? undefined : ([] as TableKind[]).concat(options.kind);
  if (entry === undefined) {
    if (looksLikePath(spec)) throw new TorchnasError(`file not found: ${asPath}`, 'FILE_NOT_FOUND');
    // A `<group>/<table>` name the catalog does not know may still name a file placed in $TORCHNAS_HOME.
    if (/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/i.test(spec)) {
      const home = torchnasHome();
      const placed = ['.pkl', '.pkl.gz', '.json', '.json.gz', '.txt', '.txt.gz'].map((ext) => path.join(home, `${spec}${ext}`)).find(isFile);
      if (placed) return placed;
    }
    throw new TorchnasError(
      `'${spec}' is neither a file nor a known table name; known ${kinds ? kinds.map((k) => `${KIND_NAMES[k]}s`).join(' and ') : 'tables'}: ${knownNames(tables, kinds)} (torchnas data list shows them all)`,
      'FILE_NOT_FOUND',
    );
  }
  if (kinds !== undefined && !kinds.includes(entry.kind)) {
    throw new TorchnasError(`table '${spec}' (${entry.name}) is ${kindWithArticle(entry.kind)}, expected ${kinds.map(kindWithArticle).join(' or ')}`, 'INVALID_ARGUMENT');
  }
  const home = torchnasHome();
  const found = locateTable(entry, home);
  if (found) return found.file;
  const target = path.join(home, entry.file);
  const how =
    entry.remote && entry.sha256
      ? `download it with 'torchnas data fetch ${entry.name}' (${(entry.bytes ?? 0).toLocaleString('en-US')} bytes into ${target})`
      : `place your copy at ${target}`;
  const bundledNote = entry.bundled ? ` (the package's bundled copy ${bundledPath(entry)} is missing too)` : '';
  throw new TorchnasError(`table '${entry.name}' is not available${bundledNote}: ${how}, or pass a path`, 'FILE_NOT_FOUND');
}
