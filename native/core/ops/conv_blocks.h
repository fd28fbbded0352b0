// ConvBNReLU and the ResNet BasicBlock, built from the counted layers (ops/counted_layers.h) so that
// networks made of them can be counted by thop's rules and built on the meta device.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "counted_layers.h"

namespace torchnas {

// Conv2d(k×k, stride, padding (k-1)/2, no bias) → BN → ReLU (ReLU optional).
class ConvBnReluImpl : public torch::nn::Module {
 public:
  ConvBnReluImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, const torch::Device& device,
                 bool relu = true);
  torch::Tensor forward(const torch::Tensor& x);

  Conv2dLayer conv{nullptr};
  BatchNorm2dLayer bn{nullptr};
  bool relu;
};
TORCH_MODULE(ConvBnRelu);

// conv3x3 → BN → ReLU → conv3x3 → BN → + identity → ReLU, stride 1 and in = out channels, so there is
// never a downsample branch (spec ncp.md §3.2).
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t channels, const torch::Device& device);
  torch::Tensor forward(const torch::Tensor& x);

  Conv2dLayer conv1{nullptr}, conv2{nullptr};
  BatchNorm2dLayer bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(BasicBlock);

// Kaiming-normal (fan_out, ReLU) for every counted conv weight below `module`, in module order, and PyTorch's
// default uniform init for conv biases (spec ncp.md §3.4); BN layers are already 1/0. `module` itself is not
// visited, so this can run inside a constructor (before the module is owned by a shared_ptr).
void init_counted_convs(torch::nn::Module& module, at::Generator& generator);

}  // namespace torchnas
