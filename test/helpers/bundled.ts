/** The benchmark tables the package ships (data/, gzipped originals), as tests read them. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BUILTIN_TABLES, findTable, TableEntry } from '../../src/benchmarks/catalog';
import { readPickleFile } from '../../src/benchmarks/pickle';
import { bundledPath } from '../../src/benchmarks/table-names';

function bundledEntry(name: string): TableEntry {
  const entry = findTable(name, BUILTIN_TABLES);
  if (!entry?.bundled) throw new Error(`${name} is not a bundled table`);
  return entry;
}

/** The bundled file (data/<file>.gz) of a shipped table, e.g. bundledFile('seg'). */
export function bundledFile(name: string): string {
  const file = bundledPath(bundledEntry(name));
  if (!fs.existsSync(file)) throw new Error(`bundled table missing: ${file}`);
  return file;
}

/** The original (uncompressed) bytes of a shipped table. */
export function bundledBytes(name: string): Buffer {
  return zlib.gunzipSync(fs.readFileSync(bundledFile(name)));
}

/** Writes the original bytes of a shipped table to dir/<its original base name> (e.g. seg.pkl) and returns the path. */
export function writeOriginal(name: string, dir: string): string {
  const file = path.join(dir, path.basename(bundledEntry(name).file));
  fs.writeFileSync(file, bundledBytes(name));
  return file;
}

/** The records of a shipped pickle table as plain JSON values (numpy arrays become lists), as its JSON copy holds them. */
export async function bundledRecords(name: string): Promise<Record<string, unknown>[]> {
  const records = (await readPickleFile(bundledFile(name))) as Record<string, unknown>[];
  return JSON.parse(JSON.stringify(records, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))) as Record<string, unknown>[];
}

/** Writes the JSON copy of a shipped pickle table to dir/<stem>.json (e.g. seg.json, so the task is still told by the name). */
export async function writeJsonCopy(name: string, dir: string): Promise<string> {
  const file = path.join(dir, path.basename(bundledEntry(name).file).replace(/\.pkl$/, '.json'));
  fs.writeFileSync(file, JSON.stringify(await bundledRecords(name)));
  return file;
}
