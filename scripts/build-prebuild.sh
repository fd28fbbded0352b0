#!/usr/bin/env bash
# Makes the N-API prebuild that `npm pack` ships: prebuildify (node-gyp from binding.gyp, the path node-gyp-build
# also falls back to) in a scratch copy of the native sources, so the cmake-js build in build/ is untouched, writing
# prebuilds/<platform>-<arch>/torchnas.node here; then loads the result. `npm run build:prebuild` runs this; CI too,
# which also checks the node-gyp build this way.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/native" "$root/scripts" "$root/binding.gyp" "$root/package.json" "$scratch/"
ln -s "$root/node_modules" "$scratch/node_modules"
cd "$scratch"
echo "[prebuild] prebuildify --napi --strip in $scratch"
start=$(date +%s)
# The installed Node headers (node-gyp would otherwise download them, and this machine may be offline).
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
export JOBS="${JOBS:-2}"
"$root/node_modules/.bin/prebuildify" --napi --strip --out "$root"
echo "[prebuild] built in $(( $(date +%s) - start )) s"
cd "$root"
file="$(node -p "require('node-gyp-build').path ? require('path').relative(process.cwd(), require('path').join('prebuilds', process.platform + '-' + process.arch)) : ''")"
ls -l "$file"
# Load exactly the prebuild (not build/Release, which node-gyp-build would prefer).
node -e "
const fs=require('fs'),path=require('path');
const dir=path.resolve('$file'); const f=fs.readdirSync(dir).find(n=>n.endsWith('.node'));
const b=require(path.join(dir,f)); const i=b.info(); if(!i.torch) process.exit(1);
console.log('[prebuild] '+path.join('$file',f)+' loads: LibTorch '+i.torch+', CUDA '+i.cuda);"
