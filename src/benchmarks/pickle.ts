/**
 * A small Python pickle reader for the benchmark tables: the protocol-3 opcodes of the NAS-Bench-MR
 * pickles (ncp.md §1.1) and the protocol-4 opcodes plus numpy arrays of NCP's NAS-Bench-201 copy
 * (§1.2), plus four siblings the same picklers emit for bigger values of the same shape: BININT2
 * (ints ≥ 256), LONG_BINGET (memo keys ≥ 256), TUPLE2 (2-D numpy shapes) and BINBYTES (arrays over
 * 255 bytes). It is a reader of data, not a Python: any other opcode or global is refused with
 * FILE_CORRUPT, so a pickle can never run code here.
 *
 * Python → JS: dict (str keys) → plain object, list → array, tuple → frozen array, str → string,
 * int/float → number, bool → boolean, None → null, bytes → Uint8Array, numpy rank-1 array →
 * typed array (Float32Array for f4), other ranks → {@link NdArray}.
 */
import { TorchnasError } from '../core/errors';
import { buildNumpy, lookupGlobal, NumpyDType, NumpyGlobal, PendingArray, reduceNumpy } from './pickle-numpy';
import { ownRealm, runInWorker } from '../core/worker-pool';
import { readBenchmarkBytes } from './read-bytes';

export type { NdArray, NumericArray } from './pickle-numpy';

/** Opcode names for error messages, including the ones this reader refuses. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1',
  0x8b: 'LONG4', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE',
  0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

function describe(op: number): string {
  const name = OPCODE_NAMES[op];
  return name === undefined ? `unknown opcode 0x${op.toString(16).padStart(2, '0')}` : `opcode ${name}`;
}

function corrupt(message: string): TorchnasError {
  return new TorchnasError(`corrupt pickle: ${message}`, 'FILE_CORRUPT');
}

// Tuples are frozen arrays, so a list opcode can tell a list from a tuple.
const isList = (x: unknown): x is unknown[] => Array.isArray(x) && !Object.isFrozen(x);

/**
 * Parses one pickle held in memory.
 * @throws TorchnasError FILE_CORRUPT naming the opcode and byte offset for an unsupported opcode or
 *   global, truncated input, malformed structure, or bytes after STOP.
 */
