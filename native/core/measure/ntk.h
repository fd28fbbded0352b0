// NTK condition number κ_N (specs/tenas.md §2): per-sample gradients of the network output over the
// parameters whose name contains "weight", Θ = J Jᵀ in float64, κ = λ_max / λ_min.
#pragma once
#include <torch/nn/module.h>
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace torchnas {

enum class NtkMode {
  kLogitSum,       // TE-NAS: gradient of Σ_c f_c(x_i); Θ is B×B
  kPerClassTrace,  // Θ_ij = Σ_c ∇f_c(x_i)·∇f_c(x_j); B×B, needs B·C backward passes
  kFull,           // the (B·C)×(B·C) empirical NTK
};

NtkMode parse_ntk_mode(const std::string& name);

struct NtkSettings {
  NtkMode mode = NtkMode::kLogitSum;
  // λ_min ≤ eps·λ_max is treated as singular (κ = fallback) instead of giving a huge or negative κ.
  // 0 reproduces the original's unguarded division (only NaN → fallback).
  double singular_eps = 0.0;
  double fallback = 1e5;  // the original's NaN value
  // Jacobian rows are independent backward passes through the retained graph: with workers > 1 they run
  // on that many threads at once (each with one intra-op thread). Same rows, same κ, any worker count.
  int workers = 1;
  // Set from another thread to stop the job between Jacobian rows (a CANCELLED error); may be null.
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct NtkResult {
  double condition_number;
  double lambda_max;
  double lambda_min;
  int64_t jacobian_columns;  // P, the number of gradient entries per row
  bool fallback_used;
};

// `forward` maps the batch to logits [B, C] (train-mode BN, graph kept). `parameters` are the tensors the
// Jacobian is taken over (in the original: named parameters containing "weight").
NtkResult ntk_condition_number(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                               const NtkSettings& settings);

// The same κ from a wide forward (cell_ops.h Trace): `forward_wide(x, copies, expanded)` returns logits
// [B, copies, C] of `copies` side-by-side copies whose per-copy weights it appends to `expanded`. Each
// backward then yields `copies` Jacobian rows, so B rows cost B / copies (wider) backward passes.
using WideForward = std::function<torch::Tensor(const torch::Tensor&, int64_t, std::vector<torch::Tensor>&)>;
NtkResult ntk_condition_number_wide(const WideForward& forward_wide, const torch::Tensor& inputs, int64_t copies,
                                    const NtkSettings& settings);

// Named parameters whose name contains "weight" (conv weights, BN γ, classifier weight), in module order.
std::vector<torch::Tensor> weight_parameters(const torch::nn::Module& module);

// κ from a kernel matrix (float64), with the guards above.
NtkResult condition_number_of(const torch::Tensor& kernel, const NtkSettings& settings);

}  // namespace torchnas
