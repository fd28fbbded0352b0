/** Atomic file writes: results and checkpoints are written to a temp file and renamed into place. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from './errors';

let counter = 0;

/** Writes `data` to `file` so readers see either the old or the whole new content, never a part. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new TorchnasError(`cannot write ${file}: folder ${dir} does not exist`, 'FILE_NOT_FOUND');
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/** JSON with two-space indentation and a trailing newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
