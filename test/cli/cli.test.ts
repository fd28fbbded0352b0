import * as fs from 'node:fs';
import * as path from 'node:path';
import { exitCodeOf, main } from '../../src/cli';
import { TorchnasError } from '../../src/core/errors';
import { native } from '../../src/native';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('torchnas CLI', () => {
  test('info --json reports the linked LibTorch and devices', async () => {
    const r = await run(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.libtorch).toBe(native().info().torch);
    expect(info.libtorch).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.cuda).toBe('boolean');
    expect(info.devices[0]).toBe('cpu');
    expect(info.devices).toHaveLength(1 + info.cudaDeviceCount);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    // The loaded addon, and the BLAS/OpenMP libraries really mapped into the process.
    expect(fs.existsSync(info.addon)).toBe(true);
    expect(info.addon).toMatch(/torchnas\.node$/);
    if (process.platform === 'linux') {
      expect(info.blas.length).toBeGreaterThan(0);
      for (const lib of [...info.blas, ...info.openmp]) expect(fs.existsSync(lib)).toBe(true);
      expect(info.blas.some((l: string) => /blas/.test(path.basename(l)))).toBe(true);
    }
    // OpenBLAS reports itself exactly when one of the mapped BLAS files is OpenBLAS's.
    const openblasMapped = info.blas.some((l: string) => /openblas/.test(l));
    expect(info.openblas !== null).toBe(openblasMapped);
    if (info.openblas) {
      expect(info.openblas.config).toMatch(/OpenBLAS/);
      expect(info.openblas.threads).toBe(info.threads); // one setting governs both pools
    }
  });

  test('setThreads governs LibTorch and the BLAS together (OpenBLAS when loaded)', () => {
    const b = native();
    const before = b.getThreads();
    try {
      for (const n of [2, 1]) {
        b.setThreads(n);
        const i = b.info();
        expect(i.threads).toBe(n);
        if (i.openblas) expect(i.openblas.threads).toBe(n);
      }
    } finally {
      b.setThreads(before);
    }
  });

  test('unknown command and unknown flag are usage errors', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    const r = await run(['info', '--colour']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/INVALID_ARGUMENT.*--colour/);
  });

  test('bad device is reported with its code', async () => {
    const r = await run(['train-demo', '--device', 'tpu:0', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown device 'tpu:0'/);
  });

  test('exit codes: usage and config errors 2, runtime errors (BUSY included) 1, interrupted 130', () => {
    const code = (c: ConstructorParameters<typeof TorchnasError>[1]) => exitCodeOf(new TorchnasError('x', c));
    expect([code('INVALID_ARGUMENT'), code('CONFIG_INVALID')]).toEqual([2, 2]);
    expect([code('BUSY'), code('TORCH_ERROR'), code('FILE_NOT_FOUND'), code('OUT_OF_MEMORY')]).toEqual([1, 1, 1, 1]);
    expect(code('CANCELLED')).toBe(130);
  });

  test('--resume DIR reaches trainDemo and trainNcpPredictor (a folder without a run is FILE_NOT_FOUND, exit 1)', async () => {
    const demo = await run(['train-demo', '--resume', '/tmp/torchnas-no-such-run', '--json']);
    expect(demo.code).toBe(1);
    expect(demo.stderr).toMatch(/^torchnas train-demo: error \[FILE_NOT_FOUND\]: --resume \/tmp\/torchnas-no-such-run: no run\.json there/);
    const ncp = await run(['ncp', 'train', '--config', 'configs/ncp/seg.yaml', '--resume', '/tmp/torchnas-no-such-run', '--json']);
    expect(ncp.code).toBe(1);
    expect(ncp.stderr).toMatch(/^torchnas ncp train: error \[FILE_NOT_FOUND\]: --resume \/tmp\/torchnas-no-such-run: no run\.json there/);
  });

  test('ncp train --seeds: a list of distinct integers, not with --seed or --resume; --queue only with it', async () => {
    const cases: [string[], RegExp][] = [
      [['--queue', 'redis://127.0.0.1:1'], /--queue goes with --seeds/],
      [['--seeds', '1,x'], /--seeds takes integers >= 0 separated by commas, got 'x'/],
      [['--seeds', '1,2', '--seed', '3'], /--seeds excludes --seed and --resume/],
      [['--seeds', '4,4'], /seeds must differ, got 4,4/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(['ncp', 'train', '--config', 'configs/ncp/seg.yaml', ...flags, '--json']);
      expect(r.code).toBe(2); // a usage error (INVALID_ARGUMENT)
      expect(r.stderr).toMatch(message);
    }
  });

  test('every command and subcommand answers --help with its own flags', async () => {
    for (const [argv, flag] of [
      [['train-demo', '--help'], '--resume DIR'],
      [['ncp', 'train', '--help'], '--resume DIR'],
      [['ncp', 'edit', '--help'], '--predictor DIR'],
      [['flops', '--help'], '--method closed|hooks|both'],
      [['info', '-h'], '--json'],
    ] as const) {
      const r = await run([...argv]);
      expect([argv, r.code]).toEqual([argv, 0]);
      expect(r.stdout).toContain(flag);
    }
    const group = await run(['ncp']);
    expect(group.code).toBe(2);
    expect(group.stdout).toMatch(/usage: torchnas ncp <train\|edit>/);
  });
});
