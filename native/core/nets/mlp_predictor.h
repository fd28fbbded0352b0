// NCP's metric predictor (spec ncp.md §5.2): a shared trunk BN → Linear → BN → act → Dropout, and one head
// per metric group Linear → BN → act → Dropout → Linear; the output concatenates the heads in group order.
//
// Reproducibility: the predictor owns a CPU generator seeded with `seed` that stands in for torch's global
// generator in the original run (spec §5.3: torch.manual_seed(SEED)). Initialisation, dropout and the
// trainer's shuffling draw from it, never from LibTorch's global generator, so concurrent jobs cannot
// perturb a run. The draws are made in PyTorch's order (Linear: kaiming_uniform(a=√5) weight, then uniform
// bias; dropout: bernoulli noise of the activation's shape, skipped when p = 0).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace torchnas {

enum class Activation { kReLU, kReLU6, kTanh, kSwish };
Activation parse_activation(const std::string& name);  // relu, relu6, tanh, swish

struct MlpPredictorOptions {
  int64_t input_dim = 27;
  std::vector<int64_t> groups;  // outputs per metric group, e.g. seg: {1, 2, 2}
  int64_t shared_layer = 256;
  int64_t separated_layer = 128;
  Activation activation = Activation::kSwish;
  double trunk_dropout = 0.5;
  std::vector<double> head_dropouts;  // one per group
  // false (default): on the CPU, batches of 16+ run the Linear layers as 1×1 convolutions, which LibTorch
  // hands to oneDNN's JIT kernels; Debian's LibTorch does fp32 GEMMs in the reference (netlib) BLAS, ~10×
  // slower at these sizes. Same math, different rounding in the last bits. true: at::linear everywhere,
  // PyTorch's nn.Linear op sequence, so a run reproduces PyTorch-in-Python bit for bit on the same LibTorch.
  bool exact_linear = false;
};

class MlpPredictorImpl : public torch::nn::Module {
 public:
  // Initialises from a fresh generator seeded with `seed`, in PyTorch's construction order.
  MlpPredictorImpl(const MlpPredictorOptions& options, uint64_t seed);
  // [N, input_dim] normalised codes → [N, Σ groups] normalised metrics (dropout in training mode only).
  torch::Tensor forward(const torch::Tensor& x);

  // The run's generator (after initialisation): the trainer draws its shuffling seeds from it.
  at::Generator& generator() { return generator_; }
  int64_t output_dim() const;
  const MlpPredictorOptions& options() const { return options_; }

 private:
  struct Head {
    torch::nn::Linear hidden{nullptr};
    torch::nn::BatchNorm1d norm{nullptr};
    double dropout;
    torch::nn::Linear out{nullptr};
  };
  torch::Tensor activate(const torch::Tensor& x) const;
  torch::Tensor linear(torch::nn::Linear& layer, const torch::Tensor& x) const;
  torch::Tensor dropout(const torch::Tensor& x, double p);

  MlpPredictorOptions options_;
  torch::nn::BatchNorm1d input_norm_{nullptr};
  torch::nn::Linear trunk_{nullptr};
  torch::nn::BatchNorm1d trunk_norm_{nullptr};
  std::vector<Head> heads_;
  at::Generator generator_;
};
TORCH_MODULE(MlpPredictor);

// PyTorch's nn.Linear.reset_parameters with an explicit generator.
void init_linear_like_pytorch(torch::nn::Linear& linear, at::Generator& generator);

}  // namespace torchnas
