// The cell operations of the NB201 and DARTS spaces as the TE-NAS/NB201 code base defines them
// (specs/tenas.md §1.1, §1.2, §1.4): pre-activation ReLU→Conv→BN, pooling without BN, Zero, Identity,
// FactorizedReduce, separable and dilated convs, and the ResNet block between NB201 stages.
//
// Every op forwards through `Trace`, which can collect post-ReLU outputs (linear regions, §3) and is
// also how MAC counts are taken without running anything (`macs`).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace torchnas {

class VjpTape;

// How a forward runs. `relu_outputs` collects the output of every ReLU whose input is 4-D (what TE-NAS's
// forward hooks record). Wide mode (copies > 1) runs `copies` copies of the network side by side: the
// batch is repeated along channels (copy-major), every conv becomes a grouped conv over per-copy weights and
// BN normalises each copy's channels on their own, so copy k computes exactly what the plain network does;
// the per-copy weights (conv weights, BN γ, classifier weight) go to `expanded` in execution order, and one
// backward with a different output selected per copy yields `copies` per-sample gradients at once (NTK).
// With `tape` set (copies 1), the ops below record onto it for the batched NTK backward (vjp_tape.h); ops
// that do not go through Trace leave the tape unsupported, so the caller falls back to autograd.
struct Trace {
  std::vector<torch::Tensor>* relu_outputs = nullptr;
  int64_t copies = 1;
  std::vector<torch::Tensor>* expanded = nullptr;
  VjpTape* tape = nullptr;

  torch::Tensor relu(const torch::Tensor& x) const;
  torch::Tensor conv(torch::nn::Conv2d& conv, const torch::Tensor& x) const;
  torch::Tensor bn(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) const;
  torch::Tensor avg_pool(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad) const;
  torch::Tensor scale(const torch::Tensor& x, double factor) const;
  torch::Tensor add(const torch::Tensor& a, const torch::Tensor& b) const;
  // A tensor that depends on neither input nor parameters (zeros of an unconnected node or op).
  torch::Tensor constant(const torch::Tensor& t) const;
  // [B, C, H, W] → [B, C]: adaptive average pooling to 1×1, flattened.
  torch::Tensor global_avg_pool(const torch::Tensor& x) const;
  torch::Tensor linear(torch::nn::Linear& linear, const torch::Tensor& x) const;
  // Concatenates channel blocks per copy (keeps the copy-major layout in wide mode).
  torch::Tensor cat_channels(const std::vector<torch::Tensor>& parts) const;
};

struct BnFlags {
  bool affine = true;
  bool track_running_stats = true;
};

// Multiply-accumulate count of one forward of a single input at spatial size `side` (square),
// following the NB201 table's convention (conv and linear only; BN, pooling and additions free).
struct Cost {
  double macs = 0;
};

class CellOp : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const Trace& trace) = 0;
  // Adds this op's MACs for an input of side × side; returns the output side.
  virtual int64_t cost(int64_t side, Cost& cost) const = 0;
};

using CellOpPtr = std::shared_ptr<CellOp>;

// Builds the op called `name` ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
// "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3").
// Module construction order (and so RNG consumption) follows the original code.
CellOpPtr make_cell_op(const std::string& name, int64_t c_in, int64_t c_out, int64_t stride, BnFlags bn);

// ReLU → Conv(k, stride, pad, dilation, groups 1, no bias) → BN.
class ReLUConvBN : public CellOp {
 public:
  ReLUConvBN(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, BnFlags bn);
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override;
  int64_t cost(int64_t side, Cost& cost) const override;

 private:
  int64_t k_, stride_, pad_, dilation_;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};

// NB201 `ResNetBasicblock`: conv_a (stride) → conv_b, plus a residual (AvgPool 2 → Conv1x1 for stride 2).
class ResNetBasicBlock : public CellOp {
 public:
  ResNetBasicBlock(int64_t c_in, int64_t c_out, int64_t stride, BnFlags bn);
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace) override;
  int64_t cost(int64_t side, Cost& cost) const override;

 private:
  std::shared_ptr<ReLUConvBN> conv_a, conv_b, project;
  torch::nn::Conv2d downsample{nullptr};
  int64_t stride_;
};

int64_t conv_out_side(int64_t side, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation);
double conv_macs(const torch::nn::Conv2d& conv, int64_t out_side);

}  // namespace torchnas
