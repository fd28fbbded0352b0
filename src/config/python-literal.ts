/**
 * A safe reader of the Python literals the original code of some methods writes and `eval`s or
 * `ast.literal_eval`s (DenseNAS `net_config` pieces, `lat_list` files, YAML strings such as `(3,224,224)`):
 * numbers, quoted strings, True/False/None, lists and tuples. Nothing is ever evaluated; dicts, sets,
 * names and expressions are refused. Tuples come back as arrays (the original coerces tuple↔list).
 */
import { TorchnasError, TorchnasErrorCode } from '../core/errors';

export type PythonLiteral = number | string | boolean | null | PythonLiteral[];

export interface PythonLiteralOptions {
  /** Error code of a syntax error (default INVALID_ARGUMENT). */
  code?: TorchnasErrorCode;
  /** Names the text in messages, e.g. a file name. */
  source?: string;
  /** Deepest list/tuple nesting accepted (default 32): deeper text is refused, not recursed into. */
  maxDepth?: number;
  /** Longest text accepted, in characters (default 4 MiB). */
  maxChars?: number;
}

const NUMBER = /[+-]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?/y;
const SPACE = /\s*/y;

class LiteralParser {
  private at = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly options: Required<Pick<PythonLiteralOptions, 'maxDepth'>> & PythonLiteralOptions,
  ) {}

  fail(problem: string, at = this.at): never {
    const snippet = this.text.slice(Math.max(0, at - 20), at + 20);
    const source = this.options.source === undefined ? '' : `${this.options.source}: `;
    throw new TorchnasError(
      `${source}invalid Python literal at character ${at} (near ${JSON.stringify(snippet)}): ${problem}`,
      this.options.code ?? 'INVALID_ARGUMENT',
    );
  }

  private skipSpace(): void {
    SPACE.lastIndex = this.at;
    SPACE.exec(this.text);
    this.at = SPACE.lastIndex;
  }

  parseWhole(): PythonLiteral {
    const value = this.value();
    this.skipSpace();
    if (this.at < this.text.length) this.fail(`unexpected ${JSON.stringify(this.text[this.at])} after the value`);
    return value;
  }

  private value(): PythonLiteral {
    this.skipSpace();
    const c = this.text[this.at];
    if (c === undefined) this.fail('unexpected end of text');
    if (c === '[') return this.sequence('[', ']');
    if (c === '(') return this.sequence('(', ')');
    if (c === "'" || c === '"') return this.string(c);
    if (/[A-Za-z_]/.test(c)) return this.name();
    return this.number();
  }

  private sequence(open: string, close: string): PythonLiteral {
    if (++this.depth > this.options.maxDepth) this.fail(`nested deeper than ${this.options.maxDepth} levels`);
    const start = this.at;
    this.at++; // the opening bracket
    const items: PythonLiteral[] = [];
    let sawComma = false;
    for (;;) {
      this.skipSpace();
      if (this.at >= this.text.length) this.fail(`'${open}' opened at character ${start} is never closed`);
      if (this.text[this.at] === close) {
        this.at++;
        break;
      }
      if (items.length > 0) {
        if (this.text[this.at] !== ',') this.fail(`expected ',' or '${close}'`);
        this.at++;
        sawComma = true;
        this.skipSpace();
        if (this.text[this.at] === close) {
          this.at++;
          break;
        }
        if (this.at >= this.text.length) this.fail(`'${open}' opened at character ${start} is never closed`);
      }
      items.push(this.value());
    }
    // `(x)` is a parenthesised value in Python, not a tuple; `(x,)` and `()` are tuples.
    this.depth--;
    if (open === '(' && items.length === 1 && !sawComma) return items[0];
    return items;
  }

  private string(quote: string): string {
    const start = this.at;
    let out = '';
    this.at++;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined || c === '\n') this.fail('unterminated string', start);
      this.at++;
      if (c === quote) return out;
      if (c === '\\') {
        const e = this.text[this.at++];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (e === undefined || simple[e] === undefined) this.fail(`unsupported escape \\${e ?? ''}`, this.at - 2);
        out += simple[e];
      } else {
        out += c;
      }
    }
  }

  private name(): PythonLiteral {
    const m = /[A-Za-z_][A-Za-z0-9_]*/y;
    m.lastIndex = this.at;
    const word = m.exec(this.text)![0];
    const start = this.at;
    this.at += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    if (word === 'nan' || word === 'inf') this.fail(`'${word}' is not a Python literal (a non-finite number was written as text)`, start);
    return this.fail(`'${word}' is a name, not a literal`, start);
  }

  private number(): number {
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail(`unexpected ${JSON.stringify(this.text[this.at])}`);
    const raw = m[0];
    // Python accepts single underscores between digits only; '1__0', '_1', '1_' and '1_.0' are refused there too.
    if (/__|_$|_\.|\._|_[eE]|^[+-]?_/.test(raw)) this.fail(`malformed number ${raw}`);
    const start = this.at;
    this.at += raw.length;
    if (/[A-Za-z_.]/.test(this.text[this.at] ?? '')) this.fail(`malformed number ${raw}${this.text[this.at]}`, start);
    const digits = raw.replace(/_/g, '');
    // Python 3 refuses leading zeros on non-zero integers ('007'); a float such as '00.5' is fine.
    if (/^[+-]?0\d/.test(digits) && !/[.eE]/.test(digits) && /[1-9]/.test(digits)) this.fail(`malformed number ${raw} (leading zero)`, start);
    const value = Number(digits);
    if (!Number.isFinite(value)) this.fail(`number ${raw} is out of range`, start);
    return value;
  }
}

