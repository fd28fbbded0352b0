#include "conv_blocks.h"

namespace torchnas {

ConvBnReluImpl::ConvBnReluImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                               const torch::Device& device, bool relu_)
    : relu(relu_) {
  conv = register_module("conv", Conv2dLayer(Conv2dLayerOptions{in_channels, out_channels, kernel, stride}, device));
  bn = register_module("bn", BatchNorm2dLayer(out_channels, device));
}

torch::Tensor ConvBnReluImpl::forward(const torch::Tensor& x) {
  auto y = bn(conv(x));
  return relu ? relu_any_device(y) : y;
}

BasicBlockImpl::BasicBlockImpl(int64_t channels, const torch::Device& device) {
  conv1 = register_module("conv1", Conv2dLayer(Conv2dLayerOptions{channels, channels, 3, 1}, device));
  bn1 = register_module("bn1", BatchNorm2dLayer(channels, device));
  conv2 = register_module("conv2", Conv2dLayer(Conv2dLayerOptions{channels, channels, 3, 1}, device));
  bn2 = register_module("bn2", BatchNorm2dLayer(channels, device));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = relu_any_device(bn1(conv1(x)));
  out = bn2(conv2(out));
  return relu_any_device(out + x);
}

void init_counted_convs(torch::nn::Module& module, at::Generator& generator) {
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<Conv2dLayerImpl>()) {
      conv->init_kaiming_normal_fan_out(generator);
      conv->init_default_bias(generator);
    }
  }
}

}  // namespace torchnas
