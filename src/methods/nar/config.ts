/**
 * NAR config (configs/nar/nb201.yaml, nb101.yaml). The schema takes the original repository's `config201.yml` /
 * `config.yml` unchanged (every key of nar.md §4.5, YAML 1.1 `True`/`False` included) and adds optional keys of
 * our own: `data` (a cell-information file, relative to the config file), `device`, `eval_rest_tier_subset`.
 * Keys the original reads but we have no use for (`is_cuda`, `data_loader_workers`, `validate_freq`, `strategy`,
 * `start_epochs`, `arch`) are accepted and recorded; `sampler.*` is for the search.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { loadYamlConfig } from '../../config/load';

const positiveInt = z.number().int().min(1);

const rankerSchema = z
  .object({
    n_tier: positiveInt.default(5),
    n_arch_patch: positiveInt,
    d_patch: positiveInt,
    d_patch_vec: positiveInt,
    d_model: positiveInt,
    d_ffn_inner: positiveInt,
    d_tier_prj_inner: positiveInt,
    n_layers: z.number().int().min(0),
    n_head: positiveInt,
    d_k: positiveInt,
    d_v: positiveInt,
    dropout: z.number().min(0).lt(1),
    n_position: positiveInt.default(200),
    d_val_acc_prj_inner: positiveInt,
    scale_prj: z.boolean().default(true),
  })
  .strict()
  .refine((r) => r.d_patch_vec === r.d_model, { message: 'd_patch_vec must equal d_model (the token projection feeds the residual stream)' })
  .refine((r) => r.n_position >= r.n_arch_patch, { message: 'n_position must be >= n_arch_patch' });

const samplerSchema = z
  .object({
    top_tier: positiveInt.default(1),
    last_tier: positiveInt.default(4),
    batch_factor: z.number().min(0).max(1).default(0.1),
    reuse_step: positiveInt.default(25),
    max_trails: z.number().int().min(0).default(100), // sic, the original key
    noisy_factor: z.number().min(0).max(1).default(0.5),
    flops_kl_thred: z.number().min(0),
    params_kl_thred: z.number().min(0),
    edges_kl_thred: z.number().min(0).optional(),
    sample_size: positiveInt,
    search_size: positiveInt,
    force_uniform: z.boolean().default(false),
    is_checkpoint: z.boolean().default(true),
  })
  .strict();

export const narConfigSchema = z
  .object({
    arch: z.string().default('NAR'),
    exp_name: z.string().default('nar'),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    is_cuda: z.boolean().default(false),
    space: z.enum(['nasbench', 'nasbench201']),
    node_type_dict: z.record(z.string(), z.number().int()).optional(),
    max_edges: positiveInt.optional(),
    network_type: z.enum(['cifar10', 'cifar100', 'imagenet16']).optional(),
    train_size: positiveInt,
    val_size: positiveInt,
    drop_last: z.boolean().default(true),
    data_loader_workers: z.number().int().min(0).default(0),
    batch_size: positiveInt.optional(),
    train_batch_size: positiveInt.optional(),
    val_batch_size: positiveInt.optional(),
    start_epochs: z.number().int().min(0).default(0),
    ranker_epochs: positiveInt,
    sampler_epochs: z.number().int().min(0),
    validate_freq: positiveInt.default(1),
    strategy: z.string().default('val_acc'),
    bins: positiveInt,
    ranker: rankerSchema,
    aux_loss: z.boolean().default(true),
    loss_factor: z.number().min(0).default(1),
    optimizer: z
      .object({ beta1: z.number().min(0).lt(1), beta2: z.number().min(0).lt(1), eps: z.number().min(0), weight_decay: z.number().min(0) })
      .strict(),
    lr_scheduler: z.object({ lr_mul: z.number().positive(), n_warmup_steps: positiveInt }).strict(),
    sampler: samplerSchema.optional(),
    /** Ours: a cell-information file (NB201 or NB101 format), relative to the config file. */
    data: z.string().optional(),
    /** Ours: 'cpu' (default) or 'cuda[:i]'. */
    device: z.string().optional(),
    /** Ours: size of the seeded subset of "the rest" on which evaluation measures tier accuracy (§7.4: 1,024). */
    eval_rest_tier_subset: z.number().int().min(0).default(1024),
  })
  .strict()
  .refine((c) => c.space !== 'nasbench201' || c.network_type !== undefined, { message: 'space nasbench201 needs network_type (cifar10, cifar100 or imagenet16)' });

export type NarConfigInput = z.input<typeof narConfigSchema>;
export type NarConfig = z.infer<typeof narConfigSchema> & { source?: string };

/** Loads and validates a NAR config (CONFIG_INVALID naming the file and the field). */
export function loadNarConfig(file: string): NarConfig {
  const config = loadYamlConfig(file, narConfigSchema) as NarConfig;
  config.source = path.resolve(file);
  if (config.data !== undefined) config.data = path.resolve(path.dirname(file), config.data);
  return config;
}

/** 'nb201' or 'nb101' from the config's `space`. */
export function narSpace(config: Pick<NarConfig, 'space'>): 'nb201' | 'nb101' {
  return config.space === 'nasbench201' ? 'nb201' : 'nb101';
}

/** The training and validation batch sizes (NB201: train/val_batch_size; NB101: batch_size for both). */
export function narBatchSizes(config: NarConfig): { train: number; val: number } {
  const train = config.train_batch_size ?? config.batch_size ?? 128;
  const val = config.val_batch_size ?? config.batch_size ?? train;
  return { train, val };
}
