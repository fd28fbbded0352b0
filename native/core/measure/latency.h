// Latency measurement shared by every system (DenseNAS LUTs, measured latency of derived networks):
// warm-up runs, then timed runs until the median is stable — the relative standard error of the median
// (≈ 1.2533·σ/√n / median, the normal-theory estimate) below `rel_se` after at least `min_runs`, or
// `max_runs` reached. Each timed run waits for the device (CUDA is synchronised), so times are wall-clock
// per call, as the original's.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <cstdint>
#include <functional>

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
};

// Times `run` (one forward of an op) as above; `device` decides whether to synchronise CUDA.
// A set `cancelled` stops between runs with CANCELLED.
LatencyStats measure_latency(const std::function<void()>& run, const torch::Device& device, const LatencySettings& settings,
                             const std::atomic<bool>* cancelled = nullptr);

}  // namespace torchnas
