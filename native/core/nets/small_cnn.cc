#include "small_cnn.h"

#include <torch/nn/functional/pooling.h>

#include "../errors.h"

namespace torchnas {

SmallCnnImpl::SmallCnnImpl(int64_t in_channels_, int64_t image_size_, int64_t num_classes_, bool batch_norm_)
    : in_channels(in_channels_), image_size(image_size_), num_classes(num_classes_), batch_norm(batch_norm_) {
  if (in_channels < 1 || num_classes < 1) fail("INVALID_ARGUMENT", "SmallCnn needs in_channels >= 1 and num_classes >= 1");
  if (image_size < 4 || image_size % 4 != 0) {
    fail("INVALID_ARGUMENT", "SmallCnn image size must be a positive multiple of 4, got " + std::to_string(image_size));
  }
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, 16, 3).padding(1).bias(!batch_norm)));
  if (batch_norm) bn1 = register_module("bn1", torch::nn::BatchNorm2d(16));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1).bias(!batch_norm)));
  if (batch_norm) bn2 = register_module("bn2", torch::nn::BatchNorm2d(32));
  const int64_t side = image_size / 4;
  fc = register_module("fc", torch::nn::Linear(32 * side * side, num_classes));
}

torch::Tensor SmallCnnImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  if (x.dim() != 4 || x.size(1) != in_channels || x.size(2) != image_size || x.size(3) != image_size) {
    fail("SHAPE_MISMATCH", "SmallCnn expects input [N, " + std::to_string(in_channels) + ", " + std::to_string(image_size) +
                               ", " + std::to_string(image_size) + "], got " + c10::str(x.sizes()));
  }
  auto h = conv1(x);
  if (batch_norm) h = bn1(h);
  h = F::max_pool2d(torch::relu(h), F::MaxPool2dFuncOptions(2));
  h = conv2(h);
  if (batch_norm) h = bn2(h);
  h = F::max_pool2d(torch::relu(h), F::MaxPool2dFuncOptions(2));
  return fc(h.flatten(1));
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace torchnas
