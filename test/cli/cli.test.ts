import { main } from '../../src/cli';
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
});
