import { explainLoadFailure } from '../../src/native';

describe('addon load failures tell the user what to do', () => {
  test('a missing LibTorch library', () => {
    const e = explainLoadFailure(new Error('libtorch_cpu.so: cannot open shared object file: No such file or directory'));
    expect(e.code).toBe('ADDON_LOAD_FAILED');
    expect(e.message).toMatch(/tried: .*build\/Release.*prebuilds\/linux-x64/);
    expect(e.message).toMatch(/apt-get install libtorch-dev/);
    expect(e.message).toMatch(/Torch_DIR/);
  });
  test('no build at all', () => {
    const e = explainLoadFailure(new Error('No native build was found for platform=linux arch=x64'));
    expect(e.message).toMatch(/scripts\/setup\.sh/);
    expect(e.message).toMatch(/npm run build:native/);
    expect(e.message).toMatch(/cause: No native build was found/);
  });
});
