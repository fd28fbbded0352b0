/**
 * Field checks shared by the readers of NAR's cell-information files (nar.md §1): each names the file, the record
 * and the field (with the position inside it) that is missing or of the wrong type, as FILE_CORRUPT.
 */
import { TorchnasError, showValue } from '../core/errors';

/** Says where a problem is: `<file>: record <which>: <what>`. */
export class RecordChecker {
  constructor(
    readonly file: string,
    readonly which: string,
  ) {}

  fail(what: string): never {
    throw new TorchnasError(`${this.file}: record ${this.which}: ${what}`, 'FILE_CORRUPT');
  }

  /** The record as an object. */
  object(value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`expected an object, got ${showValue(value)}`);
    return value as Record<string, unknown>;
  }

  /** A field that must be present (null counts as present only where the caller allows it). */
  field(record: Record<string, unknown>, name: string): unknown {
    if (!Object.prototype.hasOwnProperty.call(record, name)) this.fail(`field '${name}' is missing`);
    return record[name];
  }

  integer(value: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}..${max}`;
      this.fail(`field ${name} is ${showValue(value)}, expected ${range}`);
    }
    return value;
  }

  number(value: unknown, name: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(`field ${name} is ${showValue(value)}, expected a finite number`);
    return value;
  }

  numberOrNull(value: unknown, name: string): number | null {
    return value === null ? null : this.number(value, name);
  }

  string(value: unknown, name: string): string {
    if (typeof value !== 'string') this.fail(`field ${name} is ${showValue(value)}, expected a string`);
    return value;
  }

  list(value: unknown, name: string, length?: number): unknown[] {
    if (!Array.isArray(value)) this.fail(`field ${name} is ${showValue(value)}, expected a list`);
    if (length !== undefined && value.length !== length) this.fail(`field ${name} has ${value.length} entries, expected ${length}`);
    return value;
  }

  /** A list of `length` integers in min..max. */
  integers(value: unknown, name: string, length: number, min = 0, max = Number.MAX_SAFE_INTEGER): number[] {
    return this.list(value, name, length).map((v, i) => this.integer(v, `${name}[${i}]`, min, max));
  }

  /** An object with exactly the keys `keys` (in any order), each checked by `each`; returned in `keys` order. */
  keyed<T>(value: unknown, name: string, keys: readonly string[], each: (v: unknown, name: string) => T): Record<string, T> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`field ${name} is ${showValue(value)}, expected an object`);
    const object = value as Record<string, unknown>;
    const extra = Object.keys(object).filter((k) => !keys.includes(k));
    if (extra.length > 0) this.fail(`field ${name} has unexpected key '${extra[0]}'; expected ${keys.join(', ')}`);
    const out: Record<string, T> = {};
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(object, key)) this.fail(`field ${name} lacks key '${key}'`);
      out[key] = each(object[key], `${name}['${key}']`);
    }
    return out;
  }
}

/** `'name'` as a field is written in messages. */
export const quoted = (name: string): string => `'${name}'`;
