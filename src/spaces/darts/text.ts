/**
 * The DARTS genotype text form, as Python prints the `Genotype` namedtuple and as `genotypes.py` files write it:
 * `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), reduce=[...], reduce_concat=[2, 3, 4, 5])`.
 */
import { TorchnasError } from '../../core/errors';
import { DARTS_INPUTS_PER_NODE, DARTS_STEPS, DartsGenotype, DartsPair, checkDartsGenotype } from './genotype';

/** A genotype's text is ~400 characters; this leaves room for any formatting. */
const MAX_TEXT_CHARS = 16 * 1024;
/**
 * Items a list or range in the text may hold before parsing stops: a cell has 8 pairs and at most 4
 * concatenated states, so anything past this is refused as it is read, not allocated and checked after.
 */
const MAX_LIST_ITEMS = 4 * DARTS_STEPS * DARTS_INPUTS_PER_NODE;

type Token = { kind: 'name' | 'string' | 'int' | 'punct'; text: string; at: number };

function syntaxError(text: string, at: number, problem: string): never {
  const snippet = text.slice(Math.max(0, at - 15), at + 15);
  throw new TorchnasError(`invalid DARTS genotype text at character ${at} (near ${JSON.stringify(snippet)}): ${problem}`, 'INVALID_CODE');
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|([A-Za-z_][A-Za-z0-9_]*)|'([^'\\]*)'|"([^"\\]*)"|(-?\d+)|([()[\],=])/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (m === null) syntaxError(text, at, `unexpected character ${JSON.stringify(text[at])}`);
    if (m[1] !== undefined) tokens.push({ kind: 'name', text: m[1], at });
    else if (m[2] !== undefined || m[3] !== undefined) tokens.push({ kind: 'string', text: m[2] ?? m[3], at });
    else if (m[4] !== undefined) tokens.push({ kind: 'int', text: m[4], at });
    else if (m[5] !== undefined) tokens.push({ kind: 'punct', text: m[5], at });
    at = pattern.lastIndex;
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private fail(problem: string): never {
    syntaxError(this.text, this.peek()?.at ?? this.text.length, problem);
  }

  private describe(t: Token | undefined): string {
    return t === undefined ? 'the end of the text' : JSON.stringify(t.text);
  }

  expect(kind: Token['kind'], text?: string): Token {
    const t = this.peek();
    if (t === undefined || t.kind !== kind || (text !== undefined && t.text !== text)) {
      this.fail(`expected ${text !== undefined ? JSON.stringify(text) : `a ${kind}`}, found ${this.describe(t)}`);
    }
    this.pos++;
    return t;
  }

  private accept(text: string): boolean {
    const t = this.peek();
    if (t !== undefined && t.kind === 'punct' && t.text === text) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** `[item, item, ...]` with an optional trailing comma; `field` names the list in errors. */
  private list<T>(item: () => T, field: string): T[] {
    this.expect('punct', '[');
    const out: T[] = [];
    while (!this.accept(']')) {
      if (out.length === MAX_LIST_ITEMS) this.fail(`${field} has more than ${MAX_LIST_ITEMS} items; a DARTS cell has ${DARTS_STEPS * DARTS_INPUTS_PER_NODE} pairs and at most ${DARTS_STEPS} concatenated states`);
      out.push(item());
      if (!this.accept(',')) {
        this.expect('punct', ']');
        break;
      }
    }
    return out;
  }

  private int(): number {
    const t = this.expect('int');
    const value = Number(t.text);
    // Out-of-range states are reported by checkDartsGenotype; only numbers past exact integers stop here.
    if (!Number.isSafeInteger(value)) syntaxError(this.text, t.at, `integer ${t.text.slice(0, 20)}${t.text.length > 20 ? '…' : ''} is too large`);
    return value;
  }

  private pair(): DartsPair {
    this.expect('punct', '(');
    const op = this.expect('string').text;
    this.expect('punct', ',');
    const input = this.int();
    this.accept(',');
    this.expect('punct', ')');
    return [op, input] as unknown as DartsPair; // op names are checked by checkDartsGenotype
  }

  private concat(field: string): number[] {
    const t = this.peek();
    if (t?.kind === 'name' && t.text === 'range') {
      this.pos++;
      this.expect('punct', '(');
      const start = this.int();
      this.expect('punct', ',');
      const stop = this.int();
      this.expect('punct', ')');
      if (stop - start > MAX_LIST_ITEMS) {
        syntaxError(this.text, t.at, `${field}=range(${start}, ${stop}) holds ${stop - start} states; a DARTS cell has at most ${DARTS_STEPS} to concatenate (states 2..${DARTS_STEPS + 1})`);
      }
      return Array.from({ length: Math.max(0, stop - start) }, (_, k) => start + k);
    }
    if (t?.kind === 'punct' && t.text === '[') return this.list(() => this.int(), field);
    this.fail(`expected range(start, stop) or a list of states, found ${this.describe(t)}`);
  }

  genotype(): DartsGenotype {
    this.expect('name', 'Genotype');
    this.expect('punct', '(');
    const fields: Record<string, unknown> = {};
    const names = ['normal', 'normal_concat', 'reduce', 'reduce_concat'];
    while (!this.accept(')')) {
      const name = this.expect('name');
      if (!names.includes(name.text)) this.fail(`unknown field ${JSON.stringify(name.text)}; Genotype has ${names.join(', ')}`);
      if (name.text in fields) this.fail(`field ${name.text} is given twice`);
      this.expect('punct', '=');
      fields[name.text] = name.text.endsWith('_concat') ? this.concat(name.text) : this.list(() => this.pair(), name.text);
      if (!this.accept(',')) {
        this.expect('punct', ')');
        break;
      }
    }
    if (this.peek() !== undefined) this.fail(`unexpected ${this.describe(this.peek())} after the closing parenthesis`);
    const missing = names.filter((n) => !(n in fields));
    if (missing.length > 0) syntaxError(this.text, this.text.length, `missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    return {
      normal: fields.normal as DartsPair[],
      normalConcat: fields.normal_concat as number[],
      reduce: fields.reduce as DartsPair[],
      reduceConcat: fields.reduce_concat as number[],
    };
  }
}

/**
 * Parses the text form of a DARTS genotype. Fields are keyword arguments in any order; concat lists may be
 * written `range(2, 6)` or `[2, 3, 4, 5]`; quotes may be single or double. The result is validated with
 * checkDartsGenotype.
 * @throws TorchnasError INVALID_CODE with the character position for syntax errors, or the validation message.
 */
export function parseDartsGenotype(text: string): DartsGenotype {
  if (typeof text !== 'string') throw new TorchnasError(`invalid DARTS genotype text: expected a string, got ${typeof text}`, 'INVALID_CODE');
  if (text.length > MAX_TEXT_CHARS) {
    throw new TorchnasError(`invalid DARTS genotype text: ${text.length} characters, far longer than a genotype (at most ${MAX_TEXT_CHARS})`, 'INVALID_CODE');
  }
  const genotype = new Parser(text, tokenize(text)).genotype();
  checkDartsGenotype(genotype);
  return genotype;
}

/** Options of {@link formatDartsGenotype}. */
export interface DartsFormatOptions {
  /**
   * 'list' writes `[2, 3, 4, 5]` (Python's repr of a list concat, as in `TENAS_imagenet_110`); 'range' writes
   * `range(2, 6)` when the states are consecutive (the repr of a genotype from DARTS's `genotype()`), else a list.
   * Default 'list'.
   */
  concat?: 'list' | 'range';
}

function formatConcat(states: readonly number[], style: 'list' | 'range'): string {
  const consecutive = states.every((s, k) => k === 0 || s === states[k - 1] + 1);
  if (style === 'range' && states.length > 0 && consecutive) return `range(${states[0]}, ${states[states.length - 1] + 1})`;
  return `[${states.join(', ')}]`;
}

function formatPairs(pairs: readonly DartsPair[]): string {
  return `[${pairs.map(([op, input]) => `('${op}', ${input})`).join(', ')}]`;
}

/**
 * Writes a genotype exactly as Python's repr of the `Genotype` namedtuple does.
 * @throws TorchnasError INVALID_CODE when the genotype is invalid.
 */
export function formatDartsGenotype(genotype: DartsGenotype, options: DartsFormatOptions = {}): string {
  checkDartsGenotype(genotype);
  const style = options.concat ?? 'list';
  return (
    `Genotype(normal=${formatPairs(genotype.normal)}, normal_concat=${formatConcat(genotype.normalConcat, style)}, ` +
    `reduce=${formatPairs(genotype.reduce)}, reduce_concat=${formatConcat(genotype.reduceConcat, style)})`
  );
}
