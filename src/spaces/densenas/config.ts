/**
 * DenseNAS search configs (densenas.md §1.1–§1.2): the original's base config (imagenet_train_cfg.py
 * updated by search_config.py) with a YAML merged on top *strictly*: every YAML key must exist in the base
 * and keep its type, strings are read as Python literals (`input_size: (3,224,224)`). So a search inherits
 * keys its YAML never names, e.g. `optim.min_lr` 1e-5, which is the cosine floor (not `optim.weight.min_lr`).
 *
 * torchnas adds two keys to the base (so YAMLs may set them): `num_classes` (the original hard-codes 100 in
 * the super net) and `stem_stride` (hard-coded 2); the input channels and size are `data.input_size`'s
 * (the original's loaders hard-code 224). Deviation: integers are accepted where the base holds a float
 * (the original refuses `softmax_temp: 1` as int-vs-float).
 */
import { readYamlFile, parseYaml, validateConfig } from '../../config/load';
import { tryParsePythonLiteral } from '../../config/python-literal';
import { TorchnasError, showValue } from '../../core/errors';
import { DENSENAS_BASE_CONFIG, DenseNasConfig, denseNasConfigSchema } from './config-schema';
import { buildDenseSpace } from './space';

type Kind = 'mapping' | 'list' | 'boolean' | 'number' | 'string' | 'null';

function kindOf(v: unknown): Kind | undefined {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return undefined;
}

const isMapping = (v: unknown): v is Record<string, unknown> => kindOf(v) === 'mapping';

/**
 * The original's strict merge (§1.1): `raw`'s keys must exist in `base`, strings are decoded as Python
 * literals where they are one, and the decoded value must have the base value's kind (list↔tuple alike).
 */
function strictMerge(base: Record<string, unknown>, raw: Record<string, unknown>, source: string, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, rawValue] of Object.entries(raw)) {
    const where = prefix + key;
    if (!Object.prototype.hasOwnProperty.call(base, key)) {
      throw new TorchnasError(
        `${source}: unknown config key '${where}' (only keys of the original's base config are accepted, plus torchnas's num_classes, stem_stride and search_params.softmax_temp_decay|softmax_temp_min|gumbel)`,
        'CONFIG_INVALID',
      );
    }
    const value = typeof rawValue === 'string' ? (tryParsePythonLiteral(rawValue) ?? rawValue) : rawValue;
    const want = kindOf(base[key]);
    const got = kindOf(value);
    if (got !== want) {
      throw new TorchnasError(
        `${source}: type mismatch for config key '${where}': expected a ${want} (like the default ${showValue(base[key], 40)}), got ${got ?? typeof value} ${showValue(value, 40)}`,
        'CONFIG_INVALID',
      );
    }
    out[key] = isMapping(value) ? strictMerge(base[key] as Record<string, unknown>, value, source, `${where}.`) : value;
  }
  return out;
}

/**
 * Merges a parsed YAML value onto {@link DENSENAS_BASE_CONFIG} (strictly, §1.1), validates types and the
 * coupled `net_scale` lists (§1.2) by building the space once.
 * @throws TorchnasError CONFIG_INVALID naming `source`, the key path and what is wrong.
 */
export function mergeDenseNasConfig(raw: unknown, source: string): DenseNasConfig {
  if (!isMapping(raw)) {
    throw new TorchnasError(`${source}: a DenseNAS config must be a YAML mapping, got ${kindOf(raw) ?? typeof raw}`, 'CONFIG_INVALID');
  }
  const merged = strictMerge(structuredClone(DENSENAS_BASE_CONFIG) as unknown as Record<string, unknown>, raw, source, '');
  const config = validateConfig(denseNasConfigSchema, merged, source);
  const channels = config.data.input_size[0];
  for (const key of ['mean', 'std'] as const) {
    if (config.data[key].length !== channels) {
      throw new TorchnasError(
        `${source}: data.${key}: expected one entry per input channel (data.input_size has ${channels}), got ${config.data[key].length}`,
        'CONFIG_INVALID',
      );
    }
  }
  try {
    buildDenseSpace(config);
  } catch (e) {
    if (e instanceof TorchnasError) throw new TorchnasError(`${source}: ${e.message}`, e.code, { cause: e });
    throw e;
  }
  return config;
}

/** A DenseNAS config from YAML text (see {@link mergeDenseNasConfig}). */
export function parseDenseNasConfig(text: string, source = 'DenseNAS config'): DenseNasConfig {
  return mergeDenseNasConfig(parseYaml(text, source), source);
}

/** Loads a DenseNAS search YAML (e.g. configs/densenas/mbv2-imagenet.yaml) onto the base config. */
export function loadDenseNasConfig(file: string): DenseNasConfig {
  return mergeDenseNasConfig(readYamlFile(file), file);
}
