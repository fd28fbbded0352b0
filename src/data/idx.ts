/**
 * IDX files (the MNIST/Fashion-MNIST format), optionally gzipped: a 4-byte magic (0x00 0x00 type ndim),
 * one big-endian uint32 per dimension, then row-major data. Only unsigned-byte data (type 0x08) is used here.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { TorchnasError } from '../core/errors';

const gunzip = promisify(zlib.gunzip);

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Decodes raw (already decompressed) IDX bytes; FILE_CORRUPT names what is wrong. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new TorchnasError(`${source}: not an IDX file (only ${bytes.length} bytes)`, 'FILE_CORRUPT');
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new TorchnasError(`${source}: bad IDX magic`, 'FILE_CORRUPT');
  if (bytes[2] !== 0x08) {
    throw new TorchnasError(`${source}: IDX data type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`, 'FILE_CORRUPT');
  }
  const ndim = bytes[3];
  const headerBytes = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < headerBytes) throw new TorchnasError(`${source}: truncated IDX header`, 'FILE_CORRUPT');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes !== count) {
    throw new TorchnasError(
      `${source}: IDX header says [${shape.join(', ')}] = ${count} values but ${bytes.length - headerBytes} bytes follow (truncated or corrupt)`,
      'FILE_CORRUPT',
    );
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Reads an IDX file; gzip is detected from its magic bytes, not the file name. */
export async function readIdxFile(file: string): Promise<IdxArray> {
  let raw: Buffer;
  try {
    raw = await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TorchnasError(`file not found: ${file}`, 'FILE_NOT_FOUND');
    throw e;
  }
  let bytes: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = await gunzip(raw);
    } catch (e) {
      throw new TorchnasError(`${file}: corrupt gzip stream (${(e as Error).message})`, 'FILE_CORRUPT');
    }
  }
  return parseIdx(bytes, file);
}
