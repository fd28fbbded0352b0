/** TE-NAS config schema (YAML, configs/tenas/*.yaml); defaults are the CPU-friendly NB201 settings. */
import * as fs from 'node:fs';
import { z } from 'zod';
import { parseYaml, validateConfig } from '../../config/load';
import { TorchnasError } from '../../core/errors';

const dataSource = z
  .string()
  .regex(/^(fashion-mnist|random|cifar10:.+|folder:.+)$/, "expected 'fashion-mnist', 'random', 'cifar10:DIR' or 'folder:DIR'");

export const tenasConfigSchema = z
  .object({
    space: z.enum(['nb201', 'darts']).default('nb201'),
    seed: z.number().int().min(0).default(0),
    /** LibTorch intra-op threads; omitted: leave LibTorch's default. */
    threads: z.number().int().min(1).optional(),
    device: z.string().default('cpu'),
    data: z
      // dir: the Fashion-MNIST folder; default $TORCHNAS_FASHION_MNIST, else Debian's /usr/share/datasets/fashion-mnist
      .object({ source: dataSource.default('fashion-mnist'), dir: z.string().optional() })
      .strict()
      .default({}),
    ntk: z
      .object({
        batchSize: z.number().int().min(2).default(32),
        mode: z.enum(['logit_sum', 'per_class_trace', 'full']).default('logit_sum'),
        init: z.enum(['default', 'kaiming_normal']).default('default'),
        singularEps: z.number().min(0).default(0),
        numClasses: z.number().int().min(1).default(10),
      })
      .strict()
      .default({}),
    linearRegions: z
      .object({
        samples: z.number().int().min(1).default(3000),
        batchSize: z.number().int().min(1).default(1000),
        inputSize: z.number().int().min(1).default(3),
      })
      .strict()
      .default({}),
    search: z
      .object({
        pruneNumber: z.number().int().min(1).default(1),
        repeats: z.number().int().min(1).default(3),
        precision: z.number().int().min(0).max(15).default(3),
        /** Candidates of a round scored at once (same results for any count); omitted: cores ÷ threads when
         * `threads` is set, else 1 (LibTorch's default threads already use every core). */
        concurrency: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    /** Optional benchmark table to look the result up in: a path (NCP's NB201 pkl/json) or the name `nb201`. */
    benchmark: z.string().optional(),
  })
  .strict();

export type TenasConfig = z.infer<typeof tenasConfigSchema>;

/** Values that override a config file's (the CLI's flags); nested objects merge key by key. */
export type TenasConfigOverrides = { [K in keyof TenasConfig]?: TenasConfig[K] extends object ? Partial<TenasConfig[K]> : TenasConfig[K] };

/**
 * Loads a TE-NAS config (YAML file, or the schema defaults without one) with `overrides` applied *before*
 * validation, so an override is held to the same rules as the file (`--repeats 0` is refused like
 * `search.repeats: 0`).
 */
export function loadTenasConfig(file?: string, overrides: TenasConfigOverrides = {}): TenasConfig {
  const raw = file === undefined ? {} : parseYaml(readConfigText(file), file);
  const overridden = hasDefinedValue(overrides);
  const source = file === undefined ? 'command-line options' : overridden ? `${file} (with command-line options)` : file;
  return validateConfig(tenasConfigSchema, mergeOverrides(raw, overrides), source);
}

export function defaultTenasConfig(): TenasConfig {
  return tenasConfigSchema.parse({});
}

function readConfigText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TorchnasError(`config file not found: ${file}`, 'FILE_NOT_FOUND');
    throw new TorchnasError(`cannot read config ${file}: ${(e as Error).message}`, 'INVALID_ARGUMENT');
  }
}

function hasDefinedValue(v: unknown): boolean {
  return isPlainObject(v) ? Object.values(v).some(hasDefinedValue) : v !== undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep-merges defined override values into the raw (unvalidated) config; the schema judges the result. */
function mergeOverrides(raw: unknown, overrides: Record<string, unknown>): unknown {
  if (!isPlainObject(raw)) return raw; // not an object: let the schema name the problem
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeOverrides(out[key], value) : isPlainObject(value) ? mergeOverrides({}, value) : value;
  }
  return out;
}
