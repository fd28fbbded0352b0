#include "cell_ops.h"

#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>

#include "../errors.h"
#include "vjp_tape.h"

namespace torchnas {

namespace F = torch::nn::functional;

torch::Tensor Trace::relu(const torch::Tensor& x) const {
  auto y = tape ? tape->relu(x) : torch::relu(x);
  if (relu_outputs && x.dim() == 4) relu_outputs->push_back(y);
  return y;
}

torch::Tensor Trace::avg_pool(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad) const {
  if (tape) return tape->avg_pool(x, kernel, stride, padding, count_include_pad);
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(kernel).stride(stride).padding(padding).count_include_pad(count_include_pad));
}

torch::Tensor Trace::scale(const torch::Tensor& x, double factor) const { return tape ? tape->scale(x, factor) : x * factor; }

torch::Tensor Trace::add(const torch::Tensor& a, const torch::Tensor& b) const { return tape ? tape->add(a, b) : a + b; }

torch::Tensor Trace::constant(const torch::Tensor& t) const { return tape ? tape->constant(t) : t; }

torch::Tensor Trace::global_avg_pool(const torch::Tensor& x) const {
  if (tape) return tape->global_avg_pool(x);
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

torch::Tensor Trace::linear(torch::nn::Linear& linear, const torch::Tensor& x) const {
  if (tape) return tape->linear(linear, x);
  return linear(x);
}

torch::Tensor Trace::conv(torch::nn::Conv2d& conv, const torch::Tensor& x) const {
  if (tape) {
    if (copies != 1) fail("INVALID_ARGUMENT", "the VJP tape runs with copies 1");
    return tape->conv(conv, x);
  }
  if (copies == 1) return conv(x);
  const auto& o = conv->options;
  auto weight = conv->weight.repeat({copies, 1, 1, 1});
  if (expanded) expanded->push_back(weight);
  torch::Tensor bias = conv->bias.defined() ? conv->bias.repeat({copies}) : torch::Tensor();
  return F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).stride(o.stride()).padding(o.padding()).dilation(o.dilation()).groups(o.groups() * copies));
}

torch::Tensor Trace::bn(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) const {
  if (tape) return tape->batch_norm(bn, x);
  if (copies == 1) return bn(x);
  const auto& o = bn->options;
  if (!bn->is_training()) fail("INVALID_ARGUMENT", "wide evaluation needs train-mode BatchNorm (batch statistics)");
  torch::Tensor weight, bias;
  if (o.affine()) {
    weight = bn->weight.repeat({copies});
    bias = bn->bias.repeat({copies});
    if (expanded) expanded->push_back(weight);
  }
  // Running statistics are not updated here: TE-NAS never uses them (§2).
  return torch::batch_norm(x, weight, bias, {}, {}, true, o.momentum().value_or(0.1), o.eps(), false);
}

torch::Tensor Trace::cat_channels(const std::vector<torch::Tensor>& parts) const {
  if (copies == 1) return torch::cat(parts, 1);
  std::vector<torch::Tensor> views;
  for (const auto& p : parts) views.push_back(p.view({p.size(0), copies, p.size(1) / copies, p.size(2), p.size(3)}));
  auto joined = torch::cat(views, 2);
  return joined.view({joined.size(0), -1, joined.size(3), joined.size(4)});
}

int64_t conv_out_side(int64_t side, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return (side + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

double conv_macs(const torch::nn::Conv2d& conv, int64_t out_side) {
  const auto& o = conv->options;
  const auto k = (*o.kernel_size())[0] * (*o.kernel_size())[1];
  return static_cast<double>(o.out_channels() * (o.in_channels() / o.groups()) * k * out_side * out_side);
}

namespace {

torch::nn::Conv2d plain_conv(int64_t c_in, int64_t c_out, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                             int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(c_in, c_out, k).stride(stride).padding(pad).dilation(dilation).groups(groups).bias(false));
}

torch::nn::BatchNorm2d batch_norm(int64_t c, BnFlags bn) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(c).affine(bn.affine).track_running_stats(bn.track_running_stats));
}

// `none`: zeros shaped like the op's output; multiplying keeps it in the autograd graph like the original.
class Zero : public CellOp {
 public:
  Zero(int64_t c_in, int64_t c_out, int64_t stride) : c_in_(c_in), c_out_(c_out), stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override {
    if (c_in_ == c_out_) {
      if (stride_ == 1) return trace.scale(x, 0.);
      using torch::indexing::Slice;
      return x.index({Slice(), Slice(), Slice(torch::indexing::None, torch::indexing::None, stride_),
                      Slice(torch::indexing::None, torch::indexing::None, stride_)})
          .mul(0.);
    }
    auto shape = x.sizes().vec();
    shape[1] = c_out_ * trace.copies;
    shape[2] = (shape[2] + stride_ - 1) / stride_;
    shape[3] = (shape[3] + stride_ - 1) / stride_;
    return trace.constant(torch::zeros(shape, x.options()));
  }
  int64_t cost(int64_t side, Cost&) const override { return (side + stride_ - 1) / stride_; }

