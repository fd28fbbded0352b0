/** TE-NAS config schema (YAML, configs/tenas/*.yaml); defaults are the CPU-friendly NB201 settings. */
import { z } from 'zod';
import { loadYamlConfig } from '../../config/load';

const dataSource = z
  .string()
  .regex(/^(fashion-mnist|random|cifar10:.+)$/, "expected 'fashion-mnist', 'random' or 'cifar10:DIR'");

export const tenasConfigSchema = z
  .object({
    space: z.enum(['nb201', 'darts']).default('nb201'),
    seed: z.number().int().min(0).default(0),
    /** LibTorch intra-op threads; omitted: leave LibTorch's default. */
    threads: z.number().int().min(1).optional(),
    device: z.string().default('cpu'),
    data: z
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
      })
      .strict()
      .default({}),
    /** Optional benchmark table (NCP's NB201 pkl/json) to look the result up in. */
    benchmark: z.string().optional(),
  })
  .strict();

export type TenasConfig = z.infer<typeof tenasConfigSchema>;

export function loadTenasConfig(file: string): TenasConfig {
  return loadYamlConfig(file, tenasConfigSchema);
}

export function defaultTenasConfig(): TenasConfig {
  return tenasConfigSchema.parse({});
}
