// scripts/torch-paths.js (LibTorch paths for binding.gyp) on fake LibTorch installs of each layout.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'torch-paths.js');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-torch-paths-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the script; `bare` hides gcc and dpkg-architecture (PATH without them), so the triplet comes from process.arch. */
function paths(env: Record<string, string>, bare = false): Record<'include' | 'lib' | 'libs' | 'cflags' | 'dir', string> {
  const base: Record<string, string> = { PATH: bare ? path.join(tmp, 'no-tools') : (process.env.PATH ?? '') };
  return Object.fromEntries(
    (['include', 'lib', 'libs', 'cflags', 'dir'] as const).map((what) => [what, execFileSync(process.execPath, [SCRIPT, what], { env: { ...base, ...env }, encoding: 'utf8' })]),
  ) as Record<'include' | 'lib' | 'libs' | 'cflags' | 'dir', string>;
}

function touch(file: string, text = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

test('Torch_DIR of a LibTorch zip or pip torch (<prefix>/share/cmake/Torch): lib/ and include/ of the prefix, the ABI of TorchConfig.cmake, CUDA libraries when present', () => {
  const prefix = path.join(tmp, 'site-packages', 'torch');
  touch(path.join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")\n');
  touch(path.join(prefix, 'lib', 'libtorch.so'));
  touch(path.join(prefix, 'lib', 'libtorch_cuda.so'));
  const p = paths({ Torch_DIR: path.join(prefix, 'share', 'cmake', 'Torch') });
  const lib = path.join(prefix, 'lib');
  expect(p.lib).toBe(lib);
  expect(p.include).toBe(`${path.join(prefix, 'include')} ${path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')}`);
  expect(p.libs).toBe(`-L${lib} -Wl,-rpath,${lib} -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -ltorch_cuda -lc10_cuda`);
  expect(p.cflags).toBe('-D_GLIBCXX_USE_CXX11_ABI=0');
  expect(paths({ Torch_DIR: path.join(prefix, 'share', 'cmake', 'Torch'), TORCH_CXX11_ABI: '1' }).cflags).toBe('-D_GLIBCXX_USE_CXX11_ABI=1');
});

test('Torch_DIR in the Debian layout (<prefix>/lib/<triplet>/cmake/Torch): the multiarch lib folder, <prefix>/include', () => {
  const prefix = path.join(tmp, 'debian', 'usr');
  const lib = path.join(prefix, 'lib', 'aarch64-linux-gnu');
  touch(path.join(lib, 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n');
  touch(path.join(lib, 'libtorch.so'));
  const p = paths({ Torch_DIR: path.join(lib, 'cmake', 'Torch') });
  expect([p.lib, p.include.split(' ')[0], p.cflags]).toEqual([lib, path.join(prefix, 'include'), '-D_GLIBCXX_USE_CXX11_ABI=1']);
  expect(p.libs).not.toContain('torch_cuda');
});

test('without Torch_DIR: TorchConfig.cmake is looked for under CMAKE_PREFIX_PATH in lib/<triplet> of this machine', () => {
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch as 'x64' | 'arm64'] ?? `${process.arch}-linux-gnu`;
  const prefix = path.join(tmp, 'system');
  const lib = path.join(prefix, 'lib', triplet);
  touch(path.join(lib, 'cmake', 'Torch', 'TorchConfig.cmake'));
  touch(path.join(lib, 'libtorch_cpu.so'));
  // with gcc/dpkg-architecture hidden, the triplet comes from process.arch
  const p = paths({ CMAKE_PREFIX_PATH: `${path.join(tmp, 'empty')}${path.delimiter}${prefix}` }, true);
  expect([p.dir, p.lib, p.include.split(' ')[0]]).toEqual([path.join(lib, 'cmake', 'Torch'), lib, path.join(prefix, 'include')]);
  expect(p.cflags).toBe(''); // no ABI in this TorchConfig.cmake and no headers: nothing is forced
});

test('an unknown request is a usage error', () => {
  expect(() => execFileSync(process.execPath, [SCRIPT, 'nope'], { stdio: 'pipe' })).toThrow(/usage: torch-paths.js include\|lib\|libs\|cflags\|dir/);
});
