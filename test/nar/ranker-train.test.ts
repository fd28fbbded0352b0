// Training NAR's ranker (nar.md §4.2–4.6): a short run beats chance, checkpoints hold what they should, resuming from
// ckp_last continues identically, and malformed configs and checkpoints are clear errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNarConfig } from '../../src/methods/nar/config';
import { narDatasetFromRecords } from '../../src/methods/nar/data';
import { loadNarRanker } from '../../src/methods/nar/ranker';
import { evaluateNarRanker, narSplit, trainNarRanker, TrainNarResult } from '../../src/methods/nar/train';
import { syntheticRecords, tinyConfig } from './ranker-helpers';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-train-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const dataset = narDatasetFromRecords('nb201', syntheticRecords(800, 11));

describe('trainNarRanker', () => {
  let full: TrainNarResult;
  const fullDir = () => path.join(tmp, 'full');

  beforeAll(async () => {
    full = await trainNarRanker(tinyConfig(), { dataset, out: fullDir() });
  });

  // Tier accuracy on 100 val archs moves by ±0.08 with the dropout draws of this tiny model (0.22–0.40 over seeds
  // 1–7), so it is held to chance; the score head's τ on the 300 rest archs is the steadier signal (0.40–0.57).
  test('a short run beats chance: val tier accuracy > 0.2 (chance) and the score head ranks the rest (τ > 0.3)', () => {
    expect(full.history).toHaveLength(16);
    expect(full.split).toEqual({ train: 400, val: 100, rest: 300 });
    expect(full.bestValTierAccuracy).toBeGreaterThan(0.2);
    expect(full.evaluation!.best.rest.kendallTau).toBeGreaterThan(0.3);
    expect(full.evaluation!.best.rest.count).toBe(300);
    expect(full.evaluation!.best.restTiers.confusion.flat().reduce((a, b) => a + b, 0)).toBe(100);
    expect(full.peakRssMiB).toBeGreaterThan(0);
    // The best checkpoint is the first epoch with the highest val tier accuracy.
    const accs = full.history.map((r) => r.valTierAccuracy);
    expect(full.bestEpoch).toBe(accs.indexOf(Math.max(...accs)));
    expect(full.evaluation!.best.epoch).toBe(full.bestEpoch);
    for (const f of ['nar.json', 'ckp_best.pt', 'ckp_last.pt', 'result.json', 'learning-curves.svg', 'score-vs-accuracy.svg']) {
      expect([f, fs.existsSync(path.join(fullDir(), f))]).toEqual([f, true]);
    }
    const envelope = JSON.parse(fs.readFileSync(path.join(fullDir(), 'result.json'), 'utf8'));
    expect(envelope).toMatchObject({ method: 'nar train', status: 'completed', seed: 7 });
  });

  test('the checkpoint holds the epoch\'s batch records (benchmark indices, true tiers) and the split', async () => {
    const ranker = await loadNarRanker(fullDir(), 'last');
    try {
      const meta = ranker.meta;
      expect(meta.epoch).toBe(15);
      expect(meta.records).toHaveLength(8); // 400 train / batch 50, drop_last
      const split = narSplit(800, 400, 100, 7);
      expect(meta.split.train).toEqual(Array.from(split.train));
      const trainSet = new Set(meta.split.train);
      for (const r of meta.records) {
        expect(r.indices).toHaveLength(50);
        expect(r.tiers).toHaveLength(50);
        for (const i of r.indices) expect(trainSet.has(i)).toBe(true);
      }
      // Tier 0 = the best fifth of the training set.
      const acc = new Map(meta.split.train.map((p) => [p, dataset.valAccuracy[p]]));
      const best = [...acc.values()].sort((a, b) => b - a)[79];
      for (const r of meta.records) r.indices.forEach((i, k) => r.tiers[k] === 0 && expect(acc.get(i)!).toBeGreaterThanOrEqual(best));
      // The search's interface: predicted-tier buckets and probabilities.
      ranker.resetSearchBuckets();
      const n = 3;
      const features = dataset.features.slice(0, n * ranker.featureSize);
      const first = await ranker.rankSearchBatch(features, n);
      expect(first.tierProbs).toHaveLength(n * 5);
      for (let i = 0; i < n; i++) expect(first.tierProbs.slice(i * 5, i * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const again = await ranker.rankSearchBatch(features, n);
      expect(Array.from(again.scores)).toEqual(Array.from(first.scores)); // eval mode: the score head ignores the buckets
      expect(Array.from(again.tierProbs)).not.toEqual(Array.from(first.tierProbs)); // the buckets filled in between
      expect(Array.from(first.tierProbs.slice(0, 5))).not.toEqual(Array.from(first.tierProbs.slice(5, 10))); // per-arch predictions
      await expect(ranker.rankSearchBatch(features, 4)).rejects.toThrow(/n × 496/);
    } finally {
      ranker.dispose();
    }
  });

  test('resuming from ckp_last continues identically (losses, accuracies, final weights)', async () => {
    const partDir = path.join(tmp, 'part');
    await trainNarRanker(tinyConfig(), { dataset, out: partDir, epochs: 13, evaluate: false });
    const resumed = await trainNarRanker(tinyConfig(), { dataset, resume: partDir, evaluate: false });
    expect(resumed.resumedAtEpoch).toBe(13);
    const strip = (rows: TrainNarResult['history']) => rows.map(({ seconds: _s, peakRssMiB: _m, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(full.history));
    const a = await loadNarRanker(fullDir(), 'last');
    const b = await loadNarRanker(partDir, 'last');
    try {
      for (const name of a.native.parameterNames()) {
        expect([name, Array.from(b.native.parameter(name).toArray() as Float32Array)]).toEqual([name, Array.from(a.native.parameter(name).toArray() as Float32Array)]);
      }
      expect(b.meta.records).toEqual(a.meta.records);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('evaluateNarRanker re-derives the split and agrees with the training run\'s evaluation', async () => {
    const r = await evaluateNarRanker(fullDir(), { which: 'both', dataset });
    expect(r.evaluations.map((e) => e.checkpoint)).toEqual(['best', 'last']);
    expect(r.evaluations[0].rest.kendallTau).toBeCloseTo(full.evaluation!.best.rest.kendallTau, 10);
    expect(r.evaluations[1].valTiers.accuracy).toBeCloseTo(full.evaluation!.last.valTiers.accuracy, 10);
    await expect(evaluateNarRanker(fullDir())).rejects.toThrow(/trained on in-memory records/);
  });
});

describe('errors', () => {
  test('the original config201.yml loads unchanged; unknown keys and bad values are CONFIG_INVALID', () => {
    const original = [
      'arch: "NAR"', 'exp_name: "x"', 'seed: 77777777', 'is_cuda: True', 'space: "nasbench201"', 'network_type: "imagenet16"  # comment',
      'train_size: 1000', 'val_size: 256', 'drop_last: True', 'data_loader_workers: 6', 'train_batch_size: 128', 'val_batch_size: 128',
      'start_epochs: 0', 'ranker_epochs: 55', 'sampler_epochs: 105', 'validate_freq: 1', 'strategy: "val_acc"', 'bins: 5',
      'ranker:', '  n_tier: 5', '  n_arch_patch: 31', '  d_patch: 4', '  d_patch_vec: 128', '  d_model: 128', '  d_ffn_inner: 512',
      '  d_tier_prj_inner: 256', '  n_layers: 6', '  n_head: 4', '  d_k: 32', '  d_v: 32', '  dropout: 0.1', '  n_position: 200',
      '  d_val_acc_prj_inner: 1024', '  scale_prj: True', 'aux_loss: True', 'loss_factor: 1',
      'optimizer:', '  beta1: 0.9', '  beta2: 0.99', '  eps: 1.0e-9', '  weight_decay: 1.0e-2',
      'lr_scheduler:', '  lr_mul: 0.07', '  n_warmup_steps: 30',
      'sampler:', '  top_tier: 1', '  last_tier: 4', '  batch_factor: 0.1', '  reuse_step: 25', '  max_trails: 100', '  noisy_factor: 0.5',
      '  flops_kl_thred: 0.35', '  params_kl_thred: 0.3', '  edges_kl_thred: 1.5', '  sample_size: 128', '  search_size: 128',
      '  force_uniform: True', '  is_checkpoint: True', '',
    ].join('\n');
    const file = path.join(tmp, 'config201.yml');
    fs.writeFileSync(file, original);
    const c = loadNarConfig(file);
    expect(c).toMatchObject({ seed: 77777777, train_size: 1000, loss_factor: 1, optimizer: { eps: 1e-9 }, lr_scheduler: { lr_mul: 0.07 } });
    const shipped = loadNarConfig(path.join(__dirname, '../../configs/nar/nb201.yaml'));
    const { source: _a, ...shippedRest } = shipped;
    const { source: _b, ...originalRest } = c;
    expect({ ...shippedRest, exp_name: 'x' }).toEqual(originalRest);
    expect(loadNarConfig(path.join(__dirname, '../../configs/nar/nb101.yaml'))).toMatchObject({ space: 'nasbench', loss_factor: 9, batch_size: 256 });
    fs.writeFileSync(file, original.replace('bins: 5', 'bins: 5\nbinz: 3'));
    expect(() => loadNarConfig(file)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/binz/) }));
    fs.writeFileSync(file, original.replace('  d_model: 128', '  d_model: -1'));
    expect(() => loadNarConfig(file)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/d_model/) }));
  });

  test('a run folder without nar.json, a corrupt checkpoint and an oversized split are clear errors', async () => {
    await expect(loadNarRanker(tmp)).rejects.toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND', message: expect.stringMatching(/nar\.json is missing/) }));
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(tmp, 'full', 'nar.json'), path.join(broken, 'nar.json'));
    fs.writeFileSync(path.join(broken, 'ckp_best.pt'), 'not a checkpoint');
    await expect(loadNarRanker(broken)).rejects.toThrow(expect.objectContaining({ code: 'FILE_CORRUPT' }));
    const good = fs.readFileSync(path.join(tmp, 'full', 'ckp_best.pt'));
    fs.writeFileSync(path.join(broken, 'ckp_best.pt'), good.subarray(0, good.length >> 1));
    await expect(loadNarRanker(broken)).rejects.toThrow(expect.objectContaining({ code: 'FILE_CORRUPT' }));
    await expect(trainNarRanker(tinyConfig({ train_size: 700, val_size: 200 }), { dataset })).rejects.toThrow(/exceed the 800 architectures/);
    await expect(trainNarRanker(tinyConfig(), { records: [{ arch: '|bogus|', accuracy: 1 }] })).rejects.toThrow(/records\[0\]\.arch/);
  });
});
