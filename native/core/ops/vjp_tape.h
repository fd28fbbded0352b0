// A forward tape with a hand-derived backward that carries V vector-Jacobian products at once, for the
// few operations of the NB201 cell networks (NTK, specs/tenas.md §2): conv (groups 1), train-mode
// BatchNorm, ReLU, average pooling, scaling (mixed-op weights, `none` as ×0), addition, constants (zeros),
// global average pooling and linear.
//
// The forward runs the same kernels as the plain forward (same values, BN running stats updated as a
// side effect) without an autograd graph, and saves what the backward needs. The backward keeps one
// gradient per taped tensor, shaped [V·B, …]: the VJP index is folded into the batch dimension, so conv
// input gradients and pooling backward are one call each over all V; conv weight gradients stack the V
// gradients into the output-channel dimension (one convolution_backward call); BN backward is the closed
// form, reduced per VJP. Parameter gradients come back as [V, numel] per parameter.
//
// Any tensor consumed by a taped op must be the tape's input, a taped op's output or a registered
// constant; anything else (an op the tape does not know ran in between) throws VjpTapeUnsupported from
// the recording op, and the caller falls back to autograd. Same for grouped convs, which the weight
// stacking does not cover.
#pragma once
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace torchnas {

// Thrown by VjpTape::backward when the forward used something the tape does not cover.
class VjpTapeUnsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class VjpTape {
 public:
  // `input` is the network input: known, and no gradient is taken for it.
  explicit VjpTape(const torch::Tensor& input);
  ~VjpTape();
  VjpTape(const VjpTape&) = delete;
  VjpTape& operator=(const VjpTape&) = delete;

  torch::Tensor relu(const torch::Tensor& x);
  torch::Tensor conv(torch::nn::Conv2d& conv, const torch::Tensor& x);
  torch::Tensor batch_norm(torch::nn::BatchNorm2d& bn, const torch::Tensor& x);
  torch::Tensor avg_pool(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad);
  torch::Tensor scale(const torch::Tensor& x, double factor);
  torch::Tensor add(const torch::Tensor& a, const torch::Tensor& b);
  // A tensor that does not depend on the input or parameters (e.g. the zeros of an unconnected node).
  torch::Tensor constant(const torch::Tensor& t);
  // [B, C, H, W] → [B, C] (adaptive average pooling to 1×1, flattened).
  torch::Tensor global_avg_pool(const torch::Tensor& x);
  torch::Tensor linear(torch::nn::Linear& linear, const torch::Tensor& x);

  // Whether the forward so far stayed within what the tape covers; `why` says what broke it.
  bool supported() const { return unsupported_.empty(); }
  const std::string& why_unsupported() const { return unsupported_; }

  // Elements per sample of the largest taped activation (to size VJP chunks).
  int64_t max_sample_elements() const { return max_sample_elements_; }

  // V VJPs of `output` at once: `seeds` is [V, *output.sizes()]. Returns, per entry of `parameters`, its
  // gradients [V, numel], or an undefined tensor when no gradient path reaches it (grad None under
  // autograd). A path through a ×0 still counts as reached (zeros), as it does under autograd.
  // `between_ops` (optional) runs before each op's backward, e.g. to throw on cancellation.
  std::vector<torch::Tensor> backward(const torch::Tensor& output, const torch::Tensor& seeds,
                                      const std::vector<torch::Tensor>& parameters,
                                      const std::function<void()>& between_ops = {}) const;

 private:
  struct Node;
  // Whether x depends on a parameter; marks the tape unsupported when x is unknown.
  bool needs_grad(const torch::Tensor& x, const char* op);
  torch::Tensor record(std::unique_ptr<Node> node, bool needs);

  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<torch::Tensor> constants_;  // kept alive so their addresses stay theirs
  std::unordered_map<const void*, bool> known_;  // TensorImpl* → depends on a parameter
  torch::Tensor input_;
  std::string unsupported_;
  int64_t batch_ = 0;
  int64_t max_sample_elements_ = 0;
};

}  // namespace torchnas
