/** The shape of one `torchnas` subcommand and the shared argument helpers. */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { TorchnasError } from '../core/errors';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict parsing: unknown flags are usage errors naming the flag. */
export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(argv: string[], options: Options, usage: string): ParsedFlags {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true }) as ParsedFlags;
  } catch (e) {
    throw new TorchnasError(`${(e as Error).message}\nusage: ${usage}`, 'INVALID_ARGUMENT');
  }
}

/** Parses an integer flag value, naming the flag on error. */
export function intFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new TorchnasError(`--${flag} expects an integer, got '${value}'`, 'INVALID_ARGUMENT');
  return n;
}

export function numberFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TorchnasError(`--${flag} expects a number, got '${value}'`, 'INVALID_ARGUMENT');
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
