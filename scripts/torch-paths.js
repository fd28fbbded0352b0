#!/usr/bin/env node
// Prints LibTorch paths for binding.gyp (node-gyp cannot run find_package): `include`, `lib`, `libs`, `cflags`.
// LibTorch is found like CMake's find_package(Torch): Torch_DIR (the folder of TorchConfig.cmake, e.g.
// <prefix>/share/cmake/Torch of a LibTorch zip or a pip torch, <libdir>/cmake/Torch of Debian's libtorch-dev),
// else TorchConfig.cmake under $CMAKE_PREFIX_PATH, /usr/local and /usr, in lib/<multiarch triplet>, lib, lib64
// or share. The triplet comes from `gcc -print-multiarch`, `dpkg-architecture`, else from the CPU (process.arch).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Debian/Ubuntu's multiarch triplet of this machine, e.g. x86_64-linux-gnu or aarch64-linux-gnu. */
function multiarch() {
  for (const [cmd, args] of [['gcc', ['-print-multiarch']], ['dpkg-architecture', ['-qDEB_HOST_MULTIARCH']]]) {
    try {
      const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (/^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+$/.test(out)) return out;
    } catch {
      // not installed, or no multiarch support: try the next way
    }
  }
  const byArch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ia32: 'i386-linux-gnu', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu', loong64: 'loongarch64-linux-gnu' };
  return byArch[process.arch] || `${process.arch}-linux-gnu`;
}

/** The folder of TorchConfig.cmake: Torch_DIR, else the first found where find_package would look. */
function torchDir(triplet) {
  if (process.env.Torch_DIR) return path.resolve(process.env.Torch_DIR);
  const prefixes = [...(process.env.CMAKE_PREFIX_PATH || '').split(path.delimiter).filter(Boolean), '/usr/local', '/usr'];
  const subdirs = [path.join('lib', triplet, 'cmake', 'Torch'), path.join('lib', 'cmake', 'Torch'), path.join('lib64', 'cmake', 'Torch'), path.join('share', 'cmake', 'Torch')];
  for (const prefix of prefixes) {
    for (const sub of subdirs) {
      const dir = path.join(prefix, sub);
      if (fs.existsSync(path.join(dir, 'TorchConfig.cmake'))) return dir;
    }
  }
  // Nothing found: name Debian's libtorch-dev location, so the build's error points at what to install.
  return path.join('/usr', 'lib', triplet, 'cmake', 'Torch');
}

/** The library folder and install prefix of a TorchConfig.cmake folder, for both layouts. */
function layout(dir) {
  const hasTorch = (lib) => fs.existsSync(path.join(lib, 'libtorch.so')) || fs.existsSync(path.join(lib, 'libtorch_cpu.so'));
  // <libdir>/cmake/Torch (Debian: /usr/lib/<triplet>/cmake/Torch; prefix = the folder above lib/)
  const libdir = path.resolve(dir, '..', '..');
  const parts = libdir.split(path.sep);
  const libIndex = Math.max(parts.lastIndexOf('lib'), parts.lastIndexOf('lib64'));
  if (hasTorch(libdir) && libIndex > 0) return { lib: libdir, prefix: parts.slice(0, libIndex).join(path.sep) || path.sep };
  // <prefix>/share/cmake/Torch (LibTorch zip, pip torch): libraries in <prefix>/lib
  const prefix = path.resolve(dir, '..', '..', '..');
  return { lib: path.join(prefix, 'lib'), prefix };
}

/** -D_GLIBCXX_USE_CXX11_ABI as LibTorch was built: TORCH_CXX11_ABI, else TorchConfig.cmake's TORCH_CXX_FLAGS. */
function abiFlag(dir, prefix) {
  if (process.env.TORCH_CXX11_ABI === '0' || process.env.TORCH_CXX11_ABI === '1') return `-D_GLIBCXX_USE_CXX11_ABI=${process.env.TORCH_CXX11_ABI}`;
  try {
    const m = /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(fs.readFileSync(path.join(dir, 'TorchConfig.cmake'), 'utf8'));
    if (m) return `-D_GLIBCXX_USE_CXX11_ABI=${m[1]}`;
  } catch {
    // no readable TorchConfig.cmake: fall through
  }
  // pip wheels of PyTorch 2.x and Debian's 1.13 both use the C++11 ABI; without headers, add nothing.
  return fs.existsSync(path.join(prefix, 'include', 'ATen', 'Config.h')) ? '-D_GLIBCXX_USE_CXX11_ABI=1' : '';
}

function paths() {
  const dir = torchDir(multiarch());
  const { lib, prefix } = layout(dir);
  const include = [path.join(prefix, 'include'), path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')];
  const hasCuda = fs.existsSync(path.join(lib, 'libtorch_cuda.so'));
  const libs = ['-L' + lib, '-Wl,-rpath,' + lib, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  if (hasCuda) libs.push('-ltorch_cuda', '-lc10_cuda');
  // c10d + Gloo (data parallelism) when LibTorch ships the c10d headers and Gloo's are installed (CMakeLists.txt does the same)
  const c10d = fs.existsSync(path.join(include[0], 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp'));
  const glooDir = [include[0], '/usr/include', '/usr/local/include'].find((d) => fs.existsSync(path.join(d, 'gloo', 'algorithm.h')));
  const cflags = [abiFlag(dir, prefix), ...(c10d && glooDir ? ['-DTORCHNAS_HAVE_C10D', '-DTORCHNAS_HAVE_GLOO', '-DUSE_C10D_GLOO', '-DUSE_DISTRIBUTED', `-I${glooDir}`] : [])].filter(Boolean).join(' ');
  return { include: include.join(' '), lib, libs: libs.join(' '), cflags, dir };
}

const what = process.argv[2];
const p = paths();
if (!(what in p)) {
  console.error('usage: torch-paths.js include|lib|libs|cflags|dir');
  process.exit(2);
}
process.stdout.write(p[what]);
