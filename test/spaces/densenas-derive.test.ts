import { Random } from '../../src/core/random';
import {
  DenseArchParameters,
  DenseSpace,
  archParameterShapes,
  countDerivedNet,
  deriveArchitecture,
  flattenArchParameters,
  formatNetConfig,
  parseNetConfig,
  softmax,
  unflattenArchParameters,
} from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { loadSpace, tinySpace } from '../helpers/densenas';

/** Architecture parameters of `space` filled by `value(group, index)`. */
function fill(space: DenseSpace, value: () => number): DenseArchParameters {
  const s = archParameterShapes(space);
  const matrix = ([r, c]: [number, number]) => Array.from({ length: r }, () => Array.from({ length: c }, value));
  return { betas: s.betas.map((n) => Array.from({ length: n }, value)), alphaHead: s.alphaHead.map(matrix), alphaStack: s.alphaStack.map(matrix) };
}

describe('derivation (densenas.md §4.4)', () => {
  test('hand-made case in the tiny space: Viterbi path 0→2→3→4 (p = 0.6), argmax ops, skip layers dropped', () => {
    const space = tinySpace();
    const arch: DenseArchParameters = {
      // P0 = [0.25, 0.75], P1 = [0.5, 0.5], P2 = [0.8, 0.2], P3 = [1]:
      // p(2) = max(0.25·0.5, 0.75) from 0; p(3) = max(0.75·0.8, 0.25·0.5) from 2; p(4) = max(0.6·1, 0.75·0.2) from 3.
      betas: [[0, Math.log(3)], [0, 0], [Math.log(4), 0], [0]],
      alphaHead: [
        [[0, 1]],
        [
          [1, 0], // block 2 from block 1: not on the path
          [0, 1], // block 2 from block 0 → mbconv_k5_t6
        ],
        [
          [0.5, 0.1], // block 3 from block 2 → mbconv_k3_t3
          [0, 5],
        ],
      ],
      alphaStack: [
        [[0, 1]],
        [
          [0, 2], // skip_connect: dropped
          [3, 1], // mbconv_k3_t3
        ],
        [[0, 1]], // skip_connect: dropped
      ],
    };
    const d = deriveArchitecture(space, arch);
    expect(d.path).toEqual([0, 2, 3, 4]);
    expect(d.pathProbability).toBeCloseTo(0.6, 14);
    expect(formatNetConfig(d.netConfig)).toBe(
      "[[8, 8], 'mbconv_k3_t1', [], 0, 1]|\n[[8, 16], 'mbconv_k5_t6', ['mbconv_k3_t3'], 1, 2]|\n[[16, 20], 'mbconv_k3_t3', [], 0, 1]|\n[[20, 32], 'conv1_1']\nnet_type: mbv2\n",
    );
    // ResNet rules: no head_block entry, no conv1_1 entry (the classifier sits on block 3's 20 channels).
    const res = deriveArchitecture(tinySpace('res'), arch);
    expect(formatNetConfig(res.netConfig)).toBe("[[8, 16], 'mbconv_k5_t6', ['mbconv_k3_t3'], 1, 2]|\n[[16, 20], 'mbconv_k3_t3', [], 0, 1]\nnet_type: res\n");
  });

  test('ties: strict ">" keeps the nearest predecessor; the first op wins an op tie (skip kept out only when chosen)', () => {
    const space = tinySpace();
    // All zeros: p(3) = 0.25 from block 2 or block 1, p(4) = 0.25 from block 3 or block 2: nearest wins both.
    const d = deriveArchitecture(space, fill(space, () => 0));
    expect(d.path).toEqual([0, 2, 3, 4]);
    expect(d.pathProbability).toBe(0.25);
    expect(d.netConfig.entries.slice(1, 3)).toEqual([
      { kind: 'block', inChannels: 8, outChannels: 16, headOp: 'mbconv_k3_t3', stackOps: ['mbconv_k3_t3', 'mbconv_k3_t3'], stride: 2 },
      { kind: 'block', inChannels: 16, outChannels: 20, headOp: 'mbconv_k3_t3', stackOps: ['mbconv_k3_t3'], stride: 1 },
    ]);
    // Equal non-zero betas tie the same way (exact products).
    const same = fill(space, () => 0.7);
    expect(deriveArchitecture(space, same).path).toEqual([0, 2, 3, 4]);
    // Nudging block 1's edge to 3 above its edge to 2 breaks the tie at block 3 towards block 1.
    same.betas[1] = [0.7, 0.7 + 1e-9];
    expect(deriveArchitecture(space, same).path).toEqual([0, 1, 3, 4]);
  });

  test('MBV2 space, random parameters: the Viterbi path is the most probable of all 15,456 paths', () => {
    const space = loadSpace('mbv2-imagenet');
    const rng = new Random(7);
    const arch = fill(space, () => rng.normal());
    const d = deriveArchitecture(space, arch);
    const P = arch.betas.map((b) => softmax(b));
    let best = { p: -1, path: [] as number[] };
    let count = 0;
    const walk = (i: number, p: number, path: number[]): void => {
      if (i === space.blocks.length - 1) {
        count++;
        if (p > best.p) best = { p, path };
        return;
      }
      space.blocks[i].successors.forEach((j, pos) => walk(j, p * P[i][pos], [...path, j]));
    };
    walk(0, 1, [0]);
    expect(count).toBe(15456);
    expect(d.path).toEqual(best.path);
    expect(d.pathProbability).toBeCloseTo(best.p, 15);
    // A valid, countable net: widths follow the path, strides are the edges', skip layers gone.
    const entries = d.netConfig.entries;
    expect(entries[0]).toEqual({ kind: 'block', inChannels: 16, outChannels: 16, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 });
    expect(entries[entries.length - 1]).toEqual({ kind: 'conv1_1', inChannels: space.blocks[d.path[d.path.length - 2]].channels, outChannels: 1984 });
    d.path.slice(1, -1).forEach((b, k) => {
      const e = entries[k + 1];
      expect(e.kind === 'block' && e.stride).toBe(space.blocks[b].predecessors.find((p) => p.from === d.path[k])!.stride);
      expect(e.kind === 'block' && e.stackOps.includes('skip_connect')).toBe(false);
    });
    expect(parseNetConfig(formatNetConfig(d.netConfig))).toEqual(d.netConfig);
    expect(countDerivedNet(d.netConfig).madds).toBeGreaterThan(0);
  });

  test('shapes are checked; flat layout round trip (arch_parameters order)', () => {
    const space = tinySpace();
    const arch = fill(space, (() => {
      let k = 0;
      return () => k++;
    })());
    const flat = flattenArchParameters(space, arch);
    expect(Array.from(flat)).toEqual(Array.from({ length: 25 }, (_, k) => k));
    expect(unflattenArchParameters(space, flat)).toEqual(arch);
    expectInvalid(() => unflattenArchParameters(space, new Float64Array(24)), 'expected 25 architecture parameters for this space, got 24', 'INVALID_ARGUMENT');
    const bad = fill(space, () => 0);
    bad.alphaHead[1][1] = [0];
    expectInvalid(() => deriveArchitecture(space, bad), 'alphaHead[1][1]: expected 2 values, got 1', 'INVALID_ARGUMENT');
    bad.alphaHead[1][1] = [0, NaN];
    expectInvalid(() => deriveArchitecture(space, bad), 'alphaHead[1][1][1]: expected a finite number, got NaN', 'INVALID_ARGUMENT');
    const short = fill(space, () => 0);
    short.betas.pop();
    expectInvalid(() => deriveArchitecture(space, short), 'betas: expected 4 entries (blocks 0..N−1), got 3', 'INVALID_ARGUMENT');
  });
});
