import * as torchnas from '../../src';

test('the package entry exposes the NAR data functions, encodings and buckets', () => {
  for (const name of ['buildNb201CellDataset', 'regenerateNb201CellDataset', 'writeNb201CellDataset', 'serializeNb201CellDataset', 'nb201CellInfoRecord', 'readNb201CellInfo', 'streamNb201CellInfo', 'rankNb201CellInfo', 'readNb101CellInfo', 'streamNb101CellInfo', 'streamJsonElements'] as const) {
    expect([name, typeof torchnas[name]]).toEqual([name, 'function']);
  }
  expect(torchnas.nar.nb201EdgesTypeCounts('|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|')).toEqual([0, 3, 2, 0, 1]);
  expect(torchnas.nar.NB101_FEATURE_SHAPE).toEqual([19, 7, 7]);
  expect(torchnas.nb101.NB101_CELL_KEYS).toHaveLength(9);
  expect(torchnas.nb201.nb201FvcoreCost([0, 0, 0, 0, 0, 0]).totalFlops).toBe(7877248);
  expect(new torchnas.TierBuckets({ patches: 31, modelDim: 128 }).stacked()).toHaveLength(5 * 31 * 128);
});
