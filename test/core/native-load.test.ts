import * as path from 'node:path';
import { explainLoadFailure, PACKAGE_ROOT } from '../../src/native';

describe('addon load failures tell the user what to do', () => {
  const saved = process.env.TORCHNAS_ADDON;
  beforeEach(() => {
    delete process.env.TORCHNAS_ADDON; // the tests run with it set; node-gyp-build's own places are what a user has
  });
  afterAll(() => {
    process.env.TORCHNAS_ADDON = saved;
  });

  test('a missing LibTorch library: apt libtorch-dev on Debian/Ubuntu, else Torch_DIR and a rebuild', () => {
    const e = explainLoadFailure(new Error('libtorch_cpu.so: cannot open shared object file: No such file or directory'));
    expect(e.code).toBe('ADDON_LOAD_FAILED');
    expect(e.message).toMatch(/tried: .*build\/Release.*prebuilds\/linux-x64/);
    expect(e.message).toMatch(/On Debian\/Ubuntu: `sudo apt-get install libtorch-dev`/);
    expect(e.message).toMatch(/set Torch_DIR to the cmake folder of a LibTorch: .*pip torch: .*then rebuild with `npm run build`/);
  });

  test('no build at all', () => {
    const e = explainLoadFailure(new Error('No native build was found for platform=linux arch=x64'));
    expect(e.message).toMatch(/scripts\/setup\.sh/);
    expect(e.message).toMatch(/npm run build:native/);
    expect(e.message).toMatch(/apt-get install libtorch-dev/);
    expect(e.message).toMatch(/set Torch_DIR .* rebuild with `npm run build`/);
    expect(e.message).toMatch(/cause: No native build was found/);
  });

  test('with TORCHNAS_ADDON, the file it names is what was tried', () => {
    process.env.TORCHNAS_ADDON = 'some/torchnas.node';
    const e = explainLoadFailure(new Error('cannot open'));
    expect(e.message).toContain(`tried: ${path.resolve('some/torchnas.node')}\n`);
    expect(e.message).not.toContain(path.join(PACKAGE_ROOT, 'prebuilds'));
  });
});
