/**
 * The DenseNAS config: the original's base config (imagenet_train_cfg.py updated by search_config.py,
 * densenas.md §1.1) as defaults and the zod schema of a merged config (§1.2). Loading and the strict YAML
 * merge are in config.ts.
 */
import { z } from 'zod';

/** DenseNAS-C, the `net_config` default of imagenet_train_cfg.py (§4.4). */
export const DENSENAS_C_NET_CONFIG = `[[16, 16], 'mbconv_k3_t1', [], 0, 1]|
[[16, 24], 'mbconv_k3_t6', [], 0, 2]|
[[24, 48], 'mbconv_k7_t6', ['mbconv_k3_t3'], 1, 2]|
[[48, 72], 'mbconv_k5_t6', ['mbconv_k3_t6', 'mbconv_k3_t3'], 2, 2]|
[[72, 128], 'mbconv_k3_t6', ['mbconv_k3_t3', 'mbconv_k3_t3'], 2, 1]|
[[128, 160], 'mbconv_k3_t6', ['mbconv_k7_t3', 'mbconv_k5_t6', 'mbconv_k7_t3'], 3, 2]|
[[160, 176], 'mbconv_k3_t3', ['mbconv_k3_t6', 'mbconv_k3_t6', 'mbconv_k3_t6'], 3, 1]|
[[176, 384], 'mbconv_k7_t6', [], 0, 1]|
[[384, 1984], 'conv1_1']`;

const MBV2_OPS = ['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3', 'mbconv_k5_t6', 'mbconv_k7_t3', 'mbconv_k7_t6'];

/**
 * The base every YAML is merged onto: imagenet_train_cfg.py updated by search_config.py (§1.1), plus
 * torchnas's `num_classes` (100, the super net's) and `stem_stride` (2), and the temperature schedule and
 * Gumbel switch of `search_params` (softmax_temp_decay, softmax_temp_min, gumbel; defaults = the original).
 */
export const DENSENAS_BASE_CONFIG = deepFreeze({
  net_type: 'mbv2',
  net_config: DENSENAS_C_NET_CONFIG,
  num_classes: 100,
  stem_stride: 2,
  train_params: { epochs: 240, use_seed: true, seed: 0 },
  search_params: {
    arch_update_epoch: 10,
    val_start_epoch: 120,
    sample_policy: 'prob',
    weight_sample_num: 1,
    softmax_temp: 1.0,
    // torchnas (spec "Beyond" 3): T anneals by this factor per epoch from arch_update_epoch on, down to
    // softmax_temp_min; 1.0 keeps the original's fixed T. gumbel: Gumbel-softmax in the architecture step.
    softmax_temp_decay: 1.0,
    softmax_temp_min: 0.1,
    gumbel: false,
    adjoin_connect_nums: [] as number[],
    net_scale: { chs: [] as number[], fm_sizes: [] as number[], stage: [] as number[], num_layers: [] as number[] },
    PRIMITIVES_stack: [...MBV2_OPS, 'skip_connect'],
    PRIMITIVES_head: [...MBV2_OPS],
  },
  optim: {
    init_lr: 0.5,
    min_lr: 1e-5,
    lr_schedule: 'cosine',
    momentum: 0.9,
    weight_decay: 4e-5,
    use_grad_clip: false,
    grad_clip: 10,
    label_smooth: true,
    smooth_alpha: 0.1,
    init_mode: 'he_fout',
    if_resume: false,
    resume: { load_path: '', load_epoch: 0 },
    use_warm_up: false,
    warm_up: { epoch: 5, init_lr: 0.0001, target_lr: 0.1 },
    use_multi_stage: false,
    multi_stage: { stage_epochs: 330 },
    cosine: { use_restart: false, restart: { lr_period: [10, 20, 40, 80, 160, 320], lr_step: [0, 10, 30, 70, 150, 310] } },
    bn_momentum: 0.1,
    bn_eps: 0.001,
    init_dim: 16,
    head_dim: 16,
    last_dim: 1984,
    weight: { init_lr: 0.1, min_lr: 1e-4, lr_decay_type: 'cosine', momentum: 0.9, weight_decay: 4e-5 },
    arch: { alpha_lr: 3e-4, beta_lr: 3e-4, weight_decay: 1e-3 },
    if_sub_obj: true,
    sub_obj: { type: 'latency', skip_reg: false, log_base: 15.0, sub_loss_factor: 0.1, latency_list_path: '' },
  },
  data: {
    num_workers: 16,
    batch_size: 1024,
    dataset: 'imagenet',
    train_data_type: 'lmdb',
    val_data_type: 'img',
    patch_dataset: false,
    input_size: [3, 224, 224] as number[],
    type_of_data_aug: 'random_sized',
    random_sized: { min_scale: 0.08 },
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    color: false,
  },
});

