#!/usr/bin/env bash
# One-time (and idempotent) setup of torchnas on Debian/Ubuntu:
#   1. system packages: LibTorch (libtorch-dev) with an optimized BLAS (OpenBLAS, libopenblas0-openmp),
#      Fashion-MNIST (dataset-fashion-mnist), cmake, a C++ compiler;
#   2. npm dependencies (npm ci);
#   3. the native addon (cmake-js, against Debian's LibTorch or the one Torch_DIR points at) and the TypeScript.
# Re-running it only redoes what is missing or out of date.
# Options (environment):
#   Torch_DIR=<folder of TorchConfig.cmake>   build against that LibTorch instead of Debian's libtorch-dev
#   TORCHNAS_FASHION_MNIST=<folder>           Fashion-MNIST's four IDX files (.gz or not) there instead of
#                                             Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[setup] %s\n' "$*"; }
fashion_dir="${TORCHNAS_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"

# --- 1. system packages ----------------------------------------------------------------------
missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if command -v dpkg-query >/dev/null 2>&1; then
  if [ -z "${Torch_DIR:-}" ]; then
    have_pkg libtorch-dev || missing+=(libtorch-dev)
    # libtorch-dev pulls only the reference BLAS (libblas3): every GEMM would run unoptimized. OpenBLAS's OpenMP
    # build: its threads are LibTorch's own OpenMP pool, so --threads N means N threads in all. Measured: at 1 thread
    # both builds run the NCP predictor alike (20 epochs --exact: 4.95 s OpenMP, 5.26 s pthreads); at 2 threads the
    # pthreads build's own pool competed with LibTorch's OpenMP threads on 2 cores (200 epochs --exact: 173.7 s on a
    # busy machine, against 11.4 s at 1 thread). The OpenMP build has no second pool.
    have_pkg libopenblas0-openmp || missing+=(libopenblas0-openmp)
    # Gloo's headers: Debian's LibTorch has c10d's process groups but its headers include <gloo/...>; with them the
    # addon is built with data parallelism (torchnas launch), without them Distributed says DISTRIBUTED_UNAVAILABLE.
    have_pkg libgloo-dev || missing+=(libgloo-dev)
  fi
  if [ -z "${TORCHNAS_FASHION_MNIST:-}" ]; then have_pkg dataset-fashion-mnist || missing+=(dataset-fashion-mnist); fi
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing ${missing[*]} with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "torchnas setup: missing system packages: ${missing[*]}" >&2
      echo "Install them as root, then re-run this script:" >&2
      echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  else
    say "system packages present"
  fi
else
  if [ -z "${Torch_DIR:-}" ] || [ ! -d "$fashion_dir" ]; then
    echo "torchnas setup: this is not a Debian-like system (no dpkg). Provide:" >&2
    if [ -z "${Torch_DIR:-}" ]; then
      echo "  - a LibTorch (C++ distribution or a PyTorch install) and export Torch_DIR=<prefix>/share/cmake/Torch" >&2
    fi
    echo "  - cmake >= 3.18 and a C++17 compiler" >&2
    if [ ! -d "$fashion_dir" ]; then
      echo "  - Fashion-MNIST's four .gz IDX files in a folder, exported as TORCHNAS_FASHION_MNIST=<folder> (not found: $fashion_dir)" >&2
    fi
    exit 1
  fi
fi
if [ -n "${TORCHNAS_FASHION_MNIST:-}" ] && [ ! -d "$fashion_dir" ]; then
  echo "torchnas setup: TORCHNAS_FASHION_MNIST=$fashion_dir is not a folder (it should hold Fashion-MNIST's four IDX files)" >&2
  exit 1
fi
say "Fashion-MNIST: $fashion_dir"

# Debian's LibTorch links libblas.so.3, which the alternatives system points at one BLAS: check it is OpenBLAS.
if [ -z "${Torch_DIR:-}" ] && command -v update-alternatives >/dev/null 2>&1; then
  multiarch="$(gcc -print-multiarch 2>/dev/null || true)"
  blas_link="/usr/lib/${multiarch}/libblas.so.3"
  if [ -n "$multiarch" ] && [ -e "$blas_link" ]; then
    blas_now="$(readlink -f "$blas_link")"
    # libblas.so.3 of either OpenBLAS build is a thin wrapper that loads libopenblas.so.0, which has an alternative
    # of its own: both must be the OpenMP build, or the process runs the pthreads core behind the OpenMP wrapper.
    core_link="/usr/lib/${multiarch}/libopenblas.so.0"
    core_now="$( [ -e "$core_link" ] && readlink -f "$core_link" || echo none)"
    if [[ "$blas_now" != *openblas-openmp* || ( "$core_now" != none && "$core_now" != *openblas-openmp* ) ]]; then
      openblas="$(ls /usr/lib/"${multiarch}"/openblas-openmp/libblas.so.3 2>/dev/null | head -1)"
      if [ -n "$openblas" ] && [ "$(id -u)" -eq 0 ]; then
        dir="${openblas%/libblas.so.3}"
        say "libblas.so.3 pointed at $blas_now (OpenBLAS core: $core_now); switching both to $dir"
        update-alternatives --quiet --set "libblas.so.3-${multiarch}" "$openblas"
        [ -e "$dir/liblapack.so.3" ] && update-alternatives --quiet --set "liblapack.so.3-${multiarch}" "$dir/liblapack.so.3"
        [ -e "$dir/libopenblas.so.0" ] && update-alternatives --quiet --set "libopenblas.so.0-${multiarch}" "$dir/libopenblas.so.0"
      else
        echo "torchnas setup: warning: libblas.so.3 is $blas_now (OpenBLAS core $core_now), not OpenBLAS's OpenMP build (unoptimized, or a second thread pool beside LibTorch's)." >&2
        echo "    sudo update-alternatives --set libblas.so.3-${multiarch} /usr/lib/${multiarch}/openblas-openmp/libblas.so.3" >&2
        echo "    sudo update-alternatives --set libopenblas.so.0-${multiarch} /usr/lib/${multiarch}/openblas-openmp/libopenblas.so.0" >&2
      fi
    fi
    say "BLAS: $(readlink -f "$blas_link"), core $( [ -e "$core_link" ] && readlink -f "$core_link" || echo none)"
  fi
fi

# --- 2. npm dependencies --------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  # --ignore-scripts: the package's own install hook (node-gyp-build) would compile the addon a second time.
  npm ci --ignore-scripts --no-audit --no-fund
else
  say "node_modules up to date"
fi

# --- 3. native addon and TypeScript -----------------------------------------------------------
if [ -n "${Torch_DIR:-}" ]; then say "building against Torch_DIR=${Torch_DIR}"; fi
say "building the native addon (cmake-js)"
npx --no-install cmake-js compile --log-level warn ${Torch_DIR:+--CDTorch_DIR="${Torch_DIR}"}
say "compiling TypeScript"
npx --no-install tsc -p tsconfig.json
node scripts/build-esm.js >/dev/null   # dist/index.mjs: the ES module entry over the CommonJS build
chmod +x dist/cli/index.js
say "done: $(node dist/cli/index.js info --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const i=JSON.parse(s);console.log(`torchnas ${i.torchnas}, LibTorch ${i.libtorch}, CUDA ${i.cuda}, BLAS ${i.openblas ? `OpenBLAS (${i.openblas.parallel})` : (i.blas[0] || `unknown`)}`)})')"
