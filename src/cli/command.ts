/**
 * The shape of a `torchnas` subcommand: each declares its flags (with help) once; parsing, `--help` and
 * typed flag values come from that declaration (node:util parseArgs, strict: an unknown flag is a usage error).
 */
import { isSecondaryRank } from '../distributed/launch';
import { parseArgs } from 'node:util';
import { TorchnasError } from '../core/errors';
import { progressBar, ProgressCallback } from '../core/progress';
import { ResultEnvelope, RunDescription, writeResultFile } from '../report/envelope';
import { RunEventLog, RunRecordCallback } from '../report/events';

export interface Command {
  name: string;
  summary: string;
  /** Full help text (usage line, flags). */
  help(): string;
  run(argv: string[]): Promise<number>;
}

/** One flag: its kind, a placeholder for its value, a line of help. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Placeholder in the help, e.g. 'N', 'DIR'. */
  value?: string;
  help: string;
}

export type Flags = Record<string, FlagSpec>;

/** The parsed values of a flag set, typed from its declaration. */
export type FlagValues<F extends Flags> = {
  [K in keyof F]: F[K]['type'] extends 'boolean' ? boolean : F[K]['multiple'] extends true ? string[] | undefined : string | undefined;
};

export interface LeafSpec<F extends Flags> {
  name: string;
  summary: string;
  /** The usage line after `torchnas <name>`, e.g. '--space nb201 --arch STR [options]'. */
  usage: string;
  flags: F;
  /** Lines printed after the flags (defaults, notes). */
  notes?: string[];
  /** Arguments besides the flags (e.g. `data path NAME`): how many are allowed; default none. */
  positionals?: { min: number; max: number };
  run(flags: FlagValues<F>, positionals: string[]): Promise<number>;
}

function flagHelp(flags: Flags): string[] {
  const rows = Object.entries(flags).map(([name, f]) => [`--${name}${f.type === 'string' ? ` ${f.value ?? 'X'}` : ''}${f.multiple ? ' …' : ''}`, f.help]);
  rows.push(['--help, -h', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** A command with flags; `path` is how it is called (e.g. 'tenas search'). */
export function defineCommand<F extends Flags>(spec: LeafSpec<F>, path = spec.name): Command {
  const help = () => [`usage: torchnas ${path} ${spec.usage}`, '', spec.summary, '', 'options:', ...flagHelp(spec.flags), ...(spec.notes ? ['', ...spec.notes] : [])].join('\n');
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async run(argv) {
      const options = Object.fromEntries(Object.entries(spec.flags).map(([k, f]) => [k, { type: f.type, multiple: Boolean(f.multiple) }]));
      let parsed: { values: Record<string, unknown>; positionals: string[] };
      try {
        parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: spec.positionals !== undefined });
      } catch (e) {
        // parseArgs's own errors (unknown flag, missing value) are the user's; anything else is ours
        if (!String((e as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw e;
        throw new TorchnasError(`${(e as Error).message}\nusage: torchnas ${path} ${spec.usage}`, 'INVALID_ARGUMENT');
      }
      if (parsed.values.help) {
        process.stdout.write(help() + '\n');
        return 0;
      }
      const { min, max } = spec.positionals ?? { min: 0, max: 0 };
      const count = parsed.positionals.length;
      if (count < min || count > max) {
        const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        throw new TorchnasError(`expected ${wanted} argument(s), got ${count}${count > 0 ? ` (${parsed.positionals.join(' ')})` : ''}\nusage: torchnas ${path} ${spec.usage}`, 'INVALID_ARGUMENT');
      }
      const values = Object.fromEntries(Object.entries(spec.flags).map(([k, f]) => [k, f.type === 'boolean' ? Boolean(parsed.values[k]) : parsed.values[k]]));
      return spec.run(values as FlagValues<F>, parsed.positionals);
    },
  };
}

/** A command made of subcommands (`torchnas tenas score|search|correlate`). */
export function defineGroup(spec: { name: string; summary: string; subcommands: ((path: string) => Command)[] }): Command & { subcommands: Command[] } {
  const subcommands = spec.subcommands.map((make) => make(spec.name));
  const help = () => {
    const width = Math.max(...subcommands.map((c) => c.name.length));
    return [
      `usage: torchnas ${spec.name} <${subcommands.map((c) => c.name).join('|')}> [options]`,
      '',
      spec.summary,
      '',
      'subcommands:',
      ...subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      `Run 'torchnas ${spec.name} <subcommand> --help' for its options.`,
    ].join('\n');
  };
  return {
    name: spec.name,
    summary: spec.summary,
    subcommands,
    help,
    async run(argv) {
      const [sub, ...rest] = argv;
      if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
        process.stdout.write(help() + '\n');
        return sub === undefined ? 2 : 0;
      }
      const command = subcommands.find((c) => c.name === sub);
      if (!command) throw new TorchnasError(`unknown ${spec.name} subcommand '${sub}'\n${help()}`, 'INVALID_ARGUMENT');
      return command.run(rest);
    },
  };
}

/** Parses an integer flag value, naming the flag on error. */
export function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new TorchnasError(`--${flag} expects an integer, got '${value}'`, 'INVALID_ARGUMENT');
  return n;
}

/** Parses a number flag value, naming the flag on error. */
export function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new TorchnasError(`--${flag} expects a number, got '${value}'`, 'INVALID_ARGUMENT');
  return n;
}

