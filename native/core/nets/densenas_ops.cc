#include "densenas_ops.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <regex>

#include "../errors.h"
#include "../ops/batch_norm_train.h"
#include "../ops/depthwise_conv.h"

namespace torchnas {

namespace {

// act(bn(x)): in training mode on our batch-norm kernels (batch_norm_train.h), else the module's forward.
torch::Tensor bn_relu6(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) { return batch_norm_act(bn, x, BnActivation::kRelu6); }
torch::Tensor bn_relu(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) { return batch_norm_act(bn, x, BnActivation::kRelu); }
torch::Tensor bn_only(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) { return batch_norm_act(bn, x, BnActivation::kNone); }

void check_channels(const std::string& op, int64_t in, int64_t out, int64_t stride) {
  if (in < 1 || out < 1) fail("INVALID_ARGUMENT", op + " needs positive channels, got " + std::to_string(in) + "→" + std::to_string(out));
  if (stride != 1 && stride != 2) fail("INVALID_ARGUMENT", op + ": stride must be 1 or 2, got " + std::to_string(stride));
}

}  // namespace

torch::nn::Conv2d dense_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).groups(groups).bias(false));
}

torch::nn::BatchNorm2d dense_bn(int64_t channels, bool affine, const DenseBnSettings& bn) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).affine(affine).track_running_stats(true).momentum(bn.momentum).eps(bn.eps));
}

MbConvImpl::MbConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t expansion, int64_t stride, bool affine, const DenseBnSettings& bn)
    : residual(in == out && stride == 1), stride_(stride), padding_((kernel - 1) / 2) {
  check_channels("mbconv", in, out, stride);
  const int64_t hidden = in * expansion;
  if (expansion > 1) {
    expand = register_module("expand", dense_conv(in, hidden, 1, 1, 1));
    expand_bn = register_module("expand_bn", dense_bn(hidden, affine, bn));
  }
  depthwise = register_module("depthwise", dense_conv(hidden, hidden, kernel, stride, hidden));
  depthwise_bn = register_module("depthwise_bn", dense_bn(hidden, affine, bn));
  project = register_module("project", dense_conv(hidden, out, 1, 1, 1));
  // Quirk (§2): the t = 1 block's last BN is a default, affine BN whatever the caller asked.
  project_bn = register_module("project_bn", dense_bn(out, expansion == 1 ? true : affine, bn));
}

torch::Tensor MbConvImpl::forward(const torch::Tensor& x) {
  auto h = x;
  if (expand) h = bn_relu6(expand_bn, expand->forward(h));
  // The registered conv's weight, through depthwise_conv2d (same forward; a faster weight gradient, depthwise_conv.h).
  h = bn_relu6(depthwise_bn, depthwise_conv2d(h, depthwise->weight, stride_, padding_));
  h = bn_only(project_bn, project->forward(h));
  // "iff the output shape equals the input shape": decided from the construction (same channels,
  // stride 1 keeps H and W), which is what the shape test amounts to for these convolutions.
  return residual ? h + x : h;
}

DenseBasicBlockImpl::DenseBasicBlockImpl(int64_t in, int64_t out, int64_t stride, bool affine, const DenseBnSettings& bn) {
  check_channels("basic_block", in, out, stride);
  conv1 = register_module("conv1", dense_conv(in, out, 3, stride, 1));
  bn1 = register_module("bn1", dense_bn(out, affine, bn));
  conv2 = register_module("conv2", dense_conv(out, out, 3, 1, 1));
  bn2 = register_module("bn2", dense_bn(out, affine, bn));
  if (stride != 1 || in != out) {
    shortcut = register_module("shortcut", dense_conv(in, out, 1, stride, 1));
    shortcut_bn = register_module("shortcut_bn", dense_bn(out, affine, bn));
  }
}

torch::Tensor DenseBasicBlockImpl::forward(const torch::Tensor& x) {
  auto h = bn_relu(bn1, conv1->forward(x));
  h = bn_only(bn2, conv2->forward(h));
  auto s = shortcut ? bn_only(shortcut_bn, shortcut->forward(x)) : x;
  return torch::relu(h + s);
}

