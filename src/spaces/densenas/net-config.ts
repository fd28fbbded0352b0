/**
 * DenseNAS `net_config` (densenas.md §4.4): the derived architecture as entries
 * `[[C_in, C_out], head_op, [stack_op, …], n_stack, stride]` (+ MBV2's final `[[C, last_dim], 'conv1_1']`).
 * Legacy text: the Python repr of each entry joined by `|` (logs: `|` + newline), in files followed by a line
 * `net_type: mbv2`; read with a literal parser, never evaluated. torchnas also writes a JSON form.
 */
import { PythonLiteral, formatPythonLiteral, parsePythonLiteral } from '../../config/python-literal';
import { writeFileAtomic } from '../../core/atomic-file';
import { TorchnasError, showValue } from '../../core/errors';
import { readBenchmarkBytes } from '../../benchmarks/read-bytes';
import { parseDenseOp } from './ops';

export type NetConfigEntry =
  | { kind: 'block'; inChannels: number; outChannels: number; headOp: string; stackOps: string[]; stride: number }
  | { kind: 'conv1_1'; inChannels: number; outChannels: number };

export interface NetConfig {
  netType: 'mbv2' | 'res';
  entries: NetConfigEntry[];
}

/** A net_config text is a few hundred characters; this bounds what is parsed. */
const MAX_TEXT_CHARS = 256 * 1024;

const invalid = (message: string): never => {
  throw new TorchnasError(message, 'INVALID_CODE');
};

/**
 * Checks a net_config describes a buildable derived net: known ops, strides 1 or 2, each entry's input
 * width equal to the previous entry's output, conv1_1 exactly as MBV2's last entry (and never in ResNet).
 * @throws TorchnasError INVALID_CODE naming the entry and what is wrong.
 */
export function validateNetConfig(config: NetConfig): void {
  if (typeof config !== 'object' || config === null) invalid('net_config must be an object { netType, entries }');
  if (config.netType !== 'mbv2' && config.netType !== 'res') invalid(`net_config: netType must be 'mbv2' or 'res', got ${showValue(config.netType)}`);
  if (!Array.isArray(config.entries) || config.entries.length === 0) invalid('net_config: expected at least one entry');
  const entries = config.entries;
  entries.forEach((e, k) => {
    const where = `net_config entry ${k}`;
    if (typeof e !== 'object' || e === null) invalid(`${where}: expected an object`);
    for (const key of ['inChannels', 'outChannels'] as const) {
      if (!Number.isSafeInteger(e[key]) || e[key] < 1) invalid(`${where}: ${key} must be a positive integer, got ${showValue(e[key])}`);
    }
    if (k > 0 && e.inChannels !== entries[k - 1].outChannels) {
      invalid(`${where}: input width ${e.inChannels} does not match the previous entry's output width ${entries[k - 1].outChannels}`);
    }
    if (e.kind === 'conv1_1') {
      if (config.netType !== 'mbv2') invalid(`${where}: 'conv1_1' belongs to MBV2 nets only (net_type ${config.netType})`);
      if (k !== entries.length - 1) invalid(`${where}: 'conv1_1' must be the last entry`);
      return;
    }
    if (e.kind !== 'block') invalid(`${where}: kind must be 'block' or 'conv1_1', got ${showValue((e as { kind: unknown }).kind)}`);
    const head = parseDenseOp(e.headOp);
    if (typeof head === 'string') invalid(`${where}: head op: ${head}`);
    if (!Array.isArray(e.stackOps)) invalid(`${where}: stackOps must be a list of op names`);
    e.stackOps.forEach((op, l) => {
      const parsed = parseDenseOp(op);
      if (typeof parsed === 'string') invalid(`${where}: stack op ${l}: ${parsed}`);
    });
    if (e.stride !== 1 && e.stride !== 2) invalid(`${where}: stride must be 1 or 2, got ${showValue(e.stride)}`);
    if (e.headOp === 'skip_connect' && e.stride !== 1) invalid(`${where}: 'skip_connect' ignores its stride (§2), so it cannot be a stride-${e.stride} head op`);
  });
  const last = entries[entries.length - 1];
  if (config.netType === 'mbv2' && last.kind !== 'conv1_1') invalid(`net_config: an MBV2 net must end with a [[C, last_dim], 'conv1_1'] entry`);
  if (!entries.some((e) => e.kind === 'block')) invalid('net_config: expected at least one block entry');
}

