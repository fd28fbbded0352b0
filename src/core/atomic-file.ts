/**
 * Atomic file writes: results and checkpoints are written to a temp file, synced, and renamed into place.
 * Temps are named `<name>.tmp-<pid>-<random>`, so a writer killed mid-write (kill -9, power loss) leaves a
 * temp whose pid says who wrote it; the next write into the folder removes the temps of writers that are
 * no longer alive (see {@link cleanStaleTemps}).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from './errors';

/** `<name>.tmp-<pid>-<random>`; the random part was a counter before, so any digits/hex are accepted. */
const TEMP_NAME = /^(.+)\.tmp-(\d+)-([0-9a-f]+)$/;

/** The temp name for `file` written by this process. */
function tempName(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Whether process `pid` exists: signal 0 checks without sending anything. EPERM means it exists but
 * belongs to someone else. (A pid from another PID namespace sharing the folder reads as whatever
 * process has that pid here; a live one keeps its temps, which errs on the safe side.)
 */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the `*.tmp-<pid>-*` files in `dir` whose writer process is no longer alive; temps of live
 * processes (this one included) are never touched. Call it when a run starts; every atomic write into a
 * folder calls it too.
 * @returns the names removed.
 */
export async function cleanStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (match === null) continue;
    const pid = Number(match[2]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    try {
      const stat = await fs.promises.lstat(path.join(dir, name));
      if (!stat.isFile()) continue;
      await fs.promises.rm(path.join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // Gone already (another cleaner) or not ours to remove: either way nothing to do.
    }
  }
  return removed;
}

/** fsync of a folder, so a rename in it survives a crash; not every platform can open a folder for it. */
async function syncFolder(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a folder (EISDIR/EPERM); its rename is as durable as it gets.
  } finally {
    await handle?.close();
  }
}

/**
 * Renames a finished temp file (already synced) onto `file` and syncs the folder, so the rename survives a
 * crash. Writers that stream into their own temp (e.g. a resumable download's `.partial`) end with this.
 */
export async function renameIntoPlace(tmp: string, file: string): Promise<void> {
  await fs.promises.rename(tmp, file);
  await syncFolder(path.dirname(path.resolve(file)));
}

/** Writes `data` to `file` so readers see either the old or the whole new content, never a part. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new TorchnasError(`cannot write ${file}: folder ${dir} does not exist`, 'FILE_NOT_FOUND');
  await cleanStaleTemps(dir);
  const tmp = tempName(file);
  try {
    const handle = await fs.promises.open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync(); // the data reaches the disk before the rename can
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await syncFolder(dir); // and the rename itself
}

/** JSON with two-space indentation and a trailing newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
