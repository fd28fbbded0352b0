/** Reading benchmark files whole, with the error codes the loaders share. */
import * as fs from 'node:fs';
import { TorchnasError } from '../core/errors';

/**
 * Reads a whole file into memory.
 * @throws TorchnasError FILE_NOT_FOUND when the path does not exist, INVALID_ARGUMENT when it is a folder.
 */
export async function readBenchmarkBytes(file: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TorchnasError(`file not found: ${file}`, 'FILE_NOT_FOUND', { cause: e });
    if (code === 'EISDIR') throw new TorchnasError(`${file} is a folder, expected a file`, 'INVALID_ARGUMENT', { cause: e });
    throw e;
  }
}
