import { archParameterCounts, archParameterShapes, buildDenseSpace, countBranches, countPaths, parseDenseNasConfig } from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { loadConfig, loadSpace, tinySpace, tinyYaml } from '../helpers/densenas';

/** densenas.md §1.3, MBV2 space: block → [width, successors, strides] (17 = conv1_1, 1984). */
const MBV2_TABLE: [number, number[], number[]][] = [
  [16, [1], [2]],
  [24, [2, 3, 4], [2, 2, 2]],
  [32, [3, 4, 5, 6], [1, 1, 2, 2]],
  [40, [4, 5, 6, 7], [1, 2, 2, 2]],
  [48, [5, 6, 7], [2, 2, 2]],
  [56, [6, 7, 8, 9], [1, 1, 1, 1]],
  [64, [7, 8, 9, 10], [1, 1, 1, 1]],
  [72, [8, 9, 10], [1, 1, 1]],
  [96, [9, 10, 11, 12], [1, 1, 2, 2]],
  [112, [10, 11, 12, 13], [1, 2, 2, 2]],
  [128, [11, 12, 13], [2, 2, 2]],
  [160, [12, 13, 14, 15], [1, 1, 1, 1]],
  [176, [13, 14, 15, 16], [1, 1, 1, 1]],
  [192, [14, 15, 16], [1, 1, 1]],
  [320, [15, 16, 17], [1, 1, 1]],
  [352, [16, 17], [1, 1]],
  [384, [17], [1]],
];

/** densenas.md §1.3, ResNet space successors (strides 2 exactly where fm halves). */
const RES_SUCCESSORS: [number, number[]][] = [
  [32, [1, 2, 3]],
  [48, [2, 3, 4, 5, 6]],
  [56, [3, 4, 5, 6]],
  [64, [4, 5, 6]],
  [72, [5, 6, 7, 8, 9, 10]],
  [96, [6, 7, 8, 9, 10]],
  [112, [7, 8, 9, 10]],
  [128, [8, 9, 10, 11, 12, 13]],
  [144, [9, 10, 11, 12, 13]],
  [160, [10, 11, 12, 13]],
  [176, [11, 12, 13]],
  [192, [12, 13, 14, 15, 16, 17]],
  [208, [13, 14, 15, 16, 17]],
  [224, [14, 15, 16, 17]],
  [240, [15, 16, 17, 18, 19, 20]],
  [256, [16, 17, 18, 19, 20]],
  [272, [17, 18, 19, 20]],
  [288, [18, 19, 20]],
  [480, [19, 20, 21]],
  [496, [20, 21]],
  [512, [21]],
];
const RES_FM = [112, 56, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7, 7, 7, 7, 7];

describe('MBV2 space (densenas.md §1.3)', () => {
  const space = loadSpace('mbv2-imagenet');

  test('every successor list, stride and width', () => {
    expect(space.blocks).toHaveLength(18);
    MBV2_TABLE.forEach(([width, succ, strides], i) => {
      expect(space.blocks[i].channels).toBe(width);
      expect(space.blocks[i].successors).toEqual(succ);
      expect(space.blocks[i].successors.map((j) => space.blocks[j].predecessors.find((p) => p.from === i)!.stride)).toEqual(strides);
    });
    expect(space.blocks[17]).toMatchObject({ index: 17, channels: 1984, successors: [], numLayers: 0, stage: 7 });
  });

  test('predecessors are nearest first; counts 1,1,2,3,3,4,4,3,4,4,3,4,4,3,4,4,3', () => {
    expect(space.blocks.slice(1).map((b) => b.predecessors.length)).toEqual([1, 1, 2, 3, 3, 4, 4, 3, 4, 4, 3, 4, 4, 3, 4, 4, 3]);
    expect(space.blocks[0].predecessors).toEqual([]);
    expect(space.blocks[5].predecessors).toEqual([
      { from: 4, stride: 2 },
      { from: 3, stride: 2 },
      { from: 2, stride: 2 },
    ]);
    expect(space.blocks[17].predecessors).toEqual([
      { from: 16, stride: 1 },
      { from: 15, stride: 1 },
      { from: 14, stride: 1 },
    ]);
    for (const b of space.blocks) {
      const from = b.predecessors.map((p) => p.from);
      expect(from).toEqual([...from].sort((x, y) => y - x));
    }
  });

  test('architecture parameters 633 = 54 + 306 + 273; beta lengths; 51 + 3 branches; 15,456 paths', () => {
    expect(archParameterCounts(space)).toEqual({ betas: 54, alphaHead: 306, alphaStack: 273, total: 633 });
    const shapes = archParameterShapes(space);
    expect(shapes.betas).toEqual([1, 3, 4, 4, 3, 4, 4, 3, 4, 4, 3, 4, 4, 3, 3, 2, 1]);
    expect(shapes.alphaStack.slice(12)).toEqual([
      [3, 7],
      [0, 7],
      [0, 7],
      [0, 7],
    ]);
    expect(countBranches(space)).toEqual({ head: 51, conv1x1: 3, stackLayers: 39 });
    expect(countPaths(space)).toBe(15456);
  });

  test('fixed parts: widths, BN settings, op lists, actual sizes at 224', () => {
    expect(space).toMatchObject({ netType: 'mbv2', inChannels: 3, inputSize: 224, numClasses: 100, stemStride: 2, initDim: 16, headDim: 16, lastDim: 1984 });
    expect(space.bn).toEqual({ momentum: 0.1, eps: 0.001 });
    expect(space.headOps).toEqual(['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3', 'mbconv_k5_t6', 'mbconv_k7_t3', 'mbconv_k7_t6']);
    expect(space.stackOps[6]).toBe('skip_connect');
    expect(space.blocks.map((b) => b.fmSize)).toEqual([112, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7, 7, 7, 7]);
    expect(space.blocks.map((b) => b.numLayers)).toEqual([0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0]);
    // stage is a connectivity group, not a resolution: groups 3 and 4 are both 14×14.
    expect([5, 6, 7, 8, 9, 10].map((i) => [space.blocks[i].stage, space.blocks[i].fmSize])).toEqual([
      [3, 14],
      [3, 14],
      [3, 14],
      [4, 14],
      [4, 14],
      [4, 14],
    ]);
  });
});

