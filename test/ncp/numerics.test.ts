// The pieces of NCP's training that must match the original exactly: numpy's split (ncp.md §5.1), numpy's
// float32 normalisation statistics, the one-cycle schedule (§5.3), the config schema and its defaults.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isTorchnasError } from '../../src/core/errors';
import { MT19937, trainTestSplit } from '../../src/core/numpy-random';
import { loadNasBenchMrTable } from '../../src/benchmarks/nasbench-mr';
import { native } from '../../src/native';
import { loadNcpConfig, ncpConfigSchema } from '../../src/methods/ncp/config';
import { buildPredictorDataset } from '../../src/methods/ncp/dataset';
import { codeBounds, configObjectives } from '../../src/methods/ncp/propagate';
import { predictorOptions, trainOptions } from '../../src/methods/ncp/predictor';
import { PACKAGE_ROOT } from '../../src/native';
import { bundledFile } from '../helpers/bundled';

const CONFIGS = path.join(PACKAGE_ROOT, 'configs', 'ncp');

describe('numpy legacy RNG and the 80/20 split (§5.1)', () => {
  test('MT19937 seeded by init_genrand gives the reference stream', () => {
    // First outputs of the reference mt19937ar.c for init_genrand(5489) (its default seed).
    const mt = new MT19937(5489);
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
  });

  test('seed 233 reproduces sklearn train_test_split(test_size=0.2) on 2507 records', () => {
    const { train, test } = trainTestSplit(2507, 0.2, 233);
    expect(test.length).toBe(502);
    expect(train.length).toBe(2005);
    expect(Array.from(test.subarray(0, 4))).toEqual([979, 71, 675, 1085]);
    expect(Array.from(train.subarray(0, 3))).toEqual([1133, 2381, 171]);
    expect(new Set([...train, ...test]).size).toBe(2507);
  });
});

describe('predictor data (§5.1)', () => {
  test('normalisation statistics are numpy float32 mean and population std, bit for bit', async () => {
    const table = await loadNasBenchMrTable(bundledFile('seg'));
    const data = buildPredictorDataset(table, [['mIoU'], ['mAcc', 'aAcc'], ['flops', 'params']], 233);
    // np.array(...).astype(np.float32).mean(0) / .std(0) with numpy 1.24 on seg.pkl.
    expect(Array.from(data.inputMean.subarray(0, 3))).toEqual([35.71440124511719, 35.78779602050781, 2.107299566268921]);
    expect(Array.from(data.inputStd.subarray(0, 3))).toEqual([18.642051696777344, 18.823198318481445, 1.0617332458496094]);
    expect(Array.from(data.outputMean)).toEqual([72.5854263305664, 81.07106018066406, 95.47664642333984, 3.4288690090179443, 7.202435493469238]);
    expect(Array.from(data.outputStd)).toEqual([5.329402923583984, 4.9579010009765625, 0.761508047580719, 2.4672248363494873, 4.751684665679932]);
    // (x - mean) / std in float32, record 5.
    expect(Array.from(data.normalizedInputs.subarray(5 * 27, 5 * 27 + 3))).toEqual([-1.0575231313705444, -1.0512452125549316, -1.0429168939590454]);
    expect(data.metrics).toEqual(['mIoU', 'mAcc', 'aAcc', 'flops', 'params']);
    expect(data.groups).toEqual([1, 2, 2]);
  });

  test('an unknown metric is a config error naming the table keys', async () => {
    const table = await loadNasBenchMrTable('cls-10c');
    expect(() => buildPredictorDataset(table, [['mIoU']], 233)).toThrow(/metric 'mIoU' is not in .*top1, top5, flops, params/);
  });
});

describe('one-cycle schedule (§5.3)', () => {
  test('lr and β1 used by optimiser steps 0, 479, 959, 2000, 3000, 3199', () => {
    const s = native().oneCycleSchedule(3200, { maxLr: 1e-2, pctStart: 0.3, divFactor: 10, baseMomentum: 0.85, maxMomentum: 0.95 });
    const check: [number, number, number][] = [
      [0, 1.0e-3, 0.95],
      [479, 5.492629e-3, 0.900082],
      [959, 1.0e-2, 0.85],
      [2000, 5.552898e-3, 0.894471],
      [3000, 1.935749e-4, 0.948065],
      [3199, 1.0e-7, 0.95],
    ];
    for (const [step, lr, beta1] of check) {
      expect(s.lr[step]).toBeCloseTo(lr, 9);
      expect(s.momentum[step]).toBeCloseTo(beta1, 6);
    }
  });
});

