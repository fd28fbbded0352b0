// Linear-region count R_N (specs/tenas.md §3): the number of distinct ReLU sign patterns over a set of
// inputs. Exact and O(n·D): patterns are packed into bits and counted with a hash set (the original's
// O(n²·D) Hamming-matrix formula gives the same number).
#pragma once
#include <torch/types.h>

#include <vector>

namespace torchnas {

// relu_outputs: post-ReLU tensors with a leading sample dimension of size n (all the same n).
// Returns the number of distinct sign patterns (x > 0) across the concatenated features.
int64_t count_distinct_patterns(const std::vector<torch::Tensor>& relu_outputs);

// Packs rows of a [n, D] bool tensor into 64-bit words and counts distinct rows.
int64_t count_distinct_rows(const torch::Tensor& signs);

}  // namespace torchnas
