// scripts/setup.sh on a system without dpkg (the non-Debian branch), with npm/npx replaced by stubs so that
// nothing is installed or built: only the checks of step 1 are exercised.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
let tmp: string;
let bin: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-setup-'));
  bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  // the few programs the script needs before step 2; no dpkg-query, so it takes the non-Debian branch
  for (const tool of ['dirname']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    if (!found) throw new Error(`${tool} not found`);
    fs.symlinkSync(found, path.join(bin, tool));
  }
  for (const stub of ['npm', 'npx']) {
    fs.writeFileSync(path.join(bin, stub), `#!/bin/sh\necho "STUB ${stub} $*"\nexit 3\n`, { mode: 0o755 });
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/bash', [path.join(ROOT, 'scripts', 'setup.sh')], { env: { PATH: bin, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('TORCHNAS_FASHION_MNIST set: the Debian folder is not demanded, the checks pass and setup goes on to npm', () => {
  const fashion = fs.mkdtempSync(path.join(tmp, 'fashion-'));
  const r = setup({ Torch_DIR: path.join(tmp, 'libtorch', 'share', 'cmake', 'Torch'), TORCHNAS_FASHION_MNIST: fashion });
  expect(r.stdout).toContain(`[setup] Fashion-MNIST: ${fashion}\n`);
  expect(r.stdout).toMatch(/STUB np[mx] /); // step 2 or 3 was reached
  expect(r.stderr).not.toMatch(/not a Debian-like system/);
});

test('what is missing is named: Torch_DIR, or a Fashion-MNIST folder that does not exist', () => {
  const fashion = fs.mkdtempSync(path.join(tmp, 'fashion-'));
  const noTorch = setup({ TORCHNAS_FASHION_MNIST: fashion });
  expect(noTorch.status).toBe(1);
  expect(noTorch.stderr).toMatch(/not a Debian-like system/);
  expect(noTorch.stderr).toMatch(/export Torch_DIR=/);
  expect(noTorch.stderr).not.toMatch(/Fashion-MNIST/);

  const missing = path.join(tmp, 'no-such-folder');
  const noData = setup({ Torch_DIR: '/x/share/cmake/Torch', TORCHNAS_FASHION_MNIST: missing });
  expect(noData.status).toBe(1);
  expect(noData.stderr).toContain(`TORCHNAS_FASHION_MNIST=<folder> (not found: ${missing})`);
  expect(noData.stderr).not.toMatch(/export Torch_DIR=/);
  expect(noData.stdout).not.toMatch(/STUB/);
});