const int = z.number().int();
const count = int.min(0);
const positive = z.number().positive();
const nonNegative = z.number().min(0);

export const denseNasConfigSchema = z
  .object({
    net_type: z.enum(['mbv2', 'res']),
    net_config: z.string(),
    num_classes: int.min(1),
    stem_stride: int.min(1),
    train_params: z.object({ epochs: count, use_seed: z.boolean(), seed: count }).strict(),
    search_params: z
      .object({
        arch_update_epoch: count,
        val_start_epoch: count,
        sample_policy: z.enum(['prob', 'uniform']),
        weight_sample_num: int.min(1),
        softmax_temp: positive,
        softmax_temp_decay: positive.max(1),
        softmax_temp_min: positive,
        gumbel: z.boolean(),
        adjoin_connect_nums: z.array(count),
        net_scale: z
          .object({ chs: z.array(int.min(1)), fm_sizes: z.array(positive), stage: z.array(count), num_layers: z.array(count) })
          .strict(),
        PRIMITIVES_stack: z.array(z.string()).min(1),
        PRIMITIVES_head: z.array(z.string()).min(1),
      })
      .strict(),
    optim: z
      .object({
        init_lr: nonNegative,
        min_lr: nonNegative,
        lr_schedule: z.string(),
        momentum: nonNegative,
        weight_decay: nonNegative,
        use_grad_clip: z.boolean(),
        grad_clip: positive,
        label_smooth: z.boolean(),
        smooth_alpha: nonNegative,
        init_mode: z.enum(['he_fout', 'he_fin']),
        if_resume: z.boolean(),
        resume: z.object({ load_path: z.string(), load_epoch: int.min(-1) }).strict(),
        use_warm_up: z.boolean(),
        warm_up: z.object({ epoch: count, init_lr: nonNegative, target_lr: nonNegative }).strict(),
        use_multi_stage: z.boolean(),
        multi_stage: z.object({ stage_epochs: count }).strict(),
        cosine: z
          .object({ use_restart: z.boolean(), restart: z.object({ lr_period: z.array(count), lr_step: z.array(count) }).strict() })
          .strict(),
        bn_momentum: z.number().min(0).max(1),
        bn_eps: positive,
        init_dim: int.min(1),
        head_dim: int.min(1),
        last_dim: int.min(1),
        weight: z
          .object({ init_lr: nonNegative, min_lr: nonNegative, lr_decay_type: z.string(), momentum: nonNegative, weight_decay: nonNegative })
          .strict(),
        arch: z.object({ alpha_lr: nonNegative, beta_lr: nonNegative, weight_decay: nonNegative }).strict(),
        if_sub_obj: z.boolean(),
        sub_obj: z
          .object({
            type: z.enum(['latency', 'flops']),
            skip_reg: z.boolean(),
            log_base: z.number().gt(1, 'τ must be greater than 1 (the cost term is ln(cost)/ln(τ))'),
            sub_loss_factor: nonNegative,
            latency_list_path: z.string(),
          })
          .strict(),
      })
      .strict(),
    data: z
      .object({
        num_workers: count,
        batch_size: int.min(1),
        dataset: z.string(),
        train_data_type: z.enum(['lmdb', 'img']),
        val_data_type: z.enum(['lmdb', 'img']),
        patch_dataset: z.boolean(),
        input_size: z.array(int.min(1)).length(3, 'expected (C, H, W)'),
        type_of_data_aug: z.enum(['random_sized', 'rand_scale']),
        random_sized: z.object({ min_scale: z.number().gt(0).max(1) }).strict(),
        mean: z.array(z.number()),
        std: z.array(positive),
        color: z.boolean(),
      })
      .strict(),
  })
  .strict();

export type DenseNasConfig = z.infer<typeof denseNasConfigSchema>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