export function parsePickle(buf: Uint8Array): unknown {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const dicts = new WeakSet<object>();
  let pos = 0;
  let opStart = 0;
  let op = 0;
  const here = (): string => `${OPCODE_NAMES[op] ?? 'opcode'} at offset ${opStart}`;

  const need = (n: number): number => {
    if (pos + n > buf.length) {
      throw corrupt(`truncated: ${here()} needs ${n} more bytes, only ${buf.length - pos} left`);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => buf[need(1)];
  const u32 = (): number => view.getUint32(need(4), true);
  const text = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(buf.subarray(at, at + n));
    } catch {
      throw corrupt(`${here()}: string is not valid UTF-8`);
    }
  };
  const bytes = (n: number): Uint8Array => {
    const at = need(n);
    return new Uint8Array(buf.subarray(at, at + n)); // a copy that owns its buffer
  };
  // Like Python's metastack: values below the innermost MARK are out of reach until it is popped.
  const checkDepth = (): void => {
    if (stack.length === 0 || (marks.length > 0 && stack.length === marks[marks.length - 1])) {
      throw corrupt(`${here()}: stack underflow`);
    }
  };
  const pop = (): unknown => {
    checkDepth();
    return stack.pop();
  };
  const top = (): unknown => {
    checkDepth();
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw corrupt(`${here()}: no MARK before it`);
    return stack.splice(m);
  };
  // A numpy array stands in for itself once BUILD has filled it; before that it may only be REDUCE/BUILD input.
  const settle = (x: unknown, inTuple: boolean): unknown => {
    if (x instanceof PendingArray) {
      if (x.result === undefined) throw corrupt(`${here()}: numpy array used before its BUILD`);
      return x.result;
    }
    if (!inTuple && (x instanceof NumpyDType || x instanceof NumpyGlobal)) {
      throw corrupt(`${here()}: a numpy dtype or class cannot be stored as a value`);
    }
    return x;
  };
  const pushTuple = (items: unknown[]): void => {
    stack.push(Object.freeze(items.map((x) => settle(x, true))));
  };
  const appendTo = (items: unknown[]): void => {
    const list = top();
    if (!isList(list)) throw corrupt(`${here()}: target is not a list`);
    for (const x of items) list.push(settle(x, false));
  };
  const setItems = (items: unknown[]): void => {
    const dict = top();
    if (typeof dict !== 'object' || dict === null || !dicts.has(dict)) throw corrupt(`${here()}: target is not a dict`);
    if (items.length % 2 !== 0) throw corrupt(`${here()}: odd number of keys and values`);
    const target = dict as Record<string, unknown>;
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== 'string') throw corrupt(`${here()}: dict key of type ${typeof key} (only str keys are supported)`);
      // defineProperty, so a key named "__proto__" is data and not a prototype change
      Object.defineProperty(target, key, { value: settle(items[i + 1], false), enumerable: true, writable: true, configurable: true });
    }
  };
  const memoGet = (key: number): void => {
    if (!memo.has(key)) throw corrupt(`${here()}: memo entry ${key} was never stored`);
    const x = memo.get(key);
    stack.push(x instanceof PendingArray && x.result !== undefined ? x.result : x);
  };

  while (pos < buf.length) {
    opStart = pos;
    op = buf[pos++];
    switch (op) {
      case 0x80: { // PROTO: 2..5 share the opcodes below; 0/1 pickles and text opcodes are refused anyway
        const version = u8();
        if (opStart !== 0 || version < 2 || version > 5) throw corrupt(`${here()}: protocol ${version} not supported`);
        break;
      }
      case 0x95: { // FRAME: a buffering hint; only its bound is checked
        const at = need(8);
        const length = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
        if (pos + length > buf.length) throw corrupt(`truncated: ${here()} announces ${length} bytes, only ${buf.length - pos} left`);
        break;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: { // EMPTY_DICT
        const d = {};
        dicts.add(d);
        stack.push(d);
        break;
      }
      case 0x61: appendTo([pop()]); break; // APPEND
      case 0x65: appendTo(popMark()); break; // APPENDS
      case 0x75: setItems(popMark()); break; // SETITEMS
      case 0x74: pushTuple(popMark()); break; // TUPLE
      case 0x85: pushTuple([pop()]); break; // TUPLE1
      case 0x86: { // TUPLE2 (2-D numpy shapes)
        const b = pop();
        pushTuple([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        pushTuple([pop(), b, c]);
        break;
      }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT is big-endian
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x43: stack.push(bytes(u8())); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32())); break; // BINBYTES (arrays over 255 bytes)
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET (memo keys past 255)
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt(`${here()}: module and name are not strings`);
        const global = lookupGlobal(module, name);
        if (global === undefined) throw corrupt(`${here()}: unknown global ${module}.${name}`);
        stack.push(global);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof NumpyGlobal)) throw corrupt(`${here()}: callable is not a known global`);
        stack.push(reduceNumpy(callable, args, here()));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        buildNumpy(top(), state, here());
        break;
      }
      case 0x2e: { // STOP
        if (marks.length > 0) throw corrupt(`${here()}: unclosed MARK`);
        const result = settle(pop(), false);
        if (stack.length !== 0) throw corrupt(`${here()}: ${stack.length} values left on the stack`);
        if (pos !== buf.length) throw corrupt(`${buf.length - pos} bytes after STOP at offset ${opStart}`);
        return result;
      }
      default:
        throw corrupt(`${describe(op)} at offset ${opStart} is not supported by this reader`);
    }
  }
  throw corrupt(`truncated: input ended at offset ${buf.length} before STOP`);
}

