// Function multi-versioning for the hand-written CPU loops: a function marked TORCHNAS_CLONES is compiled for
// x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline, and the widest one the CPU runs is picked when
// the addon loads (GCC's ifunc), so a prebuilt binary runs everywhere at full vector width. Elsewhere (clang,
// other architectures or systems) it compiles once for the build's target. Loops in these functions must
// vectorise without fast-math flags: elementwise, no floating-point reductions across lanes.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TORCHNAS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TORCHNAS_CLONES
#endif
