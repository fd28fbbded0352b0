#include "cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace torchnas {

namespace {

// Below 1 MiB glibc's heap serves requests without fresh pages (its mmap threshold rises to the size of the
// largest freed mapping), so caching them would only add a lock.
constexpr size_t kMinCachedBytes = size_t(1) << 20;
constexpr size_t kRound = size_t(64) << 10;  // cached blocks are whole 64 KiB units
constexpr size_t kAlignment = 64;             // LibTorch's own CPU alignment (c10 gAlignment)

void* aligned_or_null(size_t n) {
  void* p = nullptr;
  return posix_memalign(&p, kAlignment, n) == 0 ? p : nullptr;
}

// The wording of LibTorch's own allocator, so the error maps to OUT_OF_MEMORY the same way (napi/common.cc).
[[noreturn]] void out_of_memory(size_t n) {
  TORCH_CHECK(false, "torchnas CPU allocator: can't allocate memory: you tried to allocate ", n, " bytes");
}

void* aligned_or_throw(size_t n) {
  void* p = aligned_or_null(n);
  if (p == nullptr) out_of_memory(n);
  return p;
}

void release_small(void* p) { std::free(p); }

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(int64_t limit) : limit_(limit) {}

  // LibTorch 2.3 made allocate() non-const and added copy_data(); 1.13 has the const one only.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return allocate_block(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    if (count > 0) std::memcpy(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t n) const override { return allocate_block(n); }
#endif

  c10::DataPtr allocate_block(size_t n) const {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &release_small, cpu};
    if (n < kMinCachedBytes) {
      void* p = aligned_or_throw(n);
      return {p, p, &release_small, cpu};
    }
    const size_t size = (n + kRound - 1) / kRound * kRound;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Best fit among idle blocks, accepting at most 1/8 slack so a small request cannot pin a huge block.
      auto it = idle_.lower_bound(size);
      if (it != idle_.end() && it->first <= size + size / 8) {
        void* p = it->second.ptr;
        const size_t got = it->first;
        idle_.erase(it);
        cached_ -= static_cast<int64_t>(got);
        live_[p] = got;
        in_use_ += static_cast<int64_t>(got);
        ++hits_;
        return {p, p, &release_cached, cpu};
      }
      ++misses_;
    }
    void* p = aligned_or_null(size);
    if (p == nullptr) {
      empty();  // idle blocks of other sizes may be what is missing: release them and try once more
      p = aligned_or_throw(size);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[p] = size;
      in_use_ += static_cast<int64_t>(size);
    }
    return {p, p, &release_cached, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release_cached; }

  // The deleter of every block this allocator hands out through raw_allocate, and of the cacheable ones.
  static void release_cached(void* p);

  void release(void* p) {
    if (p == nullptr) return;
    std::unique_lock<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block handed out by raw_allocate
      lock.unlock();
      std::free(p);
      return;
    }
    const size_t size = it->second;
    live_.erase(it);
    in_use_ -= static_cast<int64_t>(size);
    if (limit_ <= 0 || static_cast<int64_t>(size) > limit_) {
      lock.unlock();
      std::free(p);
      return;
    }
    idle_.emplace(size, Idle{p, ++clock_});
    cached_ += static_cast<int64_t>(size);
    std::vector<void*> drop = evict_locked(limit_);
    lock.unlock();
    for (void* q : drop) std::free(q);
  }

  CpuCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    CpuCacheStats s;
    s.installed = true;
    s.limit_bytes = limit_;
    s.cached_bytes = cached_;
    s.in_use_bytes = in_use_;
    s.hits = hits_;
    s.misses = misses_;
    return s;
  }

  int64_t set_limit(int64_t bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    limit_ = std::max<int64_t>(bytes, 0);
    const int64_t before = cached_;
    std::vector<void*> drop = evict_locked(limit_);
    const int64_t released = before - cached_;
    lock.unlock();
    for (void* q : drop) std::free(q);
    return released;
  }

  int64_t empty() const {
    std::unique_lock<std::mutex> lock(mutex_);
    const int64_t before = cached_;
    std::vector<void*> drop = evict_locked(0);
    lock.unlock();
    for (void* q : drop) std::free(q);
    return before;
  }

 private:
  struct Idle {
    void* ptr;
    uint64_t freed_at;  // release order: the oldest go first when over the bound
  };

  // Removes the least recently freed idle blocks until at most `bound` bytes stay idle; the caller frees
  // the returned blocks outside the lock.
  std::vector<void*> evict_locked(int64_t bound) const {
    std::vector<void*> drop;
    while (cached_ > bound && !idle_.empty()) {
      auto oldest = idle_.begin();
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if (it->second.freed_at < oldest->second.freed_at) oldest = it;
      }
      cached_ -= static_cast<int64_t>(oldest->first);
      drop.push_back(oldest->second.ptr);
      idle_.erase(oldest);
    }
    return drop;
  }

  // Mutable: c10::Allocator::allocate is const.
  mutable std::mutex mutex_;
  mutable std::multimap<size_t, Idle> idle_;
  mutable std::unordered_map<void*, size_t> live_;
  int64_t limit_;
  mutable int64_t cached_ = 0, in_use_ = 0, hits_ = 0, misses_ = 0;
  uint64_t clock_ = 0;
};

// Never destroyed: tensors may be freed during static destruction, after any static object would be gone.
CachingCpuAllocator* g_allocator = nullptr;
std::once_flag g_install_once;

void CachingCpuAllocator::release_cached(void* p) { g_allocator->release(p); }

int64_t default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const int64_t physical = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : (int64_t(16) << 30);
  return std::min<int64_t>(int64_t(2) << 30, physical / 8);
}

// TORCHNAS_CPU_CACHE_MB: a whole number of MiB >= 0; anything else keeps the default (documented in the README).
int64_t limit_from_environment() {
  const char* v = std::getenv("TORCHNAS_CPU_CACHE_MB");
  if (v == nullptr || *v == '\0') return default_limit();
  char* end = nullptr;
  const long long mb = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || mb < 0 || mb > (int64_t(1) << 40)) return default_limit();
  return static_cast<int64_t>(mb) << 20;
}

}  // namespace

void install_cpu_allocator() {
  std::call_once(g_install_once, [] {
    const char* choice = std::getenv("TORCHNAS_CPU_ALLOCATOR");
    if (choice != nullptr && std::string(choice) == "system") return;
    g_allocator = new CachingCpuAllocator(limit_from_environment());
    // Priority 1 outranks LibTorch's default CPU allocator (registered at 0).
    c10::SetCPUAllocator(g_allocator, 1);
  });
}

CpuCacheStats cpu_cache_stats() {
  if (g_allocator == nullptr) return {};
  return g_allocator->stats();
}

int64_t set_cpu_cache_limit(int64_t bytes) {
  return g_allocator == nullptr ? 0 : g_allocator->set_limit(bytes);
}

int64_t empty_cpu_cache() { return g_allocator == nullptr ? 0 : g_allocator->empty(); }

}  // namespace torchnas