/** Checks a flag against its allowed values. */
export function choiceFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new TorchnasError(`--${flag} ${value}: expected ${choices.join(', ')}`, 'INVALID_ARGUMENT');
  return value as T;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** What the CLI hands a library call: Ctrl-C's signal, the progress bar, where the envelope goes, the run record. */
export interface MethodContext {
  signal: AbortSignal;
  /** The progress bar, and with a run record, also a `progress` line of events.jsonl per report. */
  onProgress: ProgressCallback;
  onEnvelope: (envelope: ResultEnvelope) => void;
  /** Passed on to `recordRun` (as part of the options it gets): writes events.jsonl's `start` line. */
  onStart: (description: RunDescription) => void;
  /** A method's structured event (e.g. a TE-NAS round) as a `record` line of events.jsonl. */
  onRecord: RunRecordCallback;
}

export interface RunMethodOptions {
  /** false: no progress bar (the progress events are still recorded). */
  progress?: boolean;
  /**
   * The run's output folder: events.jsonl is appended there as the run goes (see report/events.ts). Every long
   * command passes its `--out` folder; a method joins by spreading the context into the options it hands `recordRun`.
   */
  record?: string;
  /** Also write the envelope as `record`/result.json here (for commands whose method writes no result.json, e.g. `lut build`). */
  writeResult?: boolean;
  /** The method name of a `start` line written when the method itself reports no start (default: `label`). */
  method?: string;
}

/**
 * Runs a library call with an AbortSignal that SIGINT (Ctrl-C) aborts and a progress bar on stderr (none with
 * `--json` or `progress: false`); with `--json`, prints the call's result.json envelope on stdout however the
 * call ends; with `record`, writes the run's events.jsonl. A second SIGINT while the run winds down is left to
 * Node's default (exit).
 */
export async function runMethod<T>(label: string, json: boolean, work: (context: MethodContext) => Promise<T>, options: RunMethodOptions = {}): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const bar = progressBar(label, { quiet: json || options.progress === false });
  // under `torchnas launch`, only rank 0 keeps the run record (the ranks share the output folder)
  if (isSecondaryRank()) options = { ...options, record: undefined };
  const log = options.record === undefined ? undefined : RunEventLog.open(options.record);
  let started = false;
  const ensureStart = () => {
    if (!started) log?.start({ method: options.method ?? label, device: 'unknown', seed: null, config: null });
    started = true;
  };
  let envelope: ResultEnvelope | undefined;
  let failure: unknown;
  try {
    return await work({
      signal: controller.signal,
      onProgress: log
        ? (done, total, fields) => {
            ensureStart();
            log.progress(done, total, fields);
            bar.onProgress(done, total, fields);
          }
        : bar.onProgress,
      onEnvelope: (e) => (envelope = e),
      onStart: (description) => {
        if (!started) log?.start(description);
        started = true;
      },
      onRecord: (kind, data) => {
        ensureStart();
        log?.record(kind, data);
      },
    });
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    bar.finish();
    process.removeListener('SIGINT', onSigint);
    // a command that failed before its run began (a bad flag value found by the method) leaves no record
    if (log && (started || envelope)) {
      ensureStart();
      if (options.writeResult && envelope && options.record !== undefined) {
        try {
          await writeResultFile(options.record, envelope);
        } catch (e) {
          // the run's own outcome (result or error) stays what the command reports
          process.stderr.write(`warning: could not write ${options.record}/result.json: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
      log.end(envelope, failure);
    }
    log?.close();
    if (json && envelope) printJson(envelope);
  }
}
