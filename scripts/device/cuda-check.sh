#!/usr/bin/env bash
# Builds torchnas against a CUDA LibTorch and runs the checks that need a GPU (CI has none), writing logs and JSON
# under $OUT (default /tmp/torchnas-cuda-check). Run from the project root on a machine with an NVIDIA GPU and a
# PyTorch 2.x (or LibTorch) with CUDA. Where the machine has no Node, .device/node.tar.xz (../shared/device/
# pack-node.sh) and .device/nm.tar.xz (the runtime node_modules) are unpacked first; dist/ must be built (npm run
# build:ts) before it travels.
#   Torch_DIR     LibTorch's cmake folder (default: the python3 torch's)
#   TORCHNAS_FASHION_MNIST  Fashion-MNIST folder (default .device/fmnist when present)
#   SKIP_BUILD=1  use the build already there;  ONLY=REGEX  run only the checks whose name matches
set -uo pipefail
OUT=${OUT:-/tmp/torchnas-cuda-check}
mkdir -p "$OUT"
log="$OUT/runs.log"
: > "$log"
say() { echo "$*" | tee -a "$log"; }

if ! command -v node >/dev/null 2>&1 && [ -f .device/node.tar.xz ]; then
  mkdir -p /tmp/node && tar xJf .device/node.tar.xz -C /tmp/node
  export PATH=/tmp/node/bin:$PATH npm_config_nodedir=/tmp/node
fi
[ -d node_modules ] || { [ -f .device/nm.tar.xz ] && tar xJf .device/nm.tar.xz; }
[ -z "${TORCHNAS_FASHION_MNIST:-}" ] && [ -d .device/fmnist ] && export TORCHNAS_FASHION_MNIST=$PWD/.device/fmnist
export Torch_DIR=${Torch_DIR:-$(python3 -c 'import torch,os;print(os.path.join(torch.utils.cmake_prefix_path,"Torch"))')}
node_inc=$(dirname "$(dirname "$(command -v node)")")/include/node
say "node $(node --version); Torch_DIR=$Torch_DIR; $(nproc) CPUs"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"

# The build: what cmake-js does, without it (CMAKE_JS_INC = Node's headers; the addon lands in build/Release).
t0=$SECONDS
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_JS_INC="$node_inc" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/build/Release" > "$OUT/build.log" 2>&1 &&
    ninja -C build -k 0 >> "$OUT/build.log" 2>&1
  rc=$?
  grep -E "^-- torchnas:|error:" "$OUT/build.log" | head -40 | tee -a "$log"
  say "build rc=$rc in $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || exit 1
fi

# run NAME TIMEOUT CMD...: times one command, keeps its output in $OUT/NAME.txt, its last lines in the log.
run() {
  local name=$1 limit=$2
  shift 2
  if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return; fi
  local s=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  say "== $name: rc=$rc, $((SECONDS - s)) s"
  tail -n 4 "$OUT/$name.txt" | cut -c1-400 | tee -a "$log"
}

run info 60 node dist/cli/index.js info
run cuda-check 120 node scripts/device/cuda-check.js "$OUT"
w=$OUT/w
mkdir -p "$w"
run nar-train-cuda 150 node dist/cli/index.js nar train --config configs/nar/nb201.yaml --device cuda --epochs 1 --json --out "$w/nar"
run nar-search-cuda 90 node dist/cli/index.js nar search --checkpoint "$w/nar" --iterations 5 --device cuda --json
run lut-fmnist28-cuda 90 node dist/cli/index.js lut build --config mbv2-fmnist28 --device cuda --min-runs 5 --max-runs 30 --out "$w/f28.lut.json"
run densenas-search-cuda 150 node dist/cli/index.js densenas search --config configs/densenas/mbv2-fmnist28.yaml --lut "$w/f28.lut.json" --device cuda --epochs 2 --arch-start 1 --val-start 1 --limit 2000 --json --out "$w/dsearch"
run ncp-train-cuda 120 node dist/cli/index.js ncp train --config configs/ncp/seg.yaml --device cuda --json --out "$w/ncp"
run train-demo-cuda 90 node dist/cli/index.js train-demo --device cuda --epochs 1 --limit 10000 --json --out "$w/demo"
run lut-build-cuda 90 node dist/cli/index.js lut build --config mbv2-small32 --device cuda --min-runs 5 --max-runs 30 --json --out "$w/lut.json"
run densenas-train-cuda 90 node dist/cli/index.js densenas train --net-config "$w/dsearch" --device cuda --epochs 1 --limit 2000 --json
run tenas-score-cuda 90 node dist/cli/index.js tenas score --device cuda --data random --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|' --json
run tenas-correlate-cuda 120 node dist/cli/index.js tenas correlate --device cuda --data random --sample 20 --json
# NCCL takes one GPU per rank: on a one-GPU machine this must fail at once with a clear error; with two GPUs it is a
# real two-rank NCCL run.
run launch-nccl-2 90 node dist/cli/index.js launch --nproc-per-node 2 -- train-demo --device cuda --epochs 1 --limit 2000 --json
say "total $SECONDS s"
