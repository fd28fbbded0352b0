// A small image classifier used by the end-to-end demo (Fashion-MNIST) and the plumbing tests:
// two conv-BN-ReLU-maxpool stages and a linear classifier.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace torchnas {

struct SmallCnnImpl : torch::nn::Module {
  // in_channels × image_size² inputs, num_classes logits.
  // batch_norm false: conv (with bias) → ReLU, no BatchNorm (per-sample independent, e.g. to check data parallelism).
  SmallCnnImpl(int64_t in_channels, int64_t image_size, int64_t num_classes, bool batch_norm = true);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t in_channels, image_size, num_classes;
  bool batch_norm;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(SmallCnn);

int64_t parameter_count(const torch::nn::Module& module);

}  // namespace torchnas
