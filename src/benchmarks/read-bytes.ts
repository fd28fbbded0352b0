/** Reading benchmark files whole, with the error codes the loaders share. */
import * as fs from 'node:fs';
import { TorchnasError } from '../core/errors';

/**
 * Reads a whole file into memory.
 * @throws TorchnasError FILE_NOT_FOUND when the path does not exist, INVALID_ARGUMENT when it is a folder
 *   or anything else that is not a regular file (a FIFO or device would block the read forever).
 */
export async function readBenchmarkBytes(file: string): Promise<Uint8Array> {
  try {
    const stat = await fs.promises.stat(file);
    if (stat.isDirectory()) throw new TorchnasError(`${file} is a folder, expected a file`, 'INVALID_ARGUMENT');
    if (!stat.isFile()) throw new TorchnasError(`${file} is not a regular file`, 'INVALID_ARGUMENT');
    return await fs.promises.readFile(file);
  } catch (e) {
    if (e instanceof TorchnasError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TorchnasError(`file not found: ${file}`, 'FILE_NOT_FOUND', { cause: e });
    if (code === 'EISDIR') throw new TorchnasError(`${file} is a folder, expected a file`, 'INVALID_ARGUMENT', { cause: e });
    throw e;
  }
}
