import * as path from 'node:path';
import { DenseNasConfig, DenseSpace, buildDenseSpace, loadDenseNasConfig, parseDenseNasConfig } from '../../src/spaces/densenas';

export const ROOT = path.resolve(__dirname, '..', '..');
export const configPath = (name: string): string => path.join(ROOT, 'configs', 'densenas', `${name}.yaml`);
export const loadConfig = (name: string): DenseNasConfig => loadDenseNasConfig(configPath(name));
export const loadSpace = (name: string): DenseSpace => buildDenseSpace(loadConfig(name));
/** The example LUT of densenas.md §8 (measured for this project), bundled gzipped under data/. */
export const SMALL32_LAT_LIST = path.join(ROOT, 'data', 'densenas', 'lat_list_small32_cpu.gz');

// The tiny space's search_params ops/scale and optim widths (the lines both YAMLs below share).
const TINY_SPACE = `    PRIMITIVES_head: ['mbconv_k3_t3', 'mbconv_k5_t6']
    PRIMITIVES_stack: ['mbconv_k3_t3', 'skip_connect']
    adjoin_connect_nums: [3, 2, 3]
    net_scale:
        chs: [8, 12, 16, 20]
        fm_sizes: [8, 8, 4, 4]
        stage: [0, 1, 1, 2, 2]
        num_layers: [0, 1, 2, 1]
optim:
    init_dim: 8
    head_dim: 8
    last_dim: 32
`;

/**
 * A tiny MBV2-type space: blocks 0..4 (N = 4), successors 0→[1,2], 1→[2,3], 2→[3,4], 3→[4], five paths.
 * Head ops k3_t3, k5_t6; stack ops k3_t3, skip; stack layers 1, 2, 1 for blocks 1..3.
 */
export function tinyYaml(netType: 'mbv2' | 'res' = 'mbv2'): string {
  return `net_type: ${netType}
num_classes: 5
search_params:
${TINY_SPACE}data:
    input_size: (3,16,16)
`;
}

/**
 * The tiny space above as a Fashion-MNIST search config (28×28×1, 10 classes, batch 16, FLOPs as the cost):
 * `epochs`, `seed`, first arch-step epoch and first validation epoch (0-based); `archLr` sets α and β's Adam lr.
 */
export function tinySearchYaml(o: { epochs: number; seed: number; archStart: number; valStart: number; archLr?: number }): string {
  return `net_type: mbv2
num_classes: 10
train_params:
    epochs: ${o.epochs}
    seed: ${o.seed}
search_params:
    arch_update_epoch: ${o.archStart}
    val_start_epoch: ${o.valStart}
${TINY_SPACE}    sub_obj:
        type: flops
        log_base: 50.
        sub_loss_factor: 0.2
${o.archLr !== undefined ? `    arch:\n        alpha_lr: ${o.archLr}\n        beta_lr: ${o.archLr}\n` : ''}data:
    batch_size: 16
    input_size: (1,28,28)
    mean: [0.286]
    std: [0.353]
`;
}

export const tinyConfig = (netType: 'mbv2' | 'res' = 'mbv2'): DenseNasConfig => parseDenseNasConfig(tinyYaml(netType), 'tiny.yaml');
export const tinySpace = (netType: 'mbv2' | 'res' = 'mbv2'): DenseSpace => buildDenseSpace(tinyConfig(netType));

/** densenas.md §4.4: the seed-2 untrained derivation (issue #18's epoch-6 log). */
export const ISSUE18_NET_CONFIG = `[[16, 16], 'mbconv_k3_t1', [], 0, 1]|
[[16, 24], 'mbconv_k3_t3', ['mbconv_k3_t3', 'mbconv_k7_t6'], 2, 2]|
[[24, 48], 'mbconv_k7_t6', ['mbconv_k7_t6'], 1, 2]|
[[48, 72], 'mbconv_k5_t6', ['mbconv_k5_t3', 'mbconv_k7_t6', 'mbconv_k7_t6'], 3, 2]|
[[72, 128], 'mbconv_k3_t6', ['mbconv_k7_t6', 'mbconv_k7_t3'], 2, 1]|
[[128, 192], 'mbconv_k7_t6', ['mbconv_k5_t3', 'mbconv_k7_t6', 'mbconv_k7_t6'], 3, 2]|
[[192, 384], 'mbconv_k5_t3', [], 0, 1]|
[[384, 1984], 'conv1_1']`;
