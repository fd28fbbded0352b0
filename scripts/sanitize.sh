#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs the native
# tests against it (small fuzz counts). Usage: bash scripts/sanitize.sh [jest paths...]
#   SANITIZE_SKIP_BUILD=1  reuse build-asan/ as it is
# Node itself is not instrumented: the ASan runtime is preloaded, leaks are not reported (V8 and LibTorch
# keep allocations until exit by design), huge allocations return null as malloc does (the OUT_OF_MEMORY
# tests ask for petabytes), UBSan reports go to the log and are counted at the end.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[sanitize] %s\n' "$*"; }
out=build-asan
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=address -g -O1"

if [ -z "${SANITIZE_SKIP_BUILD:-}" ]; then
  say "building the addon with $flags into $out/ (a full build: several minutes)"
  npx cmake-js compile --log-level warn --out "$out" \
    --CDCMAKE_CXX_FLAGS="$flags" \
    --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    --CDCMAKE_BUILD_TYPE=RelWithDebInfo || { say "build failed"; exit 2; }
fi
addon="$PWD/$out/RelWithDebInfo/torchnas.node"
[ -f "$addon" ] || addon="$(find "$out" -name torchnas.node | head -1)"
[ -f "$addon" ] || { say "no torchnas.node under $out/"; exit 2; }

libasan="$(gcc -print-file-name=libasan.so)"
libubsan="$(gcc -print-file-name=libubsan.so)"
log="$out/sanitize.log"
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(test/core test/fuzz test/ncp/flops.test.ts test/methods/tenas/indicators.test.ts)
fi

# Not meaningful under ASan: RSS after GC (its quarantine holds freed memory) and the loader's own
# message about node-gyp-build paths (TORCHNAS_ADDON replaces them here).
ignore='test/core/(memory|native-load)\.test\.ts'
say "running jest ${tests[*]} against $addon (log: $log)"
TORCHNAS_ADDON="$addon" \
  TORCHNAS_FUZZ_COUNT="${TORCHNAS_FUZZ_COUNT:-300}" \
  LD_PRELOAD="$libasan $libubsan" \
  ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:print_summary=1:allow_user_segv_handler=1:detect_odr_violation=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0" \
  npx jest --runInBand "${tests[@]}" \
    --testPathIgnorePatterns "$ignore" >"$log" 2>&1
status=$?

asan=$(grep -c "ERROR: AddressSanitizer" "$log" || true)
ubsan=$(grep -c "runtime error:" "$log" || true)
say "jest exit status: $status"
say "AddressSanitizer errors: $asan"
say "UndefinedBehaviorSanitizer reports: $ubsan"
grep -E "ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer|runtime error:" "$log" | sort | uniq -c | head -40
grep -E "^(Tests|Test Suites):" "$log"
[ "$status" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$ubsan" -eq 0 ]
