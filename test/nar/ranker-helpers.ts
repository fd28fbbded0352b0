// Shared fixtures of the NAR ranker tests: a tiny config and a synthetic NB201 record set whose accuracy follows
// the architecture (so a ranker can learn it), both generated here (nothing from /work/shared).
import { narConfigSchema, NarConfig } from '../../src/methods/nar/config';
import { NarUserRecord } from '../../src/methods/nar/data';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { Random } from '../../src/core/random';
import { nb201CellInfoRecord, serializeNb201CellDataset } from '../../src/benchmarks/nar-nb201-dataset';
import { narDatasetFromRecords } from '../../src/methods/nar/data';
import { parseNb201String } from '../../src/spaces/nb201/arch-string';

/** max |a − b| / max |b|: the relative difference of two outputs that must agree to float rounding. */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff / Math.max(scale, 1e-30);
}

/** NB201 sizes except the ranker's, which are tiny (fast tests). */
export function tinyConfig(overrides: Record<string, unknown> = {}): NarConfig {
  return narConfigSchema.parse({
    seed: 7,
    space: 'nasbench201',
    network_type: 'imagenet16',
    train_size: 400,
    val_size: 100,
    train_batch_size: 50,
    val_batch_size: 50,
    ranker_epochs: 16,
    sampler_epochs: 5,
    bins: 5,
    ranker: {
      n_tier: 5,
      n_arch_patch: 31,
      d_patch: 4,
      d_patch_vec: 32,
      d_model: 32,
      d_ffn_inner: 32,
      d_tier_prj_inner: 16,
      n_layers: 1,
      n_head: 2,
      d_k: 8,
      d_v: 8,
      dropout: 0.1,
      n_position: 200,
      d_val_acc_prj_inner: 32,
      scale_prj: true,
    },
    aux_loss: true,
    loss_factor: 1,
    optimizer: { beta1: 0.9, beta2: 0.99, eps: 1e-9, weight_decay: 1e-2 },
    lr_scheduler: { lr_mul: 0.05, n_warmup_steps: 10 },
    eval_rest_tier_subset: 100,
    ...overrides,
  }) as NarConfig;
}

/**
 * `n` distinct NB201 architectures (seeded) with an accuracy that rises with convolutions and falls with `none`
 * edges, plus a little noise: something a ranker can learn from the feature tensors.
 */
export function syntheticRecords(n: number, seed = 1): NarUserRecord[] {
  const rng = new Random(seed);
  const seen = new Set<string>();
  const out: NarUserRecord[] = [];
  while (out.length < n) {
    const ops = Array.from({ length: 6 }, () => rng.int(0, 4));
    const key = ops.join('');
    if (seen.has(key)) continue;
    seen.add(key);
    const weight = [-2, 0.3, 1, 2, 0.1];
    const accuracy = 30 + ops.reduce((s, op) => s + weight[op], 0) + rng.next() * 0.5;
    out.push({ arch: ops, accuracy });
  }
  return out;
}

/**
 * Writes `name`.json (an NB201 cell-information file of `n` synthetic architectures, seed `seed`) and `name`.yaml
 * (the tiny config with 200 train / 50 val) into `dir`; returns both paths and the cell records.
 */
export function writeTinyRun(dir: string, name: string, n: number, seed: number) {
  const d = narDatasetFromRecords('nb201', syntheticRecords(n, seed));
  const cells = d.ids.map((arch, i) => nb201CellInfoRecord(parseNb201String(arch), { imagenet16_val_acc: d.valAccuracy[i], imagenet16_test_acc: d.valAccuracy[i] }));
  const data = path.join(dir, `${name}.json`);
  fs.writeFileSync(data, serializeNb201CellDataset(cells));
  const { source: _s, ...config } = tinyConfig({ train_size: 200, val_size: 50 });
  const configFile = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(configFile, stringify(config));
  return { data, configFile, cells };
}
