/**
 * Record-by-record reading of a large JSON file whose top level is a list or an object (NAR's NB101 cell
 * information is a 717 MB list, nar.md §1.1): a byte-level tokenizer finds where each top-level element starts
 * and ends, and only that element's text is decoded and parsed. The whole file is never one string; memory is
 * one read chunk plus the element being read.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { TorchnasError } from '../core/errors';

/** One top-level element: its list position or property name, and its parsed value. */
export interface JsonElement {
  /** Position in the list (0-based), or the property name for an object. */
  key: number | string;
  /** Position among the elements, 0-based (equals `key` for a list). */
  position: number;
  value: unknown;
}

export interface JsonStreamOptions {
  /** What the top level must be. */
  top: 'list' | 'object';
  /** Largest element accepted, in bytes (default 64 MiB): a guard against a file that is not record-shaped. */
  maxElementBytes?: number;
  /** Read chunk size in bytes (default 1 MiB). */
  chunkBytes?: number;
}

const enum State {
  BeforeTop,
  BeforeFirst, // after '[' or '{': an element or the closing bracket
  BeforeElement, // after ',': an element (a key for objects) must follow
  InKey,
  AfterKey,
  BeforeValue,
  InValue,
  AfterValue,
  Done,
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

const isSpace = (b: number): boolean => b === SPACE || b === LF || b === CR || b === TAB;

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

/** A readable stream of the file's bytes; `.gz` files are gunzipped on the fly. */
function openBytes(file: string, chunkBytes: number): NodeJS.ReadableStream {
  if (!fs.existsSync(file)) throw new TorchnasError(`file not found: ${file}`, 'FILE_NOT_FOUND');
  const raw = fs.createReadStream(file, { highWaterMark: chunkBytes });
  if (!file.endsWith('.gz')) return raw;
  const gunzip = zlib.createGunzip({ chunkSize: Math.min(chunkBytes, 1 << 20) });
  raw.on('error', (e) => gunzip.destroy(e));
  gunzip.on('close', () => raw.destroy()); // a reader that stops early closes the file too
  return raw.pipe(gunzip);
}

/** The chunks of `stream`; a read or gunzip failure becomes FILE_CORRUPT naming the file. */
async function* readErrorsAsCorrupt(stream: NodeJS.ReadableStream, file: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    if (e instanceof TorchnasError) throw e;
    const gzip = file.endsWith('.gz') && typeof (e as { errno?: unknown }).errno === 'number' && /^Z_/.test(String((e as { code?: unknown }).code));
    throw new TorchnasError(`${file}: ${gzip ? 'corrupt gzip data' : 'cannot read'}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
  }
}

/**
 * Yields the top-level elements of a JSON list or object file one by one, in file order.
 * @throws TorchnasError FILE_NOT_FOUND; FILE_CORRUPT naming the file, the element (position or key) and the byte
 * offset, for malformed JSON, a top level of the wrong kind, a truncated file, or data after the end.
 */
export async function* streamJsonElements(file: string, options: JsonStreamOptions): AsyncGenerator<JsonElement> {
  const isObject = options.top === 'object';
  const maxBytes = options.maxElementBytes ?? 64 * 1024 * 1024;
  const open = isObject ? OPEN_OBJECT : OPEN_LIST;
  const close = isObject ? CLOSE_OBJECT : CLOSE_LIST;
  const corrupt = (what: string, offset: number): never => {
    throw new TorchnasError(`${file}: ${what} (at byte ${offset})`, 'FILE_CORRUPT');
  };

  let state = State.BeforeTop as State; // widened: the loop body changes it
  let offset = 0; // file offset of the current chunk's first byte
  let position = 0; // index of the element being read
  let key: number | string = 0;
  // The text of the key or value being read, as slices of successive chunks.
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let elementStart = 0;
  const where = (): string => (isObject && typeof key === 'string' ? `record ${JSON.stringify(key)} (element ${position})` : `record ${position}`);

  const take = (chunk: Buffer, from: number, to: number): void => {
    if (to > from) {
      pieces.push(chunk.subarray(from, to));
      pieceBytes += to - from;
      if (pieceBytes > maxBytes) corrupt(`${where()} is larger than ${maxBytes} bytes; not a record-by-record JSON ${options.top}`, elementStart);
    }
  };
  const text = (): string => {
    const s = (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, pieceBytes)).toString('utf8');
    pieces = [];
    pieceBytes = 0;
    return s;
  };
  const parse = (source: string, what: string): unknown => {
    try {
      return JSON.parse(source);
    } catch (e) {
      return corrupt(`${what} is not valid JSON: ${(e as Error).message}`, elementStart);
    }
  };

  for await (const data of readErrorsAsCorrupt(openBytes(file, options.chunkBytes ?? 1 << 20), file)) {
    const chunk = data as Buffer;
    let start = 0; // start in this chunk of the key/value being read
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      switch (state) {
        case State.BeforeTop:
          if (isSpace(b)) break;
          if (b !== open) corrupt(`expected a JSON ${options.top} ('${String.fromCharCode(open)}'), found ${describeByte(b)}`, offset + i);
          state = State.BeforeFirst;
          break;
        case State.BeforeFirst:
        case State.BeforeElement:
          if (isSpace(b)) break;
          if (b === close && state === State.BeforeFirst) {
            state = State.Done;
            break;
          }
          if (isObject) {
            if (b !== QUOTE) corrupt(`expected the key (a string) of element ${position}, found ${describeByte(b)}`, offset + i);
            state = State.InKey;
            start = i;
            elementStart = offset + i;
            escaped = false;
            break;
          }
          state = State.BeforeValue;
          i--; // read this byte again as the start of the value
          break;
        case State.InKey:
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) {
            take(chunk, start, i + 1);
            key = parse(text(), `the key of record ${position}`) as string;
            state = State.AfterKey;
          }
          break;
        case State.AfterKey:
          if (isSpace(b)) break;
          if (b !== COLON) corrupt(`expected ':' after the key of ${where()}, found ${describeByte(b)}`, offset + i);
          state = State.BeforeValue;
          break;
        case State.BeforeValue:
          if (isSpace(b)) break;
          if (b === COMMA || b === close || b === CLOSE_LIST || b === CLOSE_OBJECT) corrupt(`${where()} has no value, found ${describeByte(b)}`, offset + i);
          if (!isObject) key = position;
          state = State.InValue;
          start = i;
          elementStart = offset + i;
          depth = 0;
          inString = false;
          escaped = false;
          i--; // the value's first byte is scanned by InValue
          break;
        case State.InValue: {
          let ended = false;
          if (inString) {
            if (escaped) escaped = false;
            else if (b === BACKSLASH) escaped = true;
            else if (b === QUOTE) {
              inString = false;
              ended = depth === 0;
            }
          } else if (b === QUOTE) {
            inString = true;
          } else if (b === OPEN_LIST || b === OPEN_OBJECT) {
            depth++;
          } else if (b === CLOSE_LIST || b === CLOSE_OBJECT) {
            if (depth === 0) {
              // a scalar ends at the top level's closing bracket
              take(chunk, start, i);
              yield { key, position, value: parse(text(), where()) };
              position++;
              state = State.AfterValue;
              i--;
              break;
            }
            depth--;
            ended = depth === 0;
          } else if (depth === 0 && (b === COMMA || isSpace(b))) {
            // the end of a scalar (number, true, false, null)
            take(chunk, start, i);
            yield { key, position, value: parse(text(), where()) };
            position++;
            state = State.AfterValue;
            i--;
            break;
          }
          if (ended) {
            take(chunk, start, i + 1);
            yield { key, position, value: parse(text(), where()) };
            position++;
            state = State.AfterValue;
          }
          break;
        }
        case State.AfterValue:
          if (isSpace(b)) break;
          if (b === COMMA) state = State.BeforeElement;
          else if (b === close) state = State.Done;
          else corrupt(`expected ',' or '${String.fromCharCode(close)}' after record ${position - 1}, found ${describeByte(b)}`, offset + i);
          break;
        case State.Done:
          if (!isSpace(b)) corrupt(`unexpected ${describeByte(b)} after the end of the top-level ${options.top}`, offset + i);
          break;
      }
    }
    if (state === State.InKey || state === State.InValue) take(chunk, start, n);
    offset += n;
  }
  if (state === State.Done) return;
  if (state === State.BeforeTop) corrupt(`empty file, expected a JSON ${options.top}`, offset);
  const inside = state === State.InKey || state === State.InValue || state === State.AfterKey || state === State.BeforeValue;
  corrupt(
    inside
      ? `the file ends inside ${where()} (truncated?)`
      : `the file ends after ${position} record(s) without the closing '${String.fromCharCode(close)}' (truncated?)`,
    offset,
  );
}
