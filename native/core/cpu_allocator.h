// A caching CPU allocator for LibTorch's large buffers.
//
// Why: glibc serves every request above its mmap threshold (at most 32 MiB) with a fresh mmap and returns it
// with munmap on free, so a training step that makes the same 10–40 MiB activations every step pays a page
// fault per 4 KiB page each time, plus the kernel zeroing those pages (measured on NAR's ranker step: ~27 % of
// the time in the kernel, page faults and clear_page). This allocator keeps freed blocks of at least
// kMinCachedBytes and hands them back for a later request of (nearly) the same size, so the pages stay mapped
// and warm. Smaller requests go straight to posix_memalign/free, as LibTorch's default allocator does.
//
// Bounded: idle cached bytes never exceed the limit (default min(2 GiB, 1/8 of physical memory);
// TORCHNAS_CPU_CACHE_MB overrides, 0 turns caching off); past it the least recently freed blocks are released.
// `TORCHNAS_CPU_ALLOCATOR=system` at load time leaves LibTorch's own allocator in place.
// Values are unaffected: LibTorch's empty tensors are uninitialised either way.
#pragma once
#include <cstddef>
#include <cstdint>

namespace torchnas {

struct CpuCacheStats {
  bool installed = false;      // this allocator is LibTorch's CPU allocator in this process
  int64_t limit_bytes = 0;     // idle-cache bound
  int64_t cached_bytes = 0;    // idle blocks held now
  int64_t in_use_bytes = 0;    // live blocks of cacheable size handed out by this allocator
  int64_t hits = 0;            // requests served from the cache
  int64_t misses = 0;          // cacheable requests that had to allocate
};

// Installs the allocator once per process (idempotent; later calls do nothing). Reads the two environment
// variables above on the first call.
void install_cpu_allocator();

CpuCacheStats cpu_cache_stats();

// Sets the idle-cache bound (bytes, >= 0; 0 disables caching and releases every idle block); returns the
// bytes released to bring the idle cache under the new bound.
int64_t set_cpu_cache_limit(int64_t bytes);

// Releases every idle block to the system; returns the bytes released.
int64_t empty_cpu_cache();

}  // namespace torchnas