describe('ResNet space (densenas.md §1.3)', () => {
  const space = loadSpace('res-imagenet');

  test('successor lists; stride 2 exactly where fm halves; 397 = 87 + 84 + 226; 540,225 paths', () => {
    expect(space.blocks).toHaveLength(22);
    RES_SUCCESSORS.forEach(([width, succ], i) => {
      expect(space.blocks[i].channels).toBe(width);
      expect(space.blocks[i].successors).toEqual(succ);
      for (const j of succ) expect(space.blocks[j].predecessors.find((p) => p.from === i)!.stride).toBe(RES_FM[i] / RES_FM[j]);
    });
    expect(archParameterCounts(space)).toEqual({ betas: 87, alphaHead: 84, alphaStack: 226, total: 397 });
    expect(countPaths(space)).toBe(540225);
    expect(space.bn).toBeNull();
    expect(space.blocks.map((b) => b.fmSize)).toEqual(RES_FM);
    expect(space.lastDim).toBe(512);
  });
});

describe('small inputs ("Beyond the original" item 2, §8.1)', () => {
  test('mbv2-small32: same connectivity as MBV2 except the stride of edge 0→1; sizes 16,16,8,…,2', () => {
    const big = loadSpace('mbv2-imagenet');
    const small = loadSpace('mbv2-small32');
    expect(small.blocks.map((b) => b.fmSize)).toEqual([16, 16, 8, 8, 8, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2]);
    expect(small.blocks.map((b) => b.successors)).toEqual(big.blocks.map((b) => b.successors));
    const strides = (s: typeof big) => s.blocks.map((b) => b.predecessors.map((p) => p.stride));
    const expected = strides(big);
    expected[1] = [1];
    expect(strides(small)).toEqual(expected);
    expect(archParameterCounts(small).total).toBe(633);
    expect(small.numClasses).toBe(10);
  });

  test('mbv2-fmnist28: one channel, odd sizes round up 28 → 14 → 7 → 4 → 2', () => {
    const s = loadSpace('mbv2-fmnist28');
    expect(s.inChannels).toBe(1);
    expect(s.inputSize).toBe(28);
    expect(s.blocks.map((b) => b.fmSize)).toEqual([14, 14, 7, 7, 7, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2]);
  });

  test('configs built in code are type-checked like loaded ones', () => {
    const c = loadConfig('mbv2-small32');
    (c.search_params.net_scale as { chs: unknown }).chs = 'wide';
    expectInvalid(() => buildDenseSpace(c), 'DenseNAS config: invalid config: search_params.net_scale.chs: Expected array, received string', 'CONFIG_INVALID');
  });

  test('stem_stride is a config key: stride 1 keeps 32×32 at block 0', () => {
    const c = loadConfig('mbv2-small32');
    c.stem_stride = 1;
    expect(buildDenseSpace(c).blocks.map((b) => b.fmSize)).toEqual([32, 32, 16, 16, 16, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4]);
  });

  test('the tiny test space: five paths, shapes from the rules', () => {
    const s = tinySpace();
    expect(s.blocks.map((b) => b.successors)).toEqual([[1, 2], [2, 3], [3, 4], [4], []]);
    expect(s.blocks.map((b) => b.predecessors)).toEqual([
      [],
      [{ from: 0, stride: 1 }],
      [
        { from: 1, stride: 2 },
        { from: 0, stride: 2 },
      ],
      [
        { from: 2, stride: 1 },
        { from: 1, stride: 2 },
      ],
      [
        { from: 3, stride: 1 },
        { from: 2, stride: 1 },
      ],
    ]);
    expect(countPaths(s)).toBe(5);
    expect(archParameterCounts(s)).toEqual({ betas: 7, alphaHead: 10, alphaStack: 8, total: 25 });
    expect(s.blocks.map((b) => b.fmSize)).toEqual([8, 8, 4, 4, 4]);
    // adjoin_connect_nums caps the scan: block 0 may reach only 1 block with adjoin [1, ...].
    const capped = buildDenseSpace(parseDenseNasConfig(tinyYaml().replace('adjoin_connect_nums: [3, 2, 3]', 'adjoin_connect_nums: [1, 2, 3]'), 'tiny'));
    expect(capped.blocks[0].successors).toEqual([1]);
    expect(countPaths(capped)).toBe(3);
  });
});
