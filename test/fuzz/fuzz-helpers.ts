/**
 * The fuzzer's tools: seeded case generators, string/byte/value mutators, a bounded element counter and
 * an outcome tally. Every case gets its own Random seeded from (family, base seed, case index), so a
 * failure reproduces from the three numbers printed with it.
 */
import { Random } from '../../src/core/random';
import { TorchnasError } from '../../src/core/errors';

/** Total inputs over all families (default small for CI; `npm run fuzz` sets ≥ 100000). */
export const FUZZ_COUNT = Math.max(1, Number(process.env.TORCHNAS_FUZZ_COUNT ?? 5000));
/** Base seed; set TORCHNAS_FUZZ_SEED to reproduce a reported failure. */
export const FUZZ_SEED = Number(process.env.TORCHNAS_FUZZ_SEED ?? 20261202);

/** A per-case generator: the same (family, seed, index) always gives the same stream. */
export function caseRandom(family: string, seed: number, index: number): Random {
  let h = 2166136261;
  for (const c of family) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return new Random((h ^ Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

/** A readable, never-throwing rendering of an input for failure reports (BigInts, symbols, bytes, cycles). */
export function render(value: unknown, max = 2000): string {
  if (value instanceof Uint8Array) return `bytes(${value.length}) ${Buffer.from(value.subarray(0, max / 2)).toString('hex')}`;
  const seen = new WeakSet<object>();
  let text: string;
  try {
    text = JSON.stringify(value, (_, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'symbol') return v.toString();
      if (v === undefined) return '<undefined>';
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '<cycle>';
        seen.add(v);
        if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${Array.from(v as unknown as ArrayLike<unknown>).join(',')})`;
      }
      return v;
    }) ?? String(value);
  } catch (e) {
    text = `<unrenderable: ${(e as Error).message}>`;
  }
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/** Elements reachable from `value` (array entries, object keys, typed-array items), each container once; stops past `limit`. */
export function countElements(value: unknown, limit: number): number {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  let count = 0;
  while (stack.length > 0 && count <= limit) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x)) {
      count += (x as unknown as { length?: number }).length ?? x.byteLength;
      continue;
    }
    const children = Array.isArray(x) ? x : Object.values(x);
    count += children.length;
    for (const c of children) stack.push(c);
  }
  return count;
}

/** 0–4 random edits of `text`, drawing inserted pieces from `dictionary` (the family's tokens) or random characters. */
export function mutateString(random: Random, text: string, dictionary: readonly string[]): string {
  // One case in ten is left whole, so the result checks and round trips run on valid input too.
  if (random.next() < 0.1) return text;
  let s = text;
  const edits = random.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = random.int(0, s.length);
    const piece = (): string => {
      switch (random.int(0, 5)) {
        case 0:
          return String.fromCharCode(random.int(0, 127));
        case 1:
          return String.fromCodePoint(random.int(0, 0x10ffff) & ~0x800); // avoid lone surrogates most of the time
        default:
          return random.pick(dictionary);
      }
    };
    switch (random.int(0, 7)) {
      case 0: // insert
        s = s.slice(0, at) + piece() + s.slice(at);
        break;
      case 1: // delete a range
        s = s.slice(0, at) + s.slice(Math.min(s.length, at + random.int(1, 8)));
        break;
      case 2: // replace one character
        s = s.slice(0, at) + piece() + s.slice(at + 1);
        break;
      case 3: {
        // duplicate a range
        const end = Math.min(s.length, at + random.int(1, 20));
        s = s.slice(0, end) + s.slice(at, end) + s.slice(end);
        break;
      }
      case 4: // truncate
        s = s.slice(0, at);
        break;
      case 5: {
        // repeat a dictionary token many times (bounds: depth, lengths, counts)
        const token = random.pick(dictionary);
        s = s.slice(0, at) + token.repeat(random.pick([2, 10, 100, 1000, 20000])) + s.slice(at);
        break;
      }
      case 6: {
        // swap two ranges
        const a = random.int(0, s.length);
        const b = random.int(0, s.length);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const len = random.int(0, Math.min(10, s.length - hi));
        s = s.slice(0, lo) + s.slice(hi, hi + len) + s.slice(lo + len, hi) + s.slice(lo, lo + len) + s.slice(hi + len);
        break;
      }
      default: // replace a digit run with an extreme number
        s = s.replace(/\d+/, random.pick(['0', '-1', '9'.repeat(random.int(1, 400)), '4294967296', '1e308', '007']));
    }
  }
  return s;
}

/** Values that break careless code: BigInts, symbols, NaN, holes, huge lengths, wrong types, cycles. */
export function weirdValue(random: Random): unknown {
  switch (random.int(0, 22)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return NaN;
    case 3: return Infinity;
    case 4: return -1;
    case 5: return 1.5;
    case 6: return 2 ** 53;
    case 7: return BigInt(random.int(0, 200));
    case 8: return String(random.int(0, 200));
    case 9: return '';
    case 10: return Symbol('fuzz');
    case 11: return {};
    case 12: return [];
    case 13: return [[]];
    case 14: return random.next() < 0.5;
    case 15: return new Float32Array(random.int(0, 4));
    case 16: return Object.create(null);
    case 17: {
      const sparse: unknown[] = [];
      sparse.length = random.int(1, 40);
      return sparse;
    }
    case 18: {
      const cyclic: unknown[] = [1];
      cyclic.push(cyclic);
      return cyclic;
    }
    case 19: return { length: random.pick([0, 6, 27, 31, 2 ** 32 - 1]) };
    case 20: return -0;
    case 21: return random.int(-1000, 1000);
    default: return new BigInt64Array(random.int(0, 3));
  }
}

/** Replaces, deletes or wraps 1–3 random places inside a (fresh, mutable) structure; returns the possibly replaced root. */
export function mutateValue(random: Random, root: unknown): unknown {
  let value = root;
  const edits = random.int(1, 3);
  for (let e = 0; e < edits; e++) {
    // Pick a random container on a random path from the root.
    let parent: Record<string | number, unknown> | undefined;
    let key: string | number | undefined;
    let node: unknown = value;
    for (let depth = 0; depth < 6 && typeof node === 'object' && node !== null && !ArrayBuffer.isView(node) && random.next() < 0.75; depth++) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      parent = node as Record<string, unknown>;
      key = random.pick(keys);
      node = parent[key];
    }
    const replacement = (): unknown => {
      switch (random.int(0, 4)) {
        case 0: return weirdValue(random);
        case 1: return [node];
        case 2: return Array.isArray(node) ? [...node, ...node] : node;
        case 3: return Array.isArray(node) ? node.slice(0, random.int(0, node.length)) : weirdValue(random);
        default: return typeof node === 'number' ? random.pick([node + 1, node * 8, -node, node + 0.5, 0]) : weirdValue(random);
      }
    };
    if (parent === undefined || key === undefined) value = replacement();
    else if (random.next() < 0.2) delete parent[key];
    else parent[key] = replacement();
  }
  return value;
}

/** 1–4 byte-level edits: flips, interesting bytes, inserted/deleted/duplicated ranges, huge length fields, truncation. */
export function mutateBytes(random: Random, bytes: Uint8Array, opcodes: readonly number[]): Uint8Array {
  let b = Array.from(bytes);
  const edits = random.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = random.int(0, Math.max(0, b.length - 1));
    switch (random.int(0, 7)) {
      case 0:
        b[at] ^= 1 << random.int(0, 7);
        break;
      case 1:
        b[at] = random.pick(opcodes);
        break;
      case 2:
        b.splice(at, 0, ...Array.from({ length: random.int(1, 8) }, () => random.int(0, 255)));
        break;
      case 3:
        b.splice(at, random.int(1, 16));
        break;
      case 4: {
        const end = Math.min(b.length, at + random.int(1, 64));
        b.splice(end, 0, ...b.slice(at, end));
        break;
      }
      case 5: {
        // a length field: 4 little-endian bytes of an extreme size
        const n = random.pick([0xffffffff, 0x7fffffff, 0x10000, b.length, b.length + 1]);
        b.splice(at, 4, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
        break;
      }
      case 6:
        b = b.slice(0, at);
        break;
      default:
        b.splice(at, 0, random.pick(opcodes), random.int(0, 255));
    }
  }
  return Uint8Array.from(b);
}

/** Outcomes of one family: results, TorchnasErrors by code, and the failures (anything else). */
export class Tally {
  readonly ok = { count: 0 };
  readonly codes = new Map<string, number>();
  /** The first few failures, each with its seed and input. */
  readonly failures: string[] = [];
  failureCount = 0;
  inputs = 0;

  constructor(readonly family: string) {}

  /**
   * Runs one case. `check` validates a result (throwing a plain Error when it is wrong); a TorchnasError
   * is an accepted outcome; any other error, or a failed check, is recorded with the seed and the input.
   */
  run(index: number, input: unknown, fn: () => unknown, check: (result: unknown) => void = () => {}): void {
    this.inputs++;
    let result: unknown;
    try {
      result = fn();
    } catch (e) {
      if (e instanceof TorchnasError) {
        this.codes.set(e.code, (this.codes.get(e.code) ?? 0) + 1);
        return;
      }
      this.fail(index, input, `threw ${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    try {
      check(result);
      this.ok.count++;
    } catch (e) {
      this.fail(index, input, `result check failed: ${(e as Error).message}`);
    }
  }

  private fail(index: number, input: unknown, what: string): void {
    this.failureCount++;
    if (this.failures.length < 10) {
      this.failures.push(`${this.family} case ${index} (TORCHNAS_FUZZ_SEED=${FUZZ_SEED}): ${what}\n  input: ${render(input)}`);
    }
  }

  summary(): string {
    const codes = [...this.codes.entries()].sort().map(([c, n]) => `${c} ${n}`).join(', ');
    return `${this.family}: ${this.inputs} inputs, ${this.ok.count} results, errors {${codes}}, ${this.failureCount} failures`;
  }
}

/** Throws a plain Error (a check failure) unless `condition`. */
export function ensure(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