describe('NCP configs', () => {
  test.each(['seg', 'cls', 'video', '3ddet'])('configs/ncp/%s.yaml loads with the original values', (name) => {
    const c = loadNcpConfig(path.join(CONFIGS, `${name}.yaml`));
    expect(c.SEED).toBe(233);
    expect(c.optimization.epoch).toBe(200);
    expect(c.editing.iters).toBe(70);
    expect(c.editing.loss).toBe('l1');
    const opts = trainOptions(c);
    expect(opts).toMatchObject({ optimizer: 'adam', lr: 0.01, weightDecay: 1e-7, scheduler: 'onecycle', divFactor: 10, finalDivFactor: 1e4, loss: 'smoothl1' });
    expect(predictorOptions(c, 27, 233, 'cpu').headDropouts).toEqual(name === '3ddet' ? [0.5, 0] : [0.5, 0.5, 0]);
  });

  test('the original YAML (no comments, no keys of ours) is accepted unchanged', () => {
    // configs/seg.yaml of dingmyu/NCP with its keys and values (as released).
    const original = [
      'data:', '  dataset: seg', '  metrics: [[mIoU], [mAcc, aAcc], [flops, params]]', '', 'network:', '  input_dim: AUTO', '  shared_layer: 256',
      '  seperated_layer: 128', '  activation: swish  # [relu, relu6, tanh, swish]', '  layer1_drop_ratio: 0.5', '  layer2_drop_ratio: [0.5, 0.5, 0]', '',
      'optimization:', '  epoch: 200', '  batch_size: 128', '  criterion: smoothl1  # [mse, smoothl1, l1]', '', '  optimizer: adam  # [adam, sgd, adamw]',
      '  adam_param:', '    lr: 1.0e-2', '    weight_decay: 1.0e-7', '  sgd_param:', '    lr: 1.0e-2', '    weight_decay: 1.0e-7', '    momentum: 0.9',
      '    nesterov: False', '', '  scheduler: onecycle  # [exp, step, cosine, onecycle]', '  exp_scheduler:', '    gamma: 0.97', '  step_scheduler:',
      '    milestones: [30, 60, 90]', '    gamma: 0.1', '  onecycle_scheduler:', '    pct_start: 0.3', '    div_factor: 10', '    base_momentum: 0.85',
      '    max_momentum: 0.95', '  cosine_scheduler:', '    eta_min: 0', '', 'log_dir: output/', 'log_interval: 50', 'SEED: 233', 'CUDA_DEVICE: 0', '', '',
      'editing:', '  model_path: output/', '  iters: 70', '  lr: 3', '  per_step_increase: 0.1', '  use_flops: True', '  per_flops_decrease: 0.1',
      '  alpha: 0.5', '  max_value_alpha: 4', '  max_grad_decline: 0',
    ].join('\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ncp-config-'));
    const file = path.join(dir, 'seg.yaml');
    fs.writeFileSync(file, original);
    const c = loadNcpConfig(file);
    const ours = loadNcpConfig(path.join(CONFIGS, 'seg.yaml'));
    expect({ ...c, source: undefined }).toEqual({ ...ours, source: undefined });
    // The original editing keys become the main-metric-up / FLOPs-down pair (§5.4).
    expect(configObjectives(c, ['mIoU', 'mAcc', 'aAcc', 'flops', 'params'])).toEqual([
      { metric: 'mIoU', direction: 'up', step: 0.1, weight: 1, output: 0 },
      { metric: 'flops', direction: 'down', step: 0.1, weight: 0.5, output: 3 },
    ]);
  });

  test('schema errors name the key', () => {
    const base = { data: { dataset: 'seg', metrics: [['mIoU'], ['flops', 'params']] } };
    const parse = (v: unknown) => ncpConfigSchema.safeParse(v);
    expect(parse(base).success).toBe(true);
    const bad = parse({ ...base, network: { layer2_drop_ratio: [0.5, 0.5, 0] } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/one dropout per metric group \(2\), got 3/);
    expect(parse({ ...base, editing: { objectives: [{ metric: 'top1', direction: 'up' }] } }).success).toBe(false);
    expect(parse({ ...base, editing: { objectives: [{ metric: 'params', direction: 'target' }] } }).success).toBe(false);
    expect(parse({ ...base, optimizer: 'adam' }).success).toBe(false); // unknown top-level key
    expect(parse({ ...base, editing: { max_value_alpha: 8 } }).success).toBe(false);
    try {
      loadNcpConfig(path.join(os.tmpdir(), 'no-such-ncp-config.yaml'));
      throw new Error('expected a failure');
    } catch (e) {
      expect(isTorchnasError(e, 'FILE_NOT_FOUND')).toBe(true);
    }
  });

  test('bounds of §5.4: channels [8, 128] by 8, counts [1, 4]', () => {
    const b = codeBounds(4);
    expect(b.min.filter((v) => v === 8)).toHaveLength(13);
    expect(b.max.filter((v) => v === 128)).toHaveLength(13);
    expect(b.max.filter((v) => v === 4)).toHaveLength(14);
    expect([b.min[2], b.max[2], b.divisors[2], b.divisors[0]]).toEqual([1, 4, 1, 8]);
  });
});