/**
 * Reads and parses a pickle file. The parse runs on a worker thread (see core/worker-pool.ts), so the
 * caller's event loop keeps running; the result is the same as {@link parsePickle}'s, tuples frozen.
 * @throws TorchnasError FILE_NOT_FOUND when the file is missing, INVALID_ARGUMENT when it is not a
 *   regular file; FILE_CORRUPT as {@link parsePickle}, with the file name in the message.
 */
export async function readPickleFile(path: string): Promise<unknown> {
  const { value, tuples } = await runInWorker<PickleTaskResult>(__filename, 'readPickleFileTask', [path]);
  return restoreClone(value, tuples);
}

/** A parsed pickle and the visiting-order numbers of its tuples (structured cloning unfreezes arrays). */
export interface PickleTaskResult {
  value: unknown;
  tuples: number[];
}

/** Nesting that a structured clone passes between threads safely (and more than any real pickle has). */
const MAX_TRANSFER_DEPTH = 1000;

/** The worker half of {@link readPickleFile}; not part of the public API. */
export async function readPickleFileTask(path: string): Promise<PickleTaskResult> {
  const buf = await readBenchmarkBytes(path);
  let value: unknown;
  try {
    value = parsePickle(buf);
  } catch (e) {
    if (e instanceof TorchnasError) throw new TorchnasError(`${path}: ${e.message}`, e.code, { cause: e });
    throw e;
  }
  const tuples: number[] = [];
  const depth = visitArrays(value, (array, n) => {
    if (Object.isFrozen(array)) tuples.push(n);
  });
  // Structured cloning recurses once per level, on the caller's (smaller) stack too. Python's pickler
  // cannot write anything this deep (its recursion limit stops it first), so deeper input is corrupt.
  if (depth > MAX_TRANSFER_DEPTH) {
    throw new TorchnasError(`${path}: corrupt pickle: values nest ${depth} levels deep; at most ${MAX_TRANSFER_DEPTH} are read`, 'FILE_CORRUPT');
  }
  return { value, tuples };
}

/**
 * Undoes what structured cloning changed: freezes the arrays numbered `tuples` (ascending, in
 * {@link visitArrays} order) and gives typed arrays this realm's constructors (see ownRealm).
 */
function restoreClone(value: unknown, tuples: readonly number[]): unknown {
  if (ArrayBuffer.isView(value)) return ownRealm(value);
  // The walk costs about as much as the clone; skip it when there is nothing to restore (no tuples, and
  // the message was deserialised in this realm, which is always so outside test runners' vm realms).
  if (tuples.length === 0 && (typeof value !== 'object' || value === null || value instanceof Object)) return value;
  let next = 0;
  visitArrays(value, (array, n) => {
    if (n === tuples[next]) {
      Object.freeze(array);
      next++;
    }
  }, (container) => {
    for (const key of Object.keys(container)) {
      const child = (container as Record<string, unknown>)[key];
      if (ArrayBuffer.isView(child) && !(child instanceof Object)) (container as Record<string, unknown>)[key] = ownRealm(child);
    }
  });
  return value;
}

/**
 * Calls `visit` for every array reachable through arrays and plain objects, each once, numbered in
 * depth-first pre-order; a structured clone has the same graph, so it gets the same numbers. `before`
 * sees every container first (it may replace children that are not containers). Iterative: pickles may
 * nest deeper than the call stack. Returns the deepest nesting of containers seen (1 for a flat list).
 */
function visitArrays(root: unknown, visit: (array: unknown[], n: number) => void, before?: (container: object) => void): number {
  const seen = new Set<object>();
  const stack: [unknown, number][] = [[root, 1]];
  let n = 0;
  let maxDepth = 0;
  while (stack.length > 0) {
    const [x, depth] = stack.pop() as [unknown, number];
    if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x) || seen.has(x)) continue;
    seen.add(x);
    if (depth > maxDepth) maxDepth = depth;
    before?.(x);
    const children = Array.isArray(x) ? x : Object.values(x);
    if (Array.isArray(x)) visit(x, n++);
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], depth + 1]);
  }
  return maxDepth;
}