function entryFromLiteral(value: PythonLiteral, k: number): NetConfigEntry {
  const where = `net_config entry ${k}`;
  if (!Array.isArray(value)) return invalid(`${where}: expected a list, got ${showValue(value)}`);
  const ch = value[0];
  if (!Array.isArray(ch) || ch.length !== 2 || ch.some((c) => typeof c !== 'number' || !Number.isInteger(c))) {
    return invalid(`${where}: expected [C_in, C_out] (two integers) first, got ${showValue(ch)}`);
  }
  const [inChannels, outChannels] = ch as number[];
  if (value[1] === 'conv1_1') {
    if (value.length !== 2) invalid(`${where}: a conv1_1 entry is [[C_in, C_out], 'conv1_1'], got ${value.length} items`);
    return { kind: 'conv1_1', inChannels, outChannels };
  }
  if (value.length !== 5) invalid(`${where}: expected [[C_in, C_out], head_op, [stack_ops], n_stack, stride] (5 items), got ${value.length}`);
  const [, headOp, stackOps, nStack, stride] = value;
  if (typeof headOp !== 'string') invalid(`${where}: head op must be a string, got ${showValue(headOp)}`);
  if (!Array.isArray(stackOps) || stackOps.some((s) => typeof s !== 'string')) invalid(`${where}: stack ops must be a list of strings, got ${showValue(stackOps)}`);
  if (nStack !== (stackOps as string[]).length) invalid(`${where}: n_stack is ${showValue(nStack)} but ${(stackOps as string[]).length} stack ops are listed`);
  if (typeof stride !== 'number') invalid(`${where}: stride must be a number, got ${showValue(stride)}`);
  return { kind: 'block', inChannels, outChannels, headOp: headOp as string, stackOps: stackOps as string[], stride: stride as number };
}

/** The net type a net_config without a `net_type` line has: MBV2 nets end with conv1_1, ResNet nets never hold it. */
function inferNetType(entries: NetConfigEntry[]): 'mbv2' | 'res' {
  return entries.length > 0 && entries[entries.length - 1].kind === 'conv1_1' ? 'mbv2' : 'res';
}

/**
 * Parses the legacy text: entries joined by `|` (newlines allowed around them), optionally followed by a
 * `net_type: mbv2|res` line (as the original's reader, lines after it are ignored). Without that line the
 * type is `options.netType`, else inferred (a final conv1_1 entry means MBV2).
 * @throws TorchnasError INVALID_CODE naming the entry or character.
 */
export function parseNetConfig(text: string, options: { netType?: 'mbv2' | 'res' } = {}): NetConfig {
  if (typeof text !== 'string') invalid('net_config text must be a string');
  if (text.length > MAX_TEXT_CHARS) invalid(`net_config text of ${text.length} characters is longer than the ${MAX_TEXT_CHARS} accepted`);
  let body = '';
  let netType: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.includes('net_type')) {
      const m = /^net_type\s*:\s*(\S+)$/.exec(line);
      if (m === null) invalid(`net_config: malformed net_type line ${showValue(line)} (expected 'net_type: mbv2' or 'net_type: res')`);
      netType = m![1];
      break;
    }
    body += line;
  }
  if (netType !== undefined && netType !== 'mbv2' && netType !== 'res') invalid(`net_config: net_type must be mbv2 or res, got ${showValue(netType)}`);
  if (body.length === 0) invalid('net_config: no entries');
  const entries = body.split('|').map((piece, k) => {
    if (piece.trim().length === 0) invalid(`net_config entry ${k}: empty (a '|' without an entry after it?)`);
    return entryFromLiteral(parsePythonLiteral(piece, { code: 'INVALID_CODE', source: `net_config entry ${k}`, maxDepth: 4 }), k);
  });
  if (netType !== undefined && options.netType !== undefined && netType !== options.netType) {
    invalid(`net_config: the text says net_type ${netType}, the caller ${options.netType}`);
  }
  const config: NetConfig = { netType: (netType as 'mbv2' | 'res' | undefined) ?? options.netType ?? inferNetType(entries), entries };
  validateNetConfig(config);
  return config;
}

