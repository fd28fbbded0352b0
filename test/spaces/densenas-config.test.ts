import * as fs from 'node:fs';
import { DENSENAS_BASE_CONFIG, DenseNasConfig, parseDenseNasConfig } from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { configPath, loadConfig, tinyYaml } from '../helpers/densenas';

/** The original MBV2 YAML with `edit` applied to its text (each edit must change it). */
const mbv2Text = (edit: (text: string) => string = (t) => t): string => {
  const text = fs.readFileSync(configPath('mbv2-imagenet'), 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error('test edit did not apply');
  return edited;
};
const invalid = (text: string, message: RegExp): void => expectInvalid(() => parseDenseNasConfig(text, 'x.yaml'), message, 'CONFIG_INVALID');

describe('shipped configs (densenas.md §1.1–§1.2)', () => {
  test('MBV2: YAML values, inherited base keys (cosine floor 1e-5), tuple string input_size', () => {
    const c = loadConfig('mbv2-imagenet');
    expect(c.net_type).toBe('mbv2');
    expect(c.train_params).toEqual({ epochs: 150, use_seed: true, seed: 2 });
    expect(c.search_params.arch_update_epoch).toBe(50);
    expect(c.search_params.val_start_epoch).toBe(120);
    expect(c.search_params.softmax_temp).toBe(1);
    expect(c.search_params.PRIMITIVES_stack).toEqual(['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3', 'mbconv_k5_t6', 'mbconv_k7_t3', 'mbconv_k7_t6', 'skip_connect']);
    expect(c.search_params.PRIMITIVES_head).toHaveLength(6);
    expect(c.search_params.adjoin_connect_nums).toEqual([4, 4, 4, 4, 4, 4, 4]);
    expect(c.optim.sub_obj).toEqual({ type: 'latency', skip_reg: false, log_base: 15, sub_loss_factor: 0.15, latency_list_path: 'lat_list_densenas_mbv2_xp32' });
    expect(c.optim.resume.load_epoch).toBe(49);
    expect(c.optim.weight).toEqual({ init_lr: 0.2, min_lr: 1e-4, lr_decay_type: 'cosine', momentum: 0.9, weight_decay: 4e-5 });
    expect(c.data.batch_size).toBe(352);
    expect(c.data.input_size).toEqual([3, 224, 224]);
    // Inherited from imagenet_train_cfg.py, never named in the YAML:
    expect(c.optim.min_lr).toBe(1e-5);
    expect(c.optim.init_lr).toBe(0.5);
    expect(c.optim.lr_schedule).toBe('cosine');
    expect(c.optim.use_warm_up).toBe(false);
    expect(c.optim.cosine.use_restart).toBe(false);
    expect(c.optim.init_mode).toBe('he_fout');
    expect(c.data.mean).toEqual([0.485, 0.456, 0.406]);
    expect(c.data.patch_dataset).toBe(false);
    // torchnas keys at their defaults: the original super net's 100 classes and stride-2 stem.
    expect(c.num_classes).toBe(100);
    expect(c.stem_stride).toBe(2);
  });

  test('ResNet: its own values; head_dim inherited from search_config.py', () => {
    const c = loadConfig('res-imagenet');
    expect(c.net_type).toBe('res');
    expect(c.train_params.epochs).toBe(70);
    expect(c.search_params.arch_update_epoch).toBe(10);
    expect(c.search_params.val_start_epoch).toBe(50);
    expect(c.search_params.softmax_temp).toBe(0.9);
    expect(c.search_params.PRIMITIVES_stack).toEqual(['basic_block', 'skip_connect']);
    expect(c.search_params.PRIMITIVES_head).toEqual(['basic_block']);
    expect(c.search_params.adjoin_connect_nums).toEqual(new Array(7).fill(10));
    expect(c.search_params.net_scale.num_layers).toEqual([0, 0, 0, 0, 5, 5, 5, 15, 15, 15, 15, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1]);
    expect(c.optim.sub_obj).toEqual({ type: 'flops', skip_reg: true, log_base: 3500, sub_loss_factor: 0.2, latency_list_path: '' });
    expect(c.optim.init_dim).toBe(32);
    expect(c.optim.last_dim).toBe(512);
    expect(c.optim.head_dim).toBe(16);
    expect(c.optim.resume.load_epoch).toBe(9);
    expect(c.data.batch_size).toBe(512);
    expect(c.optim.min_lr).toBe(1e-5);
  });

  test('mbv2-small32 is the original MBV2 config with exactly the §8.1 changes (+ 10 classes)', () => {
    const original = loadConfig('mbv2-imagenet');
    const small = loadConfig('mbv2-small32');
    const expected: DenseNasConfig = structuredClone(original);
    expected.data.input_size = [3, 32, 32];
    expected.data.batch_size = 32;
    expected.data.num_workers = 0;
    expected.search_params.net_scale.fm_sizes = [16, 16, 8, 8, 8, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2];
    expected.optim.sub_obj.latency_list_path = 'lat_list_small32_cpu';
    expected.num_classes = 10;
    expect(small).toEqual(expected);
  });

  test('mbv2-fmnist28: 1×28×28, 10 classes, one-channel mean/std, nominal fm sizes as small32', () => {
    const small = loadConfig('mbv2-small32');
    const c = loadConfig('mbv2-fmnist28');
    expect(c.data.input_size).toEqual([1, 28, 28]);
    expect(c.num_classes).toBe(10);
    expect(c.data.mean).toEqual([0.286]);
    expect(c.data.std).toEqual([0.353]);
    expect(c.search_params.net_scale).toEqual(small.search_params.net_scale);
  });

  test('the base config is frozen and has the original defaults the YAMLs override', () => {
    expect(Object.isFrozen(DENSENAS_BASE_CONFIG.optim)).toBe(true);
    expect(DENSENAS_BASE_CONFIG.search_params.arch_update_epoch).toBe(10);
    expect(DENSENAS_BASE_CONFIG.optim.weight.init_lr).toBe(0.1);
    expect(DENSENAS_BASE_CONFIG.optim.sub_obj.sub_loss_factor).toBe(0.1);
    expect(DENSENAS_BASE_CONFIG.search_params.net_scale.chs).toEqual([]);
  });
});

describe('strict merge (§1.1)', () => {
  test('unknown keys are refused with their full path', () => {
    invalid(mbv2Text((t) => t.replace('    softmax_temp: 1.\n', '    softmax_temp: 1.\n    gumbel_noise: True\n')), /^x\.yaml: unknown config key 'search_params\.gumbel_noise'/);
    invalid(mbv2Text((t) => t.replace('net_type: mbv2\n', 'net_type: mbv2\nnum_class: 10\n')), /unknown config key 'num_class'/);
    invalid(mbv2Text((t) => t.replace('        min_scale: 0.08', '        min_scale: 0.08\n        max_scale: 1.0')), /unknown config key 'data\.random_sized\.max_scale'/);
  });

  test('type mismatches are refused; strings are read as Python literals first', () => {
    invalid(mbv2Text((t) => t.replace('epochs: 150', 'epochs: many')), /type mismatch for config key 'train_params\.epochs': expected a number .* got string "many"/);
    invalid(mbv2Text((t) => t.replace('    net_scale:\n', '    net_scale: 4\n    net_scale_x:\n')), /type mismatch for config key 'search_params\.net_scale': expected a mapping/);
    invalid(mbv2Text((t) => t.replace('color: False', 'color: 0')), /'data\.color': expected a boolean/);
    invalid(mbv2Text((t) => t.replace('input_size: (3,224,224)', 'input_size: 224')), /'data\.input_size': expected a list/);
    // '150' is the literal 150 (as the original's literal_eval), '(3, 64, 64)' a tuple, True a bool.
    const c = parseDenseNasConfig(mbv2Text((t) => t.replace('epochs: 150', "epochs: '150'").replace('(3,224,224)', "'(3, 64, 64)'").replace('color: False', "color: 'True'")), 'x.yaml');
    expect(c.train_params.epochs).toBe(150);
    expect(c.data.input_size).toEqual([3, 64, 64]);
    expect(c.data.color).toBe(true);
    // Element types are checked after the merge: every failure is a CONFIG_INVALID naming the path.
    invalid(mbv2Text((t) => t.replace('epochs: 150', 'epochs: 1.5')), /^x\.yaml: invalid config: train_params\.epochs: Expected integer/);
    invalid(mbv2Text((t) => t.replace('chs: [16, 24,', "chs: [16, 'a',")), /search_params\.net_scale\.chs\.1: Expected number/);
    invalid(mbv2Text((t) => t.replace('sample_policy: prob', 'sample_policy: gumbel')), /search_params\.sample_policy: Invalid enum value/);
  });

  test('the YAML must be a mapping', () => {
    invalid('- 1\n- 2\n', /x\.yaml: a DenseNAS config must be a YAML mapping, got list/);
  });
});

describe('net_scale validation (§1.2 coupled lengths, issue #24)', () => {
  const edit = (from: string, to: string) => mbv2Text((t) => t.replace(from, to));
  test('list lengths name the key and the expected length', () => {
    invalid(edit('fm_sizes: [112, 56,', 'fm_sizes: [56,'), /x\.yaml: search_params\.net_scale\.fm_sizes: expected 17 entries \(one per block 0\.\.16, as search_params\.net_scale\.chs\), got 16/);
    invalid(edit('num_layers: [0, 3,', 'num_layers: [3,'), /search_params\.net_scale\.num_layers: expected 17 entries .* got 16/);
    invalid(edit('stage: [0, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7]', 'stage: [0, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]'), /search_params\.net_scale\.stage: expected 18 entries \(len\(chs\)\+1.*got 17/);
    invalid(edit('adjoin_connect_nums: [4, 4, 4, 4, 4, 4, 4]', 'adjoin_connect_nums: [4, 4, 4]'), /search_params\.adjoin_connect_nums: expected at least 7 entries \(indexed by the stage id of a source block; the largest is 6\), got 3/);
    invalid(edit('chs: [16, 24', 'chs: [24'), /search_params\.net_scale\.fm_sizes: expected 16 entries/);
  });

  test('init_dim (and MBV2 head_dim) must equal chs[0]', () => {
    invalid(edit('init_dim: 16', 'init_dim: 32'), /optim\.init_dim: must equal search_params\.net_scale\.chs\[0\] = 16, got 32/);
    invalid(edit('head_dim: 16', 'head_dim: 24'), /optim\.head_dim: must equal search_params\.net_scale\.chs\[0\] = 16/);
  });

  test('fm ratios other than 1 and 2 cut the scan; a block left without successors is refused', () => {
    // Block 5 at 7 instead of 14: blocks 2–4 (28) cannot reach it (ratio 4), block 4 has no successor.
    invalid(edit('fm_sizes: [112, 56, 28, 28, 28, 14,', 'fm_sizes: [112, 56, 28, 28, 28, 7,'), /x\.yaml: block 4 has no successor: block 5 fails the scan \(stage 2→3, fm 28→7, adjoin_connect_nums\[2\] = 4\)/);
  });

  test('conv1_1 inputs must share its size; skip_connect cannot be a head op across stride-2 edges', () => {
    const tiny = tinyYaml().replace('fm_sizes: [8, 8, 4, 4]', 'fm_sizes: [8, 8, 4]').replace('chs: [8, 12, 16, 20]', 'chs: [8, 12, 16]');
    const text = tiny.replace('stage: [0, 1, 1, 2, 2]', 'stage: [0, 1, 1, 2]').replace('num_layers: [0, 1, 2, 1]', 'num_layers: [0, 1, 2]').replace('adjoin_connect_nums: [3, 2, 3]', 'adjoin_connect_nums: [2, 2]');
    invalid(text, /the conv1_1 block's inputs must all have its size .* block 1 is twice as large/);
    invalid(tinyYaml().replace("PRIMITIVES_head: ['mbconv_k3_t3', 'mbconv_k5_t6']", "PRIMITIVES_head: ['mbconv_k3_t3', 'skip_connect']"), /search_params\.PRIMITIVES_head: 'skip_connect' ignores its stride/);
  });

  test('ops must be known; bottle_neck is refused by name', () => {
    invalid(edit("PRIMITIVES_head: ['mbconv_k3_t3',", "PRIMITIVES_head: ['mbconv_k9_t3',"), /search_params\.PRIMITIVES_head\[0\]: unknown op 'mbconv_k9_t3'/);
    invalid(edit("'skip_connect',]", "'bottle_neck',]"), /search_params\.PRIMITIVES_stack\[6\]: 'bottle_neck' is not supported by torchnas/);
  });

  test('input size is square, channels match mean/std, num_classes ≥ 1', () => {
    invalid(edit('input_size: (3,224,224)', 'input_size: (3,224,112)'), /data\.input_size: DenseNAS spaces take square inputs, got H=224, W=112/);
    invalid(edit('input_size: (3,224,224)', 'input_size: (1,224,224)'), /data\.mean: expected one entry per input channel \(data\.input_size has 1\), got 3/);
    invalid(edit('net_type: mbv2', 'net_type: mbv2\nnum_classes: 0'), /num_classes: Number must be greater than or equal to 1/);
  });
});
