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

// Times `run` (one forward of an op) as above; `device` decides whether to synchronise CUDA.
// A set `cancelled` stops between runs with CANCELLED.
LatencyStats measure_latency(const std::function<void()>& run, const torch::Device& device, const LatencySettings& settings,
                             const std::atomic<bool>* cancelled = nullptr);

}  // namespace torchnas
