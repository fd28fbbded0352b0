/**
 * YAML configs: parse with `yaml`, validate with a zod schema. Errors name the file, the key path
 * and what was expected, e.g. `configs/x.yaml: train.lr: expected number, received string`.
 */
import * as fs from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { TorchnasError } from '../core/errors';

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

/** Parses YAML text; syntax errors carry the source name, line and column. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const pos = first.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
    throw new TorchnasError(`${source}: malformed YAML at ${where}: ${first.message.split('\n')[0]}`, 'CONFIG_INVALID');
  }
  return doc.toJS();
}

/** Loads and validates a YAML config file. */
export function loadYamlConfig<S extends z.ZodTypeAny>(file: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TorchnasError(`config file not found: ${file}`, 'FILE_NOT_FOUND');
    throw new TorchnasError(`cannot read config ${file}: ${(e as Error).message}`, 'INVALID_ARGUMENT');
  }
  return validateConfig(schema, parseYaml(text, file), file);
}
