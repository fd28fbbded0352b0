#include "counted_layers.h"

#include <torch/autograd.h>

#include <cmath>

#include "../errors.h"
#include "../measure/flops.h"

namespace torchnas {

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding) {
  return (input + 2 * padding - kernel) / stride + 1;
}

Conv2dLayerImpl::Conv2dLayerImpl(const Conv2dLayerOptions& options_, const torch::Device& device) : options(options_) {
  if (options.in_channels < 1 || options.out_channels < 1 || options.kernel < 1 || options.stride < 1) {
    fail("INVALID_ARGUMENT", "Conv2d needs positive channels, kernel and stride, got " + std::to_string(options.in_channels) +
                                 "→" + std::to_string(options.out_channels) + " k" + std::to_string(options.kernel) + " s" +
                                 std::to_string(options.stride));
  }
  if (options.padding < 0) options.padding = (options.kernel - 1) / 2;
  auto tensor_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  weight = register_parameter(
      "weight", torch::empty({options.out_channels, options.in_channels, options.kernel, options.kernel}, tensor_options));
  if (options.bias) bias = register_parameter("bias", torch::empty({options.out_channels}, tensor_options));
}

void Conv2dLayerImpl::init_kaiming_normal_fan_out(at::Generator& generator) {
  torch::NoGradGuard no_grad;
  const double fan_out = static_cast<double>(options.out_channels * options.kernel * options.kernel);
  weight.normal_(0.0, std::sqrt(2.0) / std::sqrt(fan_out), generator);
}

void Conv2dLayerImpl::init_default_bias(at::Generator& generator) {
  if (!bias.defined()) return;
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_channels * options.kernel * options.kernel));
  bias.uniform_(-bound, bound, generator);
}

torch::Tensor Conv2dLayerImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != options.in_channels) {
    fail("SHAPE_MISMATCH", "Conv2d expects [N, " + std::to_string(options.in_channels) + ", H, W], got " + c10::str(x.sizes()));
  }
  torch::Tensor y;
  if (x.is_meta()) {
    y = torch::empty({x.size(0), options.out_channels, conv_output_size(x.size(2), options.kernel, options.stride, options.padding),
                      conv_output_size(x.size(3), options.kernel, options.stride, options.padding)},
                     x.options());
  } else {
    y = torch::conv2d(x, weight, bias, options.stride, options.padding);
  }
  if (auto* counter = active_op_counter()) {
    counter->conv2d(this, y, options.in_channels, 1, options.kernel, options.kernel, options.bias,
                    weight.numel() + (bias.defined() ? bias.numel() : 0));
  }
  return y;
}

BatchNorm2dLayerImpl::BatchNorm2dLayerImpl(int64_t num_features_, const torch::Device& device, double momentum_, double eps_)
    : num_features(num_features_), momentum(momentum_), eps(eps_) {
  if (num_features < 1) fail("INVALID_ARGUMENT", "BatchNorm2d needs >= 1 feature, got " + std::to_string(num_features));
  auto o = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const bool meta = device.type() == torch::kMeta;
  weight = register_parameter("weight", meta ? torch::empty({num_features}, o) : torch::ones({num_features}, o));
  bias = register_parameter("bias", meta ? torch::empty({num_features}, o) : torch::zeros({num_features}, o));
  running_mean = register_buffer("running_mean", meta ? torch::empty({num_features}, o) : torch::zeros({num_features}, o));
  running_var = register_buffer("running_var", meta ? torch::empty({num_features}, o) : torch::ones({num_features}, o));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, o.dtype(torch::kInt64)));
}

torch::Tensor BatchNorm2dLayerImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != num_features) {
    fail("SHAPE_MISMATCH", "BatchNorm2d expects [N, " + std::to_string(num_features) + ", H, W], got " + c10::str(x.sizes()));
  }
  if (auto* counter = active_op_counter()) counter->batch_norm(this, x, weight.numel() + bias.numel());
  if (x.is_meta()) return torch::empty_like(x);
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps,
                           at::globalContext().userEnabledCuDNN());
}

torch::Tensor relu_any_device(const torch::Tensor& x) { return x.is_meta() ? x : torch::relu(x); }

}  // namespace torchnas