/**
 * Parses one Python literal (as `ast.literal_eval` would, restricted to numbers, strings, booleans,
 * None, lists and tuples).
 * @throws TorchnasError (`options.code`, default INVALID_ARGUMENT) naming the character position.
 */
export function parsePythonLiteral(text: string, options: PythonLiteralOptions = {}): PythonLiteral {
  if (typeof text !== 'string') throw new TorchnasError('Python literal text must be a string', options.code ?? 'INVALID_ARGUMENT');
  const maxChars = options.maxChars ?? 4 * 1024 * 1024;
  if (text.length > maxChars) {
    const source = options.source === undefined ? '' : `${options.source}: `;
    throw new TorchnasError(`${source}text of ${text.length} characters is longer than the ${maxChars} accepted`, options.code ?? 'INVALID_ARGUMENT');
  }
  return new LiteralParser(text, { ...options, maxDepth: options.maxDepth ?? 32 }).parseWhole();
}

/** The literal, or `undefined` when the text is not one (the original's YAML string decoding keeps such strings). */
export function tryParsePythonLiteral(text: string): PythonLiteral | undefined {
  try {
    return parsePythonLiteral(text, { maxChars: 64 * 1024 });
  } catch (e) {
    if (e instanceof TorchnasError) return undefined;
    throw e;
  }
}

/**
 * Python's `repr` of a literal: lists as `[a, b]`, strings single-quoted, floats always with a '.' or an
 * exponent (`2.0`, `1e-05`), ints plain. `floats` says which numbers are floats: integral numbers are
 * written as ints unless it is true.
 */
export function formatPythonLiteral(value: PythonLiteral, floats = false): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (typeof value === 'number') return floats ? pythonFloatRepr(value) : Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
  return `[${value.map((v) => formatPythonLiteral(v, floats)).join(', ')}]`;
}

/** `repr(float)`: the shortest round-tripping digits (as JS), with Python's exponent form and a '.0' on integral values. */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new TorchnasError(`cannot write the non-finite number ${x} as a Python literal`, 'INVALID_ARGUMENT');
  if (Object.is(x, -0)) return '-0.0';
  const abs = Math.abs(x);
  // Python switches to exponent notation below 1e-4 and at 1e16 and above; JS at 1e-7 and 1e21.
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa, exponent] = x.toExponential().split('e');
    const e = Number(exponent);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
