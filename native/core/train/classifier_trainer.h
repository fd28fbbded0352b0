// Supervised training of an image classifier with SGD (optionally a per-step cosine and label smoothing):
// the loop behind `torchnas train-demo` (SmallCnn) and `torchnas densenas train` (derived networks).
#pragma once
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "../nets/small_cnn.h"
#include "training_loop.h"

namespace torchnas {

struct SgdSettings {
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 0.0;
  // Per-step cosine from lr to min_lr over cosine_steps optimizer steps (0: constant lr). Fixed when the
  // trainer's loop is first made (the schedule position is part of its checkpoints).
  int64_t cosine_steps = 0;
  double min_lr = 0.0;
  // Soft-target cross-entropy: (1 − ε)·one-hot + ε/K (PyTorch's label_smoothing; ProxylessNAS's form).
  double label_smoothing = 0.0;
};

struct EpochSettings {
  int64_t batch_size = 64;
  uint64_t seed = 0;  // shuffling order
  SgdSettings sgd;
};

struct EpochResult {
  double mean_loss;
  double accuracy;  // on the training batches as seen during the epoch
  int64_t steps;
  double seconds;
  std::string failure;  // non-empty: a non-finite loss stopped the epoch (training_loop.h)
};

struct EvalResult {
  double loss;
  double accuracy;
  int64_t count;
};

// (step, total steps, running loss); called from the worker thread.
using StepCallback = std::function<void(int64_t, int64_t, double)>;

// Repeated SGD steps on one fixed batch through the loop's group 0; returns the loss before each step.
// A non-finite loss stops early (the losses so far are returned, the weights stay as they were).
std::vector<double> train_steps_on_batch(TrainingLoop& loop, int64_t steps, const std::function<torch::Tensor()>& loss);

// A one-group SGD loop over `parameters` (a fresh generator: these steps draw nothing).
std::unique_ptr<TrainingLoop> sgd_loop(const std::vector<torch::Tensor>& parameters, const SgdSettings& sgd);

// Converts uint8 [N,H,W] / [N,C,H,W] pixels or float images into normalised float [N,C,H,W].
torch::Tensor prepare_images(const torch::Tensor& images, double mean, double std);
torch::Tensor prepare_labels(const torch::Tensor& labels, int64_t count, int64_t num_classes);

// Any image classifier: its module (parameters, buffers, train/eval), its forward and its class count.
struct ClassifierModel {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  int64_t num_classes;
};

class ClassifierTrainer {
 public:
  ClassifierTrainer(ClassifierModel model, torch::Device device);
  ClassifierTrainer(SmallCnn model, torch::Device device);

  EpochResult train_epoch(const torch::Tensor& images, const torch::Tensor& labels, const EpochSettings& settings,
                          const StepCallback& on_step, const std::atomic<bool>* cancelled);
  // Repeated steps on one fixed batch; returns the loss before each step.
  std::vector<double> train_steps(const torch::Tensor& images, const torch::Tensor& labels, int64_t steps,
                                  const SgdSettings& sgd);
  EvalResult evaluate(const torch::Tensor& images, const torch::Tensor& labels, int64_t batch_size);

  // Checkpoint of the model, the loop (momentum buffers, counters, generators) and `extra` tensors.
  void save_checkpoint(const std::string& path, const NamedTensors& extra);
  // Returns the extras; the epoch the checkpoint was written after is epochs_done().
  NamedTensors load_checkpoint(const std::string& path);
  int64_t epochs_done() const { return loop_ ? loop_->epoch() : 0; }

  torch::Tensor forward(const torch::Tensor& x) { return model_.forward(x); }
  torch::nn::Module& module() { return *model_.module; }
  int64_t num_classes() const { return model_.num_classes; }
  torch::Device device() const { return device_; }
  void to(const torch::Device& device);
  // Data-parallel training (TrainingLoop::set_distributed): gradients averaged over the ranks every step; null
  // for a single process.
  void set_distributed(std::shared_ptr<DistributedContext> context);

  // Normalisation applied to uint8 inputs (Fashion-MNIST statistics by default).
  double mean = 0.2860, std = 0.3530;

 private:
  TrainingLoop& loop(const SgdSettings& sgd);

  ClassifierModel model_;
  torch::Device device_;
  double label_smoothing_ = 0.0;
  std::unique_ptr<TrainingLoop> loop_;
  std::shared_ptr<DistributedContext> distributed_;
};

}  // namespace torchnas
