#!/usr/bin/env node
// Prints LibTorch paths for binding.gyp (node-gyp cannot run find_package): `include`, `lib`, `libs`, `cflags`.
// Honours Torch_DIR (…/share/cmake/Torch inside a LibTorch or PyTorch install); defaults to Debian's libtorch-dev.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function prefix() {
  const dir = process.env.Torch_DIR;
  if (dir) return path.resolve(dir, '..', '..', '..');
  return '/usr';
}

function paths() {
  const p = prefix();
  const debianLib = '/usr/lib/x86_64-linux-gnu';
  const lib = p === '/usr' ? debianLib : path.join(p, 'lib');
  const include = [path.join(p, 'include'), path.join(p, 'include', 'torch', 'csrc', 'api', 'include')];
  const hasCuda = fs.existsSync(path.join(lib, 'libtorch_cuda.so'));
  const libs = ['-L' + lib, '-Wl,-rpath,' + lib, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  if (hasCuda) libs.push('-ltorch_cuda', '-lc10_cuda');
  // pip wheels of PyTorch 2.x and Debian's 1.13 both use the C++11 ABI; older wheels did not.
  const abiFile = path.join(p, 'include', 'ATen', 'Config.h');
  let cflags = '-D_GLIBCXX_USE_CXX11_ABI=1';
  if (process.env.TORCH_CXX11_ABI === '0') cflags = '-D_GLIBCXX_USE_CXX11_ABI=0';
  else if (!fs.existsSync(abiFile) && p !== '/usr') cflags = '';
  return { include: include.join(' '), lib, libs: libs.join(' '), cflags };
}

const what = process.argv[2];
const p = paths();
if (!(what in p)) {
  console.error('usage: torch-paths.js include|lib|libs|cflags');
  process.exit(2);
}
process.stdout.write(p[what]);
