// Latency measurement shared by every system (DenseNAS LUTs, measured latency of derived networks):
// warm-up runs, then timed runs until the median is stable — the relative standard error of the median
// below `rel_se` after at least `min_runs`, or `max_runs` reached. The standard error is distribution-free
// (median_standard_error): timings have a heavy right tail (preemption, page faults), which inflates σ and
// made the normal-theory estimate 1.2533·σ/√n run a third of a LUT's entries to `max_runs` although their
// medians had long settled. Each timed run waits for the device (CUDA is synchronised), so times are wall-clock
// per call, as the original's.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace torchnas {

struct LatencySettings {
  int64_t warmup = 5;
  int64_t min_runs = 10;
  int64_t max_runs = 200;
  double rel_se = 0.01;  // stop once SE(median)/median <= this; 0: always max_runs (the fixed procedure)
};

struct LatencyStats {
  int64_t count = 0;  // timed runs
  double mean_ms = 0, median_ms = 0, std_ms = 0, min_ms = 0;
  double median_se_ms = 0;  // distribution-free standard error of the median (median_standard_error)
};

// Standard error of the median of `sorted` (ascending), from its order statistics: (Q(½ + δ) − Q(½ − δ)) /
// (2·1.96), δ = 1.96 / (2√n), Q the sample quantile interpolated between order statistics (R's type 7) —
// the half-width of a distribution-free 95 % interval for the median, as a standard error. It tends to the
// median's asymptotic SE 1/(2 f(m) √n) (1.2533·σ/√n for normal data); outliers do not move it; and, unlike
// whole ranks, the interpolation does not inflate it at small n (at n = 10 the bracketing ranks are the
// minimum and maximum: about 2× too wide for normal data). 0 for fewer than 2 values.
double median_standard_error(const std::vector<double>& sorted);

// Puts the C allocator in the state a network's forward leaves it in, whatever ran before. glibc's malloc
// serves blocks above its mmap threshold (128 KiB at start) with fresh mappings and returns heap memory above
// its trim threshold to the system; both thresholds rise (to a freed mapping's size, at most 32 MiB, and twice
// that) once a large mapped block is freed. So one op timed in a fresh process page-faults on every run (its
// MiB-sized activations mapped and unmapped each time: measured 3.5 ms against 1.0 ms, ~750 faults per run, for
// mbconv_k5_t3 48→64 s2 at 8×8, batch 32), and the same op timed after any large one does not — a LUT built in
// one order and checked in another disagreed by 3–5×. Freeing one mapped block of just under 32 MiB raises
// both thresholds to their ceiling, the state after the first large activation of any real forward (and
// of the original's LUT procedure, which times the ops in network order). No-op off glibc, and where a
// program has fixed the thresholds itself (mallopt): then its settings hold.
void settle_allocator();

// Times `run` (one forward of an op) as above, after settle_allocator(); `device` decides whether to
// synchronise CUDA.
// A set `cancelled` stops between runs with CANCELLED.
LatencyStats measure_latency(const std::function<void()>& run, const torch::Device& device, const LatencySettings& settings,
                             const std::atomic<bool>* cancelled = nullptr);

}  // namespace torchnas
