// Supervised training of an image classifier with SGD: the loop behind `torchnas train-demo`.
#pragma once
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "../nets/small_cnn.h"

namespace torchnas {

struct SgdSettings {
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 0.0;
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
};

struct EvalResult {
  double loss;
  double accuracy;
  int64_t count;
};

// (step, total steps, running loss); called from the worker thread.
using StepCallback = std::function<void(int64_t, int64_t, double)>;

// Converts uint8 [N,H,W] / [N,C,H,W] pixels or float images into normalised float [N,C,H,W].
torch::Tensor prepare_images(const torch::Tensor& images, double mean, double std);
torch::Tensor prepare_labels(const torch::Tensor& labels, int64_t count, int64_t num_classes);

class ClassifierTrainer {
 public:
  ClassifierTrainer(SmallCnn model, torch::Device device);

  EpochResult train_epoch(const torch::Tensor& images, const torch::Tensor& labels, const EpochSettings& settings,
                          const StepCallback& on_step, const std::atomic<bool>* cancelled);
  // Repeated steps on one fixed batch; returns the loss before each step.
  std::vector<double> train_steps(const torch::Tensor& images, const torch::Tensor& labels, int64_t steps,
                                  const SgdSettings& sgd);
  EvalResult evaluate(const torch::Tensor& images, const torch::Tensor& labels, int64_t batch_size);

  SmallCnn& model() { return model_; }
  const torch::Device& device() const { return device_; }
  void to(const torch::Device& device);

  // Normalisation applied to uint8 inputs (Fashion-MNIST statistics by default).
  double mean = 0.2860, std = 0.3530;

 private:
  torch::optim::SGD& optimizer(const SgdSettings& sgd);

  SmallCnn model_;
  torch::Device device_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
};

}  // namespace torchnas