SkipConnectImpl::SkipConnectImpl(int64_t in, int64_t out, bool affine, const DenseBnSettings& settings) {
  check_channels("skip_connect", in, out, 1);
  if (in != out) {
    conv = register_module("conv", dense_conv(in, out, 1, 1, 1));
    bn = register_module("bn", dense_bn(out, affine, settings));
  }
}

torch::Tensor SkipConnectImpl::forward(const torch::Tensor& x) { return conv ? bn_only(bn, conv->forward(x)) : x; }

Conv1x1BranchImpl::Conv1x1BranchImpl(int64_t in, int64_t out, bool affine, const DenseBnSettings& settings) {
  check_channels("conv1_1", in, out, 1);
  conv = register_module("conv", dense_conv(in, out, 1, 1, 1));
  bn = register_module("bn", dense_bn(out, affine, settings));
}

torch::Tensor Conv1x1BranchImpl::forward(const torch::Tensor& x) { return bn_relu6(bn, conv->forward(x)); }

DenseStemImpl::DenseStemImpl(int64_t in, int64_t out, int64_t stride, bool relu6, bool affine, const DenseBnSettings& bn) : relu6_(relu6) {
  check_channels("stem", in, out, stride);
  conv = register_module("conv", dense_conv(in, out, 3, stride, 1));
  norm = register_module("bn", dense_bn(out, affine, bn));
}

torch::Tensor DenseStemImpl::forward(const torch::Tensor& x) {
  return relu6_ ? bn_relu6(norm, conv->forward(x)) : bn_relu(norm, conv->forward(x));
}

namespace {
const std::regex& mbconv_name() {
  static const std::regex re("mbconv_k([357])_t([136])");
  return re;
}
}  // namespace

bool is_dense_op(const std::string& name) {
  return name == "basic_block" || name == "skip_connect" || std::regex_match(name, mbconv_name());
}

std::shared_ptr<DenseOpImpl> make_dense_op(const std::string& name, int64_t in, int64_t out, int64_t stride, bool affine,
                                           const DenseBnSettings& bn) {
  std::smatch m;
  if (std::regex_match(name, m, mbconv_name())) {
    return std::make_shared<MbConvImpl>(in, out, std::stoi(m[1]), std::stoi(m[2]), stride, affine, bn);
  }
  if (name == "basic_block") return std::make_shared<DenseBasicBlockImpl>(in, out, stride, affine, bn);
  if (name == "skip_connect") {
    if (stride != 1) {
      fail("INVALID_ARGUMENT", "skip_connect on a stride-" + std::to_string(stride) +
                                   " edge: the original builds it with stride 1 and its output would not match the other ops'");
    }
    return std::make_shared<SkipConnectImpl>(in, out, affine, bn);
  }
  fail("INVALID_ARGUMENT", "unknown DenseNAS op '" + name + "' (expected mbconv_k{3,5,7}_t{1,3,6}, basic_block or skip_connect)");
}

void init_dense_module(torch::nn::Module& module, DenseInit init, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {  // callable from a constructor
    if (auto* conv = child->as<torch::nn::Conv2d>()) {
      const auto& o = conv->options;
      const double k = static_cast<double>((*o.kernel_size())[0] * (*o.kernel_size())[1]);
      const double groups = init == DenseInit::kHeFout ? static_cast<double>(o.groups()) : 1.0;
      const double fan_out = k * static_cast<double>(o.out_channels()) / groups;
      conv->weight.normal_(0.0, std::sqrt(2.0 / fan_out), generator);
    } else if (auto* bn = child->as<torch::nn::BatchNorm2d>()) {
      if (bn->options.affine()) {
        bn->weight.fill_(1.0);
        bn->bias.fill_(0.0);
      }
    } else if (auto* linear = child->as<torch::nn::Linear>()) {
      // PyTorch's default Linear weight init (kaiming-uniform, a = sqrt(5): U(±1/sqrt(in))), bias 0.
      const double bound = 1.0 / std::sqrt(static_cast<double>(linear->options.in_features()));
      linear->weight.uniform_(-bound, bound, generator);
      if (linear->bias.defined()) linear->bias.fill_(0.0);
    }
  }
}

}  // namespace torchnas
