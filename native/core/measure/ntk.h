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

// How the Jacobian rows are computed. kLoop: one autograd backward per row (the reference path).
// kBatched: one taped forward and a hand-derived backward carrying many rows at once (ops/vjp_tape.h);
// the NB201 cell networks support it. kAuto: batched where the network's forward stays on the tape,
// the loop otherwise (e.g. the DARTS networks, whose grouped convs, max pooling and concatenations the
// tape does not cover).
enum class NtkPath { kAuto, kBatched, kLoop };
NtkPath parse_ntk_path(const std::string& name);

struct NtkSettings {
  NtkMode mode = NtkMode::kLogitSum;
  // λ_min ≤ eps·λ_max is treated as singular (κ = fallback) instead of giving a huge or negative κ.
  // 0 reproduces the original's unguarded division (only NaN → fallback).
  double singular_eps = 0.0;
  double fallback = 1e5;  // the original's NaN value
  // Jacobian rows are independent backward passes through the retained graph: with workers > 1 they run
  // on that many threads at once (each with one intra-op thread). Same rows, same κ, any worker count.
  // The batched path runs its row chunks that way too.
  int workers = 1;
  // Set from another thread to stop the job between Jacobian rows (a CANCELLED error); may be null.
  std::shared_ptr<std::atomic<bool>> cancelled;
  NtkPath path = NtkPath::kAuto;
  // Batched path: rows per backward pass (0: as many as fit `batched_memory_mb` for one folded
  // activation gradient [rows·B, …]; all rows when they fit). Bounds memory: about five such tensors
  // are alive at once. 0 (the default): four times the per-core L2 cache (4 MiB when unknown), clamped to
  // 2..32 MiB. The budget is small on purpose, because the backward streams each tensor a few times and
  // wins when they stay in cache. Measured on the bench networks (batch 72, one thread, 1 MiB L2): a
  // single path took 1.76 s at 16 MiB, 1.13–1.34 at 4 and 1.23–1.44 at 2; the supernet took 6.05 s
  // at 16 MiB and 3.8–4.4 at 2–4 MiB. Raising glibc's mmap and trim thresholds did not close the gap.
  int64_t vjp_chunk = 0;
  int64_t batched_memory_mb = 0;
};

// The batched path's default budget for this machine (MiB), as described above.
int64_t default_batched_memory_mb();

struct NtkResult {
  double condition_number;
  double lambda_max;
  double lambda_min;
  int64_t jacobian_columns;  // P, the number of gradient entries per row
  bool fallback_used;
  std::string path = "loop";    // "loop", "batched" or "wide": how the rows were computed
  std::string loop_reason;      // path kAuto fell back to the loop: why the batched path did not apply
  int64_t vjp_chunk = 0;        // batched: rows per backward pass
  torch::Tensor kernel;         // Θ (float64) the eigenvalues came from
};

// `forward` maps the batch to logits [B, C] (train-mode BN, graph kept). `parameters` are the tensors the
// Jacobian is taken over (in the original: named parameters containing "weight").
NtkResult ntk_condition_number(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                               const NtkSettings& settings);

class VjpTape;
// The batched path: `forward(x, tape)` runs the network with its ops on `tape` (Trace::tape). Throws
// VjpTapeUnsupported (ops/vjp_tape.h) when the forward left the tape. Same rows as the loop, to float
// tolerance (summation order differs).
using TapedForward = std::function<torch::Tensor(const torch::Tensor&, VjpTape&)>;
NtkResult ntk_condition_number_batched(const TapedForward& forward, const std::vector<torch::Tensor>& parameters,
                                       const torch::Tensor& inputs, const NtkSettings& settings);

// The Jacobian rows [count, P] themselves (tests, and to compare paths): rows in the mode's order
// (sample-major (i, c) in the per-class modes), columns in `parameters` order without unreached ones.
torch::Tensor ntk_jacobian_loop(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                                const NtkSettings& settings);
torch::Tensor ntk_jacobian_batched(const TapedForward& forward, const std::vector<torch::Tensor>& parameters,
                                   const torch::Tensor& inputs, const NtkSettings& settings, int64_t* chunk_used = nullptr);

// Dispatch on settings.path: batched where supported (kAuto falls back to the loop and says why in
// NtkResult::loop_reason; kBatched on an unsupported network is an INVALID_ARGUMENT error).
NtkResult ntk_condition_number_auto(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                    const TapedForward& taped_forward, const std::vector<torch::Tensor>& parameters,
                                    const torch::Tensor& inputs, const NtkSettings& settings);

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
