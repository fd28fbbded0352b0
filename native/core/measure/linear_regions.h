// Linear-region count R_N (specs/tenas.md §3): the number of distinct ReLU sign patterns over a set of
// inputs. Exact and O(n·D): patterns are packed into bits and counted with a hash set (the original's
// O(n²·D) Hamming-matrix formula gives the same number).
#pragma once
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <vector>

#include "../ops/cell_ops.h"

namespace torchnas {

// A network's forward that records its post-ReLU outputs into the trace.
using TracedForward = std::function<void(const torch::Tensor&, const Trace&)>;

struct RegionCount {
  int64_t regions;
  int64_t samples;
  int64_t features;
};

// The sign patterns [n, D] (bool) of the inputs: `batch` samples per forward (BN in train mode sees one
// sample batch, as the original's 1000-sample loader batches), post-ReLU signs concatenated per sample.
// A set `cancelled` (may be null) stops before the next batch with CANCELLED.
torch::Tensor sign_patterns(const TracedForward& forward, const torch::Tensor& x, int64_t batch,
                            const std::atomic<bool>* cancelled = nullptr);

// §3: R_N = the number of distinct sign patterns of x.
RegionCount count_linear_regions(const TracedForward& forward, const torch::Tensor& x, int64_t batch,
                                 const std::atomic<bool>* cancelled = nullptr);

// relu_outputs: post-ReLU tensors with a leading sample dimension of size n (all the same n).
// Returns the number of distinct sign patterns (x > 0) across the concatenated features.
int64_t count_distinct_patterns(const std::vector<torch::Tensor>& relu_outputs);

// Packs rows of a [n, D] bool tensor into 64-bit words and counts distinct rows.
int64_t count_distinct_rows(const torch::Tensor& signs);

}  // namespace torchnas
