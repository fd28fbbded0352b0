#include "latency.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <vector>

#include "../errors.h"

namespace torchnas {

void settle_allocator() {
#if defined(__GLIBC__)
  // Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), so the freed mapping moves the threshold.
  constexpr size_t kBytes = (size_t(32) << 20) - (size_t(64) << 10);
  if (void* p = std::malloc(kBytes)) {
    static_cast<volatile char*>(p)[0] = 1;
    std::free(p);
  }
#endif
}

LatencyStats measure_latency(const std::function<void()>& run, const torch::Device& device, const LatencySettings& s,
                             const std::atomic<bool>* cancelled) {
  if (s.warmup < 0 || s.min_runs < 1 || s.max_runs < s.min_runs || s.max_runs > 1000000) {
    fail("INVALID_ARGUMENT", "latency settings: warmup >= 0 and 1 <= min_runs <= max_runs <= 1e6");
  }
  if (!(s.rel_se >= 0)) fail("INVALID_ARGUMENT", "latency settings: rel_se must be >= 0");
  settle_allocator();
  const bool cuda = device.is_cuda();
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
  };
  auto check = [&] {
    if (cancelled && cancelled->load()) fail("CANCELLED", "latency measurement was cancelled");
  };
  for (int64_t i = 0; i < s.warmup; ++i) {
    check();
    run();
  }
  sync();
  std::vector<double> times;
  times.reserve(static_cast<size_t>(std::min<int64_t>(s.max_runs, 4096)));
  // Of ascending values.
  auto median_of = [](const std::vector<double>& sorted) {
    const size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  };
  while (static_cast<int64_t>(times.size()) < s.max_runs) {
    check();
    const auto start = std::chrono::steady_clock::now();
    run();
    sync();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    const auto n = static_cast<int64_t>(times.size());
    if (n >= s.min_runs && s.rel_se > 0) {
      std::vector<double> sorted(times);
      std::sort(sorted.begin(), sorted.end());
      const double median = median_of(sorted);
      if (median > 0 && median_standard_error(sorted) / median <= s.rel_se) break;
    }
  }
  LatencyStats r;
  r.count = static_cast<int64_t>(times.size());
  for (double t : times) r.mean_ms += t;
  r.mean_ms /= static_cast<double>(r.count);
  double var = 0;
  for (double t : times) var += (t - r.mean_ms) * (t - r.mean_ms);
  r.std_ms = r.count > 1 ? std::sqrt(var / static_cast<double>(r.count - 1)) : 0;
  std::sort(times.begin(), times.end());
  r.median_ms = median_of(times);
  r.min_ms = times.front();
  r.median_se_ms = median_standard_error(times);
  return r;
}

double median_standard_error(const std::vector<double>& sorted) {
  const auto n = static_cast<int64_t>(sorted.size());
  if (n < 2) return 0;
  constexpr double z = 1.959963984540054;
  const double delta = z / (2 * std::sqrt(static_cast<double>(n)));
  auto quantile = [&](double p) {
    const double h = (static_cast<double>(n) - 1) * std::clamp(p, 0.0, 1.0);
    const auto lo = static_cast<size_t>(std::floor(h));
    const auto hi = std::min(lo + 1, static_cast<size_t>(n - 1));
    return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
  };
  return (quantile(0.5 + delta) - quantile(0.5 - delta)) / (2 * z);
}

}  // namespace torchnas
