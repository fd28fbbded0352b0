// Conv2d and BatchNorm2d leaves for networks whose cost must be counted exactly (NAS-Bench-MR, spec
// ncp.md §4). They differ from torch::nn::Conv2d/BatchNorm2d in two ways:
// - every call reports to the active OpCounter (measure/flops.h), like thop's forward hooks;
// - they can live on the meta device: parameters are allocated there without memory or initialisation,
//   and since LibTorch 1.13's C++ build has no meta kernels for convolution, batch_norm or relu (Python
//   torch gets them from Python meta registrations), these layers infer their output shape on meta
//   inputs. A whole benchmark's networks can then be "run" for counting in milliseconds each.
// Parameter and buffer names match PyTorch's (weight, bias, running_mean, running_var, num_batches_tracked).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace torchnas {

struct Conv2dLayerOptions {
  int64_t in_channels;
  int64_t out_channels;
  int64_t kernel;
  int64_t stride = 1;
  int64_t padding = -1;  // -1: (kernel - 1) / 2, i.e. "same" for odd kernels at stride 1
  bool bias = false;
};

class Conv2dLayerImpl : public torch::nn::Module {
 public:
  // Parameters are left uninitialised; see init_kaiming_normal_fan_out / init_default_bias.
  Conv2dLayerImpl(const Conv2dLayerOptions& options, const torch::Device& device);
  torch::Tensor forward(const torch::Tensor& x);

  // Kaiming normal, mode fan_out, ReLU gain (std = sqrt(2 / (out_channels·k²))).
  void init_kaiming_normal_fan_out(at::Generator& generator);
  // PyTorch's default Conv2d bias init: uniform ±1/sqrt(fan_in).
  void init_default_bias(at::Generator& generator);

  Conv2dLayerOptions options;
  torch::Tensor weight, bias;
};
TORCH_MODULE(Conv2dLayer);

class BatchNorm2dLayerImpl : public torch::nn::Module {
 public:
  // weight 1, bias 0, running stats 0/1 (PyTorch's defaults; on meta nothing is filled).
  BatchNorm2dLayerImpl(int64_t num_features, const torch::Device& device, double momentum = 0.1, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t num_features;
  double momentum, eps;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(BatchNorm2dLayer);

// ReLU that passes meta tensors through (same shape, nothing to compute).
torch::Tensor relu_any_device(const torch::Tensor& x);

// Output side of a convolution along one axis.
int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding);

}  // namespace torchnas