 private:
  int64_t c_in_, c_out_, stride_;
};

class Identity : public CellOp {
 public:
  torch::Tensor forward(const torch::Tensor& x, const Trace&) override { return x; }
  int64_t cost(int64_t side, Cost&) const override { return side; }
};

// DARTS/NB201 FactorizedReduce: ReLU → two 1×1 stride-2 convs on x and on x shifted by one pixel → concat → BN.
class FactorizedReduce : public CellOp {
 public:
  FactorizedReduce(int64_t c_in, int64_t c_out, int64_t stride, BnFlags bn) : stride_(stride) {
    if (stride == 2) {
      const int64_t first = c_out / 2;
      conv_a = register_module("conv_a", plain_conv(c_in, first, 1, 2, 0, 1));
      conv_b = register_module("conv_b", plain_conv(c_in, c_out - first, 1, 2, 0, 1));
    } else if (stride == 1) {
      conv_a = register_module("conv_a", plain_conv(c_in, c_out, 1, 1, 0, 1));
    } else {
      fail("INVALID_ARGUMENT", "FactorizedReduce supports stride 1 or 2, got " + std::to_string(stride));
    }
    this->bn = register_module("bn", batch_norm(c_out, bn));
  }
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override {
    auto h = trace.relu(x);
    if (stride_ == 1) return trace.bn(bn, trace.conv(conv_a, h));
    using torch::indexing::Slice;
    auto shifted = F::pad(h, F::PadFuncOptions({0, 1, 0, 1})).index({Slice(), Slice(), Slice(1, torch::indexing::None), Slice(1, torch::indexing::None)});
    return trace.bn(bn, trace.cat_channels({trace.conv(conv_a, h), trace.conv(conv_b, shifted)}));
  }
  int64_t cost(int64_t side, Cost& cost) const override {
    int64_t out = conv_out_side(side, 1, stride_, 0, 1);
    cost.macs += conv_macs(conv_a, out);
    if (conv_b) cost.macs += conv_macs(conv_b, out);
    return out;
  }

 private:
  torch::nn::Conv2d conv_a{nullptr}, conv_b{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  int64_t stride_;
};

// NB201 POOLING: optional ReLUConvBN 1×1 when channels change, then 3×3 pooling (avg excludes padding); no BN.
class Pooling : public CellOp {
 public:
  Pooling(int64_t c_in, int64_t c_out, int64_t stride, bool average, BnFlags bn) : stride_(stride), average_(average) {
    if (c_in != c_out) preprocess = register_module("preprocess", std::make_shared<ReLUConvBN>(c_in, c_out, 1, 1, 0, 1, bn));
  }
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override {
    auto h = preprocess ? preprocess->forward(x, trace) : x;
    if (average_) return trace.avg_pool(h, 3, stride_, 1, /*count_include_pad=*/false);
    return F::max_pool2d(h, F::MaxPool2dFuncOptions(3).stride(stride_).padding(1));
  }
  int64_t cost(int64_t side, Cost& cost) const override {
    if (preprocess) side = preprocess->cost(side, cost);
    return conv_out_side(side, 3, stride_, 1, 1);
  }

 private:
  std::shared_ptr<ReLUConvBN> preprocess;
  int64_t stride_;
  bool average_;
};

// SepConv: ReLU → depthwise conv (k, stride, dilation) → pointwise 1×1 → BN.
class SepConv : public CellOp {
 public:
  SepConv(int64_t c_in, int64_t c_out, int64_t k, int64_t stride, int64_t pad, int64_t dilation, BnFlags bn)
      : k_(k), stride_(stride), pad_(pad), dilation_(dilation) {
    depthwise = register_module("depthwise", plain_conv(c_in, c_in, k, stride, pad, dilation, c_in));
    pointwise = register_module("pointwise", plain_conv(c_in, c_out, 1, 1, 0, 1));
    this->bn = register_module("bn", batch_norm(c_out, bn));
  }
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override {
    return trace.bn(bn, trace.conv(pointwise, trace.conv(depthwise, trace.relu(x))));
  }
  int64_t cost(int64_t side, Cost& cost) const override {
    int64_t out = conv_out_side(side, k_, stride_, pad_, dilation_);
    cost.macs += conv_macs(depthwise, out) + conv_macs(pointwise, out);
    return out;
  }

