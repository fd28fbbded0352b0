/**
 * YAML configs: parse with `yaml`, validate with a zod schema. Errors name the file, the key path
 * and what was expected, e.g. `configs/x.yaml: train.lr: expected number, received string`.
 */
import * as fs from 'node:fs';
import { Document, LineCounter, Scalar, isScalar, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { TorchnasError, showValue } from '../core/errors';
import { YAML_LIMITS, checkYamlBounds } from './yaml-bounds';

/** Formats zod issues as `path: message` lines. */
export function describeIssues(issues: readonly z.ZodIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.path.length ? issue.path.join('.') : '(root)';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates an already parsed value (e.g. from JSON or a programmatic override). */
export function validateConfig<S extends z.ZodTypeAny>(schema: S, value: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new TorchnasError(`${source}: invalid config: ${describeIssues(result.error.issues)}`, 'CONFIG_INVALID');
  }
  return result.data;
}

/**
 * Parses YAML text; syntax errors carry the source name, line and column. Size, nesting depth and
 * aliases are bounded first (see yaml-bounds.ts), so every failure is a `CONFIG_INVALID`.
 */
export function parseYaml(text: string, source: string): unknown {
  if (typeof text !== 'string') throw new TorchnasError(`${source}: YAML text must be a string, got ${showValue(text)}`, 'CONFIG_INVALID');
  checkYamlBounds(text, source);
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    // uniqueKeys is checked below in linear time; the library's own check is quadratic.
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter, logLevel: 'error' });
  } catch (e) {
    throw new TorchnasError(`${source}: malformed YAML: ${(e as Error).message}`, 'CONFIG_INVALID', { cause: e });
  }
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const pos = first.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
    throw new TorchnasError(`${source}: malformed YAML at ${where}: ${first.message.split('\n')[0]}`, 'CONFIG_INVALID');
  }
  checkUniqueKeys(doc, lineCounter, source);
  try {
    return doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliases });
  } catch (e) {
    // Unresolved aliases (ReferenceError) and alias expansion past maxAliasCount.
    throw new TorchnasError(`${source}: invalid YAML: ${(e as Error).message}`, 'CONFIG_INVALID', { cause: e });
  }
}

/** Duplicate scalar keys in one mapping, found with one Set per mapping. */
function checkUniqueKeys(doc: Document.Parsed, lineCounter: LineCounter, source: string): void {
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = (pair.key as Scalar).value;
        const id = typeof key === 'string' ? `s:${key}` : key;
        if (seen.has(id)) {
          const offset = (pair.key as Scalar).range?.[0];
          const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
          const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
          throw new TorchnasError(`${source}: malformed YAML at ${where}: duplicate key ${JSON.stringify(String(key))}`, 'CONFIG_INVALID');
        }
        seen.add(id);
      }
      return undefined;
    },
  });
}

/**
 * Reads and parses a YAML config file (not validated): for loaders that transform the raw value
 * before validating it, e.g. DenseNAS's merge onto the original's base config.
 */
export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    // stat first: a FIFO or device would block the read, and an oversized file is refused unread.
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new TorchnasError(`config ${file} is not a regular file`, 'CONFIG_INVALID');
    if (stat.size > YAML_LIMITS.maxBytes) {
      throw new TorchnasError(`${file}: config is ${stat.size} bytes; at most ${YAML_LIMITS.maxBytes} are accepted`, 'CONFIG_INVALID');
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof TorchnasError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TorchnasError(`config file not found: ${file}`, 'FILE_NOT_FOUND');
    throw new TorchnasError(`cannot read config ${file}: ${(e as Error).message}`, 'INVALID_ARGUMENT');
  }
  return parseYaml(text, file);
}

/** Loads and validates a YAML config file. */
export function loadYamlConfig<S extends z.ZodTypeAny>(file: string, schema: S): z.infer<S> {
  return validateConfig(schema, readYamlFile(file), file);
}
