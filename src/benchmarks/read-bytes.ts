/** Reading benchmark files whole, with the error codes the loaders share. */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { TorchnasError } from '../core/errors';

const gunzip = promisify(zlib.gunzip);

/** A decompressed table larger than this is refused (the largest known one is 3 MB). */
const MAX_GUNZIPPED_BYTES = 1 << 30;

/** Whether `bytes` start with gzip's magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses gzip data, naming `file` on failure.
 * @throws TorchnasError FILE_CORRUPT for a truncated or damaged stream.
 */
export async function gunzipBytes(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    return await gunzip(bytes, { maxOutputLength: MAX_GUNZIPPED_BYTES });
  } catch (e) {
    throw new TorchnasError(`${file}: corrupt gzip data (${(e as Error).message})`, 'FILE_CORRUPT', { cause: e });
  }
}

/**
 * Reads a whole file into memory; a gzipped file (told by its first two bytes, not its name, so `.pkl.gz`,
 * `.json.gz` and `.txt.gz` all work) is decompressed.
 * @throws TorchnasError FILE_NOT_FOUND when the path does not exist, INVALID_ARGUMENT when it is a folder
 *   or anything else that is not a regular file (a FIFO or device would block the read forever),
 *   FILE_CORRUPT for damaged gzip data.
 */
export async function readBenchmarkBytes(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const stat = await fs.promises.stat(file);
    if (stat.isDirectory()) throw new TorchnasError(`${file} is a folder, expected a file`, 'INVALID_ARGUMENT');
    if (!stat.isFile()) throw new TorchnasError(`${file} is not a regular file`, 'INVALID_ARGUMENT');
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    if (e instanceof TorchnasError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TorchnasError(`file not found: ${file}`, 'FILE_NOT_FOUND', { cause: e });
    if (code === 'EISDIR') throw new TorchnasError(`${file} is a folder, expected a file`, 'INVALID_ARGUMENT', { cause: e });
    throw e;
  }
  return isGzip(bytes) ? gunzipBytes(bytes, file) : bytes;
}
