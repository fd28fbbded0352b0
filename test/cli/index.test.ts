import * as torchnas from '../../src';

test('the package entry exposes each system and the shared core', () => {
  for (const name of ['tensor', 'info', 'trainDemo', 'trainNcpPredictor', 'propagateNcp', 'runTenasSearch', 'runTenasCorrelate', 'runTenasScore', 'searchDarts', 'scoreArchitecture', 'loadNasBenchMrTable', 'parsePickle', 'kendallTau', 'resolveTablePath', 'fetchTable', 'listTables', 'verifyTables', 'openNb201Table', 'buildLut', 'checkLut', 'showLut'] as const) {
    expect(typeof torchnas[name]).toBe('function');
  }
  expect(torchnas.nb201.formatNb201String([1, 2, 3, 4, 0, 1])).toBe('|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|skip_connect~2|');
  expect(torchnas.info().libtorch).toMatch(/^\d+\.\d+/);
  // the raw bindings are internal (src/native.ts, src/methods/ncp/binding.ts), not part of the API
  expect(Object.keys(torchnas)).not.toContain('native');
  expect(Object.keys(torchnas)).not.toContain('ncpNative');
});