function entryToLiteral(e: NetConfigEntry): PythonLiteral {
  if (e.kind === 'conv1_1') return [[e.inChannels, e.outChannels], 'conv1_1'];
  return [[e.inChannels, e.outChannels], e.headOp, e.stackOps, e.stackOps.length, e.stride];
}

/**
 * The legacy text: entries as Python reprs joined by `|` + newline; with `netTypeLine` (default true) a
 * final `net_type: <type>` line, as the retrain/validation file the original reads.
 */
export function formatNetConfig(config: NetConfig, options: { netTypeLine?: boolean } = {}): string {
  validateNetConfig(config);
  const body = config.entries.map((e) => formatPythonLiteral(entryToLiteral(e))).join('|\n');
  return options.netTypeLine === false ? body : `${body}\nnet_type: ${config.netType}\n`;
}

/** The JSON form: `{ "netType": ..., "entries": [{ kind, inChannels, outChannels, headOp, stackOps, stride }, ...] }`. */
export function netConfigToJson(config: NetConfig): string {
  validateNetConfig(config);
  return `${JSON.stringify({ netType: config.netType, entries: config.entries }, null, 2)}\n`;
}

/** Reads the JSON form (see {@link netConfigToJson}). @throws TorchnasError INVALID_CODE. */
export function netConfigFromJson(text: string): NetConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return invalid(`net_config JSON: ${(e as Error).message}`);
  }
  const v = value as { netType?: unknown; entries?: unknown };
  if (typeof value !== 'object' || value === null || !Array.isArray(v.entries)) invalid('net_config JSON: expected { "netType": ..., "entries": [...] }');
  const entries = (v.entries as unknown[]).map((e, k) => {
    if (typeof e !== 'object' || e === null) return invalid(`net_config entry ${k}: expected an object`);
    const o = e as Record<string, unknown>;
    const allowed = o.kind === 'conv1_1' ? ['kind', 'inChannels', 'outChannels'] : ['kind', 'inChannels', 'outChannels', 'headOp', 'stackOps', 'stride'];
    const extra = Object.keys(o).find((key) => !allowed.includes(key));
    if (extra !== undefined) invalid(`net_config entry ${k}: unknown key ${showValue(extra)}`);
    return { ...o, stackOps: Array.isArray(o.stackOps) ? [...(o.stackOps as string[])] : o.stackOps } as NetConfigEntry;
  });
  const config = { netType: v.netType, entries } as NetConfig;
  validateNetConfig(config);
  return config;
}

/** Reads a net_config file in either form (JSON when its first non-blank character is `{`). */
export async function readNetConfigFile(file: string): Promise<NetConfig> {
  const text = new TextDecoder().decode(await readBenchmarkBytes(file));
  try {
    return text.trimStart().startsWith('{') ? netConfigFromJson(text) : parseNetConfig(text);
  } catch (e) {
    if (e instanceof TorchnasError) throw new TorchnasError(`${file}: ${e.message}`, e.code, { cause: e });
    throw e;
  }
}

/** Writes a net_config file atomically, legacy text (with its net_type line) or JSON. */
export async function writeNetConfigFile(file: string, config: NetConfig, format: 'legacy' | 'json' = 'legacy'): Promise<void> {
  await writeFileAtomic(file, format === 'json' ? netConfigToJson(config) : formatNetConfig(config));
}
