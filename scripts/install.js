#!/usr/bin/env node
// npm "install" hook of the published package. A shipped N-API prebuild (prebuilds/<platform>-<arch>/) that
// loads is used as is; otherwise the addon is built from source with node-gyp (binding.gyp), through
// node-gyp-build, and this script says so and why. Needs LibTorch for the build (Debian/Ubuntu:
// `sudo apt-get install libtorch-dev`; elsewhere set Torch_DIR, see README "Install").
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const tag = `${process.platform}-${process.arch}`;
const say = (m) => process.stderr.write(`torchnas: ${m}\n`);

function prebuildLoads() {
  const dir = path.join(root, 'prebuilds', tag);
  if (!fs.existsSync(dir)) return { ok: false, why: `no prebuild for ${tag} in this package` };
  // Load it in a child process, so a crash or a missing library cannot take npm down.
  const r = spawnSync(process.execPath, ['-e', `require(require('node-gyp-build').path(${JSON.stringify(root)}))`], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status === 0) return { ok: true };
  const first = (r.stderr || '').split('\n').find((l) => /Error|cannot|No such/.test(l)) || `exit ${r.status}`;
  return { ok: false, why: `the prebuild for ${tag} does not load here (${first.trim()})` };
}

const fromSource = process.env.npm_config_build_from_source === 'true';
if (!fromSource) {
  const p = prebuildLoads();
  if (p.ok) {
    say(`using the prebuilt addon for ${tag} (N-API)`);
    process.exit(0);
  }
  say(`${p.why}; building from source with node-gyp (binding.gyp) - this takes a few minutes`);
} else {
  say('--build-from-source: building with node-gyp (binding.gyp)');
}
// npm hands install scripts its own node-gyp (npm_config_node_gyp); a local one (a developer's checkout) also works.
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })];
  } catch {
    return ['node-gyp'];
  }
}
const [cmd, ...args] = nodeGyp();
const r = spawnSync(cmd, [...args, 'rebuild'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  say('the build failed. It needs LibTorch: on Debian/Ubuntu `sudo apt-get install libtorch-dev`; elsewhere set Torch_DIR to <libtorch>/share/cmake/Torch (see the README, "Install").');
  process.exit(r.status ?? 1);
}
say('built from source (build/Release/torchnas.node)');
