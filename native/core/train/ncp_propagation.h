// Network code propagation (NCP, spec ncp.md §5.4): gradient steps on normalised codes through a trained
// predictor in eval mode, clamped to the space's bounds without autograd, denormalised and rounded to the
// space's grid after every step. Beyond tools/ncp.py: any number of weighted objectives (any output up or
// down by a fixed step, or toward a target value), and a batch of start codes propagated together, each
// with its own objective weights (a Pareto sweep is one batch). In eval mode the predictor treats rows
// independently and the loss sums over rows, so each row follows exactly the path it would follow alone.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <vector>

#include "../nets/mlp_predictor.h"

namespace torchnas {

struct NcpObjective {
  enum class Mode { kIncrease, kDecrease, kTarget };
  int64_t output = 0;  // predictor output index
  Mode mode = Mode::kIncrease;
  double step = 0.1;    // increase/decrease: loss toward prediction ± step (normalised units)
  double target = 0;    // target: loss toward this normalised value
  std::vector<double> weights;  // one per start code
};

struct NcpSettings {
  // The objectives' loss. tools/ncp.py takes the second value of get_criterion(), which is
  // nn.L1Loss(reduction='none'), not the SmoothL1 training criterion: each step then moves the code by
  // lr·weight·sign(·)·∇ŷ, and `step` only sets the sign. ncp.md §5.4 says SmoothL1; its trajectory
  // table was produced by the L1 code (we reproduce it with L1).
  enum class Loss { kL1, kSmoothL1 } loss = Loss::kL1;
  int64_t iterations = 70;
  double lr = 3;  // plain SGD on the codes, a fresh optimiser every step (no momentum)
  // float32 [D]: the training normalisation, the raw bounds, and the rounding grid (8 channels, 1 counts).
  torch::Tensor input_mean, input_std, min_code, max_code, divisors;
  // float32 [M]: to denormalise predictions.
  torch::Tensor output_mean, output_std;
  std::vector<NcpObjective> objectives;
};

// T = iterations records per start code, each taken before that iteration's step (as tools/ncp.py logs).
struct NcpTrajectory {
  torch::Tensor rounded;             // int64 [T, B, D]: the rounded code the step starts from
  torch::Tensor continuous;          // float64 [T, B, D]: the denormalised continuous code
  torch::Tensor predicted;           // float64 [T, B, M]: predictions for the continuous code (original units)
  torch::Tensor predicted_rounded;   // float64 [T, B, M]: predictions for the rounded code (original units)
  torch::Tensor final_rounded;       // int64 [B, D]: the rounded code after the last step (not in the records)
  torch::Tensor final_continuous;    // float64 [B, D]
};

// start_codes: [B, D] raw codes (integers). Runs on the predictor's device; records come back on the CPU.
NcpTrajectory propagate_codes(MlpPredictor& model, const torch::Tensor& start_codes, const NcpSettings& settings,
                              const std::atomic<bool>* cancelled);

// tools/ncp.py's rounding (§5.4.6): max(d, floor(v + d/2) // d · d), computed in float32 as the original
// does (its divisor is a float32 tensor). v: float64 [.., D], divisors float32 [D] → int64.
torch::Tensor round_codes(const torch::Tensor& continuous, const torch::Tensor& divisors);

}  // namespace torchnas
