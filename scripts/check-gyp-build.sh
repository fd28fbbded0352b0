#!/usr/bin/env bash
# Builds the addon a second way, with node-gyp from binding.gyp (what prebuildify and node-gyp-build's
# fallback use), in a scratch copy so the cmake-js build in build/ is untouched, then loads it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/native" "$root/scripts" "$root/binding.gyp" "$root/package.json" "$scratch/"
ln -s "$root/node_modules" "$scratch/node_modules"
cd "$scratch"
echo "[gyp] node-gyp rebuild in $scratch"
start=$(date +%s)
# --nodedir: use the installed Node headers (node-gyp would otherwise try to download them).
"$root/node_modules/.bin/node-gyp" rebuild --nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}" -j 2 --loglevel=warn
echo "[gyp] built in $(( $(date +%s) - start )) s"
node -e "const b=require('./build/Release/torchnas.node'); const i=b.info(); if(!i.torch) process.exit(1); console.log('[gyp] node-gyp build loads: LibTorch '+i.torch+', CUDA '+i.cuda)"
