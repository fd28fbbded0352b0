/** Benchmark tables come as a pickle or as its JSON copy (ncp.md §1), either possibly gzipped; this reads all four. */
import { TorchnasError } from '../core/errors';
import { parsePickle } from './pickle';
import { readBenchmarkBytes } from './read-bytes';

/**
 * Reads a table file and returns its decoded value. The format is told by the first bytes, not the
 * file name: gzip's 1f 8b (decompressed first), then 0x80 (pickle PROTO) or a JSON value.
 * @throws TorchnasError FILE_NOT_FOUND, or FILE_CORRUPT naming the file and what is wrong.
 */
export async function readTableFile(file: string): Promise<unknown> {
  const bytes = await readBenchmarkBytes(file);
  try {
    if (bytes.length > 0 && bytes[0] === 0x80) return parsePickle(bytes);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const head = text.trimStart()[0];
    if (head !== '[' && head !== '{') {
      throw new TorchnasError('neither a pickle (first byte 0x80) nor JSON', 'FILE_CORRUPT');
    }
    return JSON.parse(text) as unknown;
  } catch (e) {
    if (e instanceof TorchnasError) throw new TorchnasError(`${file}: ${e.message}`, e.code, { cause: e });
    throw new TorchnasError(`${file}: corrupt JSON (${(e as Error).message})`, 'FILE_CORRUPT', { cause: e });
  }
}
