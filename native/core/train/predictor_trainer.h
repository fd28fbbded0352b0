// Training loop of NCP's metric predictor (spec ncp.md §5.3, tools/train_predictor.py): mini-batches of
// normalised codes → normalised metrics, one optimiser + lr-schedule step per batch, validation in
// original units after every epoch, best state kept by the first metric's validation L1.
//
// The whole run is one call (all epochs), so a job does not cross into JS per step. The epoch's shuffle
// follows PyTorch 1.13's DataLoader: each epoch draws a base seed and a sampler seed from the run's
// generator, then permutes with a fresh generator seeded by the latter; validation draws one base seed.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "../nets/mlp_predictor.h"
#include "../serialize.h"
#include "lr_schedule.h"
#include "training_loop.h"

namespace torchnas {

struct PredictorTrainSettings {
  int64_t epochs = 200;
  int64_t batch_size = 128;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double lr = 1e-2;
  double weight_decay = 1e-7;  // Adam: L2 added to the gradient (not decoupled); AdamW: decoupled
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double momentum = 0.9;  // SGD
  bool nesterov = false;
  ScheduleSettings schedule;
  LossKind loss = LossKind::kSmoothL1;
  // Checkpoints (training_loop.h): written atomically at epoch ends when set; a run resumed from one
  // continues bit-identically to an uninterrupted run with the same seed. Written after this call's first
  // epoch, after the last, and in between after an epoch once `checkpoint_interval_s` seconds have passed
  // since the last write (0: after every epoch). Why: a checkpoint (≈1.8 MB, SHA-256 sealed, fsync'd)
  // costs 15–20 ms, as much as an epoch of the fast path; a kill loses at most the interval's work.
  std::string checkpoint_path;
  double checkpoint_interval_s = 1.0;
  std::string resume_from;
};

// Everything on the same device as the predictor. Inputs/targets normalised; output_mean/std ([m],
// float32) denormalise for validation.
struct PredictorData {
  torch::Tensor train_x, train_y, val_x, val_y;
  torch::Tensor output_mean, output_std;
};

struct PredictorEpoch {
  double train_loss;              // mean of the batch losses (normalised units)
  std::vector<double> val_l1;     // per metric, original units, mean of per-batch means (§5.3)
  double lr_end;                  // lr after the epoch's last step
};

struct PredictorTrainResult {
  std::vector<PredictorEpoch> epochs;
  int64_t best_epoch = -1;  // first epoch with the lowest first-metric validation L1
  double best_loss = 0;
  NamedTensors best_state, last_state;
  double seconds = 0;
  int64_t resumed_at_epoch = 0;  // epochs done before this call (0: a fresh run)
  std::string failure;           // non-empty: the run stopped early (a non-finite loss), recorded here
  bool fast_path = false;        // trained by the hand-derived forward/backward (mlp_predictor.h), not autograd
  // Wall seconds by phase in this call (steady clock): where the training time goes.
  std::vector<std::pair<std::string, double>> profile;
};

// (epoch index, its record); called on the training thread after each epoch.
using EpochCallback = std::function<void(int64_t, const PredictorEpoch&)>;

PredictorTrainResult train_predictor(MlpPredictor& model, const PredictorData& data, const PredictorTrainSettings& settings,
                                     const EpochCallback& on_epoch, const std::atomic<bool>* cancelled);

// Test hook: the fast path's gradients (train_step_gradients) and autograd's through forward() for one
// train-mode batch from the same state and generator position, per parameter (named_parameters order).
// The model's parameters, buffers and generator are left as they were.
struct GradientComparison {
  std::vector<std::string> names;
  std::vector<torch::Tensor> fast, autograd;  // CPU float32, shaped like the parameters
  double fast_loss = 0, autograd_loss = 0;
  NamedTensors fast_buffers, autograd_buffers;  // BatchNorm running stats after the step
  bool same_generator_state = false;            // both consumed the generator identically
  torch::Tensor eval_fast, eval_module;          // eval-mode predictions after the step: eval_forward_fast, forward()
};
GradientComparison compare_gradients(MlpPredictor& model, const torch::Tensor& x, const torch::Tensor& y, LossKind loss);

// Validation L1 per metric in original units, as the mean of per-batch means; eval mode, no grad. fast:
// through eval_forward_fast (the fast training path's loops; needs flatten_parameters()), else forward().
std::vector<double> validation_l1(MlpPredictor& model, const torch::Tensor& x, const torch::Tensor& y,
                                  const torch::Tensor& output_mean, const torch::Tensor& output_std, int64_t batch_size, bool fast = false);

// Parameters and buffers by name (cloned), and the way back.
NamedTensors module_state(const torch::nn::Module& module);
void load_module_state(torch::nn::Module& module, const NamedTensors& state);

// The data normalisation a predictor was trained with (spec §5.1), float32; NCP needs it to move codes.
struct PredictorNormalization {
  torch::Tensor input_mean, input_std, output_mean, output_std;
};

// A checkpoint holds the predictor's parameters and buffers (`state`) and its normalisation, written
// atomically. The model is used as the archive's layout; its own state is left as it was.
void save_predictor_checkpoint(const std::string& path, MlpPredictor& model, const NamedTensors& state,
                               const PredictorNormalization& normalization);
// Loads the state into `model` (on `device`) and returns the normalisation (on the CPU).
PredictorNormalization load_predictor_checkpoint(const std::string& path, MlpPredictor& model, const torch::Device& device);

}  // namespace torchnas