 private:
  int64_t k_, stride_, pad_, dilation_;
  torch::nn::Conv2d depthwise{nullptr}, pointwise{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};

// DualSepConv (the NB201 code base's `sep_conv_k`): SepConv(stride, C_in→C_in) then SepConv(1, C_in→C_out).
class DualSepConv : public CellOp {
 public:
  DualSepConv(int64_t c_in, int64_t c_out, int64_t k, int64_t stride, int64_t pad, BnFlags bn) {
    op_a = register_module("op_a", std::make_shared<SepConv>(c_in, c_in, k, stride, pad, 1, bn));
    op_b = register_module("op_b", std::make_shared<SepConv>(c_in, c_out, k, 1, pad, 1, bn));
  }
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override {
    return op_b->forward(op_a->forward(x, trace), trace);
  }
  int64_t cost(int64_t side, Cost& cost) const override { return op_b->cost(op_a->cost(side, cost), cost); }

 private:
  std::shared_ptr<SepConv> op_a, op_b;
};

}  // namespace

ReLUConvBN::ReLUConvBN(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                       BnFlags bn)
    : k_(kernel), stride_(stride), pad_(padding), dilation_(dilation) {
  conv = register_module("conv", plain_conv(c_in, c_out, kernel, stride, padding, dilation));
  this->bn = register_module("bn", batch_norm(c_out, bn));
}

torch::Tensor ReLUConvBN::forward(const torch::Tensor& x, const Trace& trace) { return trace.bn(bn, trace.conv(conv, trace.relu(x))); }

int64_t ReLUConvBN::cost(int64_t side, Cost& cost) const {
  int64_t out = conv_out_side(side, k_, stride_, pad_, dilation_);
  cost.macs += conv_macs(conv, out);
  return out;
}

ResNetBasicBlock::ResNetBasicBlock(int64_t c_in, int64_t c_out, int64_t stride, BnFlags bn) : stride_(stride) {
  if (stride != 1 && stride != 2) fail("INVALID_ARGUMENT", "ResNetBasicBlock stride must be 1 or 2");
  conv_a = register_module("conv_a", std::make_shared<ReLUConvBN>(c_in, c_out, 3, stride, 1, 1, bn));
  conv_b = register_module("conv_b", std::make_shared<ReLUConvBN>(c_out, c_out, 3, 1, 1, 1, bn));
  if (stride == 2) {
    downsample = register_module("downsample", plain_conv(c_in, c_out, 1, 1, 0, 1));
  } else if (c_in != c_out) {
    project = register_module("project", std::make_shared<ReLUConvBN>(c_in, c_out, 1, 1, 0, 1, bn));
  }
}

torch::Tensor ResNetBasicBlock::forward(const torch::Tensor& x, const Trace& trace) {
  auto out = conv_b->forward(conv_a->forward(x, trace), trace);
  torch::Tensor residual = x;
  if (downsample) residual = trace.conv(downsample, trace.avg_pool(x, 2, 2, 0, /*count_include_pad=*/true));
  else if (project) residual = project->forward(x, trace);
  return trace.add(residual, out);
}

int64_t ResNetBasicBlock::cost(int64_t side, Cost& cost) const {
  int64_t out = conv_b->cost(conv_a->cost(side, cost), cost);
  if (downsample) cost.macs += conv_macs(downsample, side / 2);
  if (project) project->cost(side, cost);
  return out;
}

CellOpPtr make_cell_op(const std::string& name, int64_t c_in, int64_t c_out, int64_t stride, BnFlags bn) {
  if (name == "none") return std::make_shared<Zero>(c_in, c_out, stride);
  if (name == "skip_connect") {
    if (stride == 1 && c_in == c_out) return std::make_shared<Identity>();
    return std::make_shared<FactorizedReduce>(c_in, c_out, stride, bn);
  }
  if (name == "nor_conv_1x1") return std::make_shared<ReLUConvBN>(c_in, c_out, 1, stride, 0, 1, bn);
  if (name == "nor_conv_3x3") return std::make_shared<ReLUConvBN>(c_in, c_out, 3, stride, 1, 1, bn);
  if (name == "avg_pool_3x3") return std::make_shared<Pooling>(c_in, c_out, stride, true, bn);
  if (name == "max_pool_3x3") return std::make_shared<Pooling>(c_in, c_out, stride, false, bn);
  if (name == "sep_conv_3x3") return std::make_shared<DualSepConv>(c_in, c_out, 3, stride, 1, bn);
  if (name == "sep_conv_5x5") return std::make_shared<DualSepConv>(c_in, c_out, 5, stride, 2, bn);
  if (name == "dil_conv_3x3") return std::make_shared<SepConv>(c_in, c_out, 3, stride, 2, 2, bn);
  if (name == "dil_conv_5x5") return std::make_shared<SepConv>(c_in, c_out, 5, stride, 4, 2, bn);
  fail("INVALID_ARGUMENT", "unknown cell operation '" + name + "'");
}

}  // namespace torchnas
