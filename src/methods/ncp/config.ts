/**
 * NCP config (configs/ncp/*.yaml). The schema accepts the original repository's YAML files unchanged
 * (configs/{seg,cls,video,3ddet}.yaml of dingmyu/NCP, keys and spellings such as `seperated_layer`
 * included) and adds a few optional keys of our own: `data.table`, `device`, and under `editing`:
 * `objectives`, `start` and `pareto` (ncp.md §5; what each original key does is in §5.2–§5.4).
 */
import * as path from 'node:path';
import { z } from 'zod';
import { loadYamlConfig } from '../../config/load';

const positiveInt = z.number().int().min(1);
const probability = z.number().min(0).lt(1);

const objectiveSchema = z
  .object({
    /** A predicted metric (a name from data.metrics, e.g. mIoU, flops, params). */
    metric: z.string().min(1),
    /** up/down: the editing loss (L1 by default, as tools/ncp.py; editing.loss) toward the prediction ± step each iteration; target: toward `target` (original units). */
    direction: z.enum(['up', 'down', 'target']),
    /** Normalised units, as per_step_increase / per_flops_decrease. */
    step: z.number().positive().default(0.1),
    target: z.number().optional(),
    weight: z.number().min(0).default(1),
  })
  .strict()
  .refine((o) => o.direction !== 'target' || o.target !== undefined, { message: "direction 'target' needs a target value" });

export const ncpConfigSchema = z
  .object({
    data: z
      .object({
        /** Task name: names outputs and, without data.table, the table (the name nas-bench-mr/<dataset>). */
        dataset: z.string().min(1),
        /** Metric groups, one predictor head each, in output order (§5.2). */
        metrics: z.array(z.array(z.string().min(1)).min(1)).min(1),
        /** Ours: the table, a name (seg-4x, nas-bench-mr/video, …) or a file (.pkl/.json[.gz]) relative to the config file. */
        table: z.string().optional(),
      })
      .strict(),
    network: z
      .object({
        input_dim: z.union([z.literal('AUTO'), positiveInt]).default('AUTO'),
        shared_layer: positiveInt.default(256),
        seperated_layer: positiveInt.default(128), // sic, the original key
        activation: z.enum(['relu', 'relu6', 'tanh', 'swish']).default('swish'),
        layer1_drop_ratio: probability.default(0.5),
        /** One dropout per metric group; a single number applies to every group. */
        layer2_drop_ratio: z.union([probability, z.array(probability)]).default(0.5),
      })
      .strict()
      .default({}),
    optimization: z
      .object({
        epoch: positiveInt.default(200),
        batch_size: positiveInt.default(128),
        criterion: z.enum(['smoothl1', 'mse', 'l1']).default('smoothl1'),
        optimizer: z.enum(['adam', 'adamw', 'sgd']).default('adam'),
        adam_param: z.object({ lr: z.number().positive().default(1e-2), weight_decay: z.number().min(0).default(1e-7) }).strict().default({}),
        sgd_param: z
          .object({
            lr: z.number().positive().default(1e-2),
            weight_decay: z.number().min(0).default(1e-7),
            momentum: z.number().min(0).default(0.9),
            nesterov: z.boolean().default(false),
          })
          .strict()
          .default({}),
        scheduler: z.enum(['exp', 'step', 'cosine', 'onecycle']).default('onecycle'),
        exp_scheduler: z.object({ gamma: z.number().positive().default(0.97) }).strict().default({}),
        step_scheduler: z
          .object({ milestones: z.array(z.number().int().min(0)).default([30, 60, 90]), gamma: z.number().positive().default(0.1) })
          .strict()
          .default({}),
        onecycle_scheduler: z
          .object({
            pct_start: z.number().gt(0).lt(1).default(0.3),
            div_factor: z.number().positive().default(10),
            base_momentum: z.number().min(0).lt(1).default(0.85),
            max_momentum: z.number().min(0).lt(1).default(0.95),
            final_div_factor: z.number().positive().default(1e4), // PyTorch's default; not in the original YAML
          })
          .strict()
          .default({}),
        cosine_scheduler: z.object({ eta_min: z.number().min(0).default(0) }).strict().default({}),
      })
      .strict()
      .default({}),
    // Accepted for compatibility; outputs go to --out, logging is ours.
    log_dir: z.string().optional(),
    log_interval: positiveInt.optional(),
    SEED: z.number().int().min(0).max(0xffffffff).default(233),
    /** Ignored: the device is `device` / --device (the original used CUDA whenever present). */
    CUDA_DEVICE: z.number().int().min(0).optional(),
    /** Ours: 'cpu', 'cuda' or 'cuda:N' (default cpu). */
    device: z.string().optional(),
    editing: z
      .object({
        model_path: z.string().optional(), // the original's checkpoint root; ours is --predictor
        iters: z.number().int().min(0).default(70),
        lr: z.number().positive().default(3),
        per_step_increase: z.number().positive().default(0.1),
        use_flops: z.boolean().default(true),
        per_flops_decrease: z.number().positive().default(0.1),
        alpha: z.number().min(0).default(0.5),
        /** Upper bounds = 32·α for channels and α for counts (tools/ncp.py); α ≤ 4 keeps codes in the space. */
        max_value_alpha: z.number().positive().max(4).default(4),
        max_grad_decline: z.number().optional(), // unused by the original (§5.4)
        /**
         * Ours: the objectives' loss. tools/ncp.py uses nn.L1Loss (the second value of get_criterion), so each
         * step moves by lr·weight·∇ŷ in the objective's direction whatever `step` is; ncp.md §5.4 says SmoothL1.
         */
        loss: z.enum(['l1', 'smoothl1']).default('l1'),
        /** Ours: replaces the main-metric/FLOPs pair built from the keys above. */
        objectives: z.array(objectiveSchema).min(1).optional(),
        /** Ours: start codes (31-integer strings); default the all-64/2 network (§5.4 step 3). */
        start: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
        /** Ours: FLOPs-objective weights to sweep in one batch (Pareto front of main metric vs FLOPs). */
        pareto: z.object({ weights: z.array(z.number().min(0)).min(1) }).strict().optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const d = c.network.layer2_drop_ratio;
    if (Array.isArray(d) && d.length !== c.data.metrics.length) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['network', 'layer2_drop_ratio'],
        message: `expected one dropout per metric group (${c.data.metrics.length}), got ${d.length}`,
      });
    }
    const names = new Set(c.data.metrics.flat());
    (c.editing.objectives ?? []).forEach((o, i) => {
      if (!names.has(o.metric)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['editing', 'objectives', i, 'metric'],
          message: `'${o.metric}' is not a predicted metric (${[...names].join(', ')})`,
        });
      }
    });
  });

export type NcpConfig = z.infer<typeof ncpConfigSchema> & { source?: string };
export type NcpObjectiveConfig = z.infer<typeof objectiveSchema>;

/** Loads and validates a config; remembers the file so `data.table` can be relative to it. */
export function loadNcpConfig(file: string): NcpConfig {
  return { ...loadYamlConfig(file, ncpConfigSchema), source: path.resolve(file) };
}

/** One dropout per metric group (a single number applies to all). */
export function headDropouts(config: NcpConfig): number[] {
  const groups = config.data.metrics.length;
  const d = config.network.layer2_drop_ratio;
  return Array.isArray(d) ? d : new Array<number>(groups).fill(d);
}
