#include "vjp_tape.h"

#include "kernel_choice.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/pooling.h>
#include <torch/version.h>

#include <algorithm>
#include <utility>
#include <variant>

// Conv options hold their padding in c10::variant in LibTorch 1.x and in std::variant from 2.0 on.
#if TORCH_VERSION_MAJOR >= 2
namespace variant_ns = std;
#else
namespace variant_ns = c10;
#endif

namespace torchnas {

namespace F = torch::nn::functional;

struct VjpTape::Node {
  enum Kind { kRelu, kConv, kBatchNorm, kAvgPool, kScale, kAdd, kGlobalPool, kLinear } kind;
  std::vector<torch::Tensor> inputs;
  std::vector<bool> input_needs;
  torch::Tensor output;
  torch::Tensor weight;  // conv / BN γ / linear weight (undefined: none)
  // conv and pooling geometry
  std::vector<int64_t> stride, padding, dilation;
  int64_t kernel = 0;
  bool count_include_pad = false;
  // BN: x̂ [B, C, H, W] and γ·invstd [C]
  torch::Tensor xhat, gain;
  torch::Tensor cols;  // conv: im2col of the input [B, I·k·k, L] for the weight gradients
  double factor = 1.0;
};

VjpTape::VjpTape(const torch::Tensor& input) : input_(input) {
  known_[input.unsafeGetTensorImpl()] = false;
  batch_ = input.dim() > 0 ? input.size(0) : 0;
}

VjpTape::~VjpTape() = default;

bool VjpTape::needs_grad(const torch::Tensor& x, const char* op) {
  auto it = known_.find(x.unsafeGetTensorImpl());
  if (it == known_.end()) {
    // Stop the forward here: the rest of it would be wasted before the fallback.
    unsupported_ = std::string("the input of a taped ") + op + " comes from an operation the tape does not cover";
    throw VjpTapeUnsupported(unsupported_);
  }
  return it->second;
}

torch::Tensor VjpTape::record(std::unique_ptr<Node> node, bool needs) {
  auto out = node->output;
  known_[out.unsafeGetTensorImpl()] = needs;
  if (out.dim() >= 1 && out.size(0) == batch_ && batch_ > 0) {
    max_sample_elements_ = std::max<int64_t>(max_sample_elements_, out.numel() / batch_);
  }
  if (needs) nodes_.push_back(std::move(node));
  else constants_.push_back(out);  // keep it alive (and its address reserved) all the same
  return out;
}

torch::Tensor VjpTape::relu(const torch::Tensor& x) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kRelu;
  bool needs = needs_grad(x, "ReLU");
  node->inputs = {x};
  node->input_needs = {needs};
  node->output = torch::relu(x);
  return record(std::move(node), needs);
}

torch::Tensor VjpTape::conv(torch::nn::Conv2d& conv, const torch::Tensor& x) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kConv;
  bool in_needs = needs_grad(x, "conv");
  const auto& o = conv->options;
  if (o.groups() != 1) throw VjpTapeUnsupported(unsupported_ = "grouped convolutions (groups " + std::to_string(o.groups()) + ")");
  if (!variant_ns::holds_alternative<torch::ExpandingArray<2>>(o.padding())) throw VjpTapeUnsupported(unsupported_ = "convolutions with string padding");
  node->inputs = {x};
  node->input_needs = {in_needs};
  node->weight = conv->weight;
  node->stride = std::vector<int64_t>(o.stride()->begin(), o.stride()->end());
  if (variant_ns::holds_alternative<torch::ExpandingArray<2>>(o.padding())) {
    const auto& p = variant_ns::get<torch::ExpandingArray<2>>(o.padding());
    node->padding = std::vector<int64_t>(p->begin(), p->end());
  } else {
    node->padding = {0, 0};
  }
  node->dilation = std::vector<int64_t>(o.dilation()->begin(), o.dilation()->end());
  node->output = conv(x);
  if (conv->weight.requires_grad()) {
    const auto& w = conv->weight;
    node->cols = at::im2col(x, {w.size(2), w.size(3)}, node->dilation, node->padding, node->stride);
  }
  return record(std::move(node), in_needs || conv->weight.requires_grad());
}

torch::Tensor VjpTape::batch_norm(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kBatchNorm;
  bool in_needs = needs_grad(x, "BatchNorm");
  if (!bn->is_training() && unsupported_.empty()) unsupported_ = "eval-mode BatchNorm";
  const auto& o = bn->options;
  // What BatchNormImpl::forward does in train mode, through the kernel that also returns the saved statistics.
  double momentum = o.momentum().value_or(0.1);
  if (bn->is_training() && o.track_running_stats()) {
    bn->num_batches_tracked += 1;
    if (!o.momentum().has_value()) momentum = 1.0 / bn->num_batches_tracked.item<double>();
  }
  torch::Tensor weight = o.affine() ? bn->weight : torch::Tensor();
  torch::Tensor bias = o.affine() ? bn->bias : torch::Tensor();
  auto [out, save_mean, save_invstd] =
      torch::native_batch_norm(x, weight, bias, o.track_running_stats() ? bn->running_mean : torch::Tensor(),
                               o.track_running_stats() ? bn->running_var : torch::Tensor(), true, momentum, o.eps());
  const int64_t c = x.size(1);
  node->inputs = {x};
  node->input_needs = {in_needs};
  node->output = out;
  node->xhat = (x - save_mean.view({1, c, 1, 1}).to(x.scalar_type())) * save_invstd.view({1, c, 1, 1}).to(x.scalar_type());
  node->gain = save_invstd.to(x.scalar_type());
  if (o.affine()) {
    node->weight = bn->weight;
    node->gain = node->gain * bn->weight;
  }
  return record(std::move(node), in_needs || (o.affine() && bn->weight.requires_grad()));
}

torch::Tensor VjpTape::avg_pool(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kAvgPool;
  bool needs = needs_grad(x, "average pooling");
  node->inputs = {x};
  node->input_needs = {needs};
  node->kernel = kernel;
  node->stride = {stride, stride};
  node->padding = {padding, padding};
  node->count_include_pad = count_include_pad;
  node->output = F::avg_pool2d(x, F::AvgPool2dFuncOptions(kernel).stride(stride).padding(padding).count_include_pad(count_include_pad));
  return record(std::move(node), needs);
}

torch::Tensor VjpTape::scale(const torch::Tensor& x, double factor) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kScale;
  bool needs = needs_grad(x, "scaling");
  node->inputs = {x};
  node->input_needs = {needs};
  node->factor = factor;
  node->output = x * factor;
  return record(std::move(node), needs);
}

torch::Tensor VjpTape::add(const torch::Tensor& a, const torch::Tensor& b) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kAdd;
  bool na = needs_grad(a, "addition"), nb = needs_grad(b, "addition");
  node->inputs = {a, b};
  node->input_needs = {na, nb};
  node->output = a + b;
  return record(std::move(node), na || nb);
}

torch::Tensor VjpTape::constant(const torch::Tensor& t) {
  known_[t.unsafeGetTensorImpl()] = false;
  constants_.push_back(t);
  return t;
}

torch::Tensor VjpTape::global_avg_pool(const torch::Tensor& x) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kGlobalPool;
  bool needs = needs_grad(x, "global pooling");
  if (x.dim() != 4 && unsupported_.empty()) unsupported_ = "global pooling of a non-4-D tensor";
  node->inputs = {x};
  node->input_needs = {needs};
  node->output = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return record(std::move(node), needs);
}

torch::Tensor VjpTape::linear(torch::nn::Linear& linear, const torch::Tensor& x) {
  auto node = std::make_unique<Node>();
  node->kind = Node::kLinear;
  bool in_needs = needs_grad(x, "linear");
  if (x.dim() != 2 && unsupported_.empty()) unsupported_ = "linear on a non-2-D input";
  node->inputs = {x};
  node->input_needs = {in_needs};
  node->weight = linear->weight;
  node->output = linear(x);
  return record(std::move(node), in_needs || linear->weight.requires_grad());
}

namespace {

// A VJP gradient slot: the gradient is factor · value, value [V·B, …]; an undefined value is exact zeros
// (reached through a ×0). Scalings (mixed-op weights, skip) only change the factor; the consumers fold it
// into what they compute anyway, so a scaling costs no pass over the data.
struct Slot {
  torch::Tensor value;
  double factor = 1.0;
};

// Whether `t` is the only holder of its storage (so it may be updated in place).
bool exclusive(const torch::Tensor& t) { return t.use_count() == 1 && t.storage().use_count() == 1; }

// ReLU backward of V gradients at once: out[v, s] = y[s] > 0 ? f·g[v, s] : 0, with y [S] and g [V, S].
// With `into` defined (contiguous, shaped like g, held by no one else) it adds the result there instead.
torch::Tensor relu_vjp(const torch::Tensor& g, const torch::Tensor& y, double f, const torch::Tensor& into = {}) {
  auto gc = g.contiguous();
  auto yc = y.contiguous();
  const bool add = into.defined();
  auto out = add ? into : torch::empty_like(gc);
  const int64_t per = yc.numel();
  const int64_t v = gc.numel() / per;
  AT_DISPATCH_FLOATING_TYPES(gc.scalar_type(), "relu_vjp", [&] {
    const scalar_t* gp = gc.data_ptr<scalar_t>();
    const scalar_t* yp = yc.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    const scalar_t fs = static_cast<scalar_t>(f);
    const int64_t block = 4096;
    const int64_t blocks = (per + block - 1) / block;
    at::parallel_for(0, v * blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t k = i / blocks, lo = (i % blocks) * block, hi = std::min(per, lo + block);
        const scalar_t* gk = gp + k * per;
        scalar_t* ok = op + k * per;
        // Branch-free, every load unconditional, so the compiler vectorises it (the signs of y are random:
        // a branch per element mispredicted half the time and cost a fifth of the whole NTK).
        if (add) {
          for (int64_t j = lo; j < hi; ++j) {
            const scalar_t gv = fs * gk[j];
            ok[j] += yp[j] > 0 ? gv : scalar_t(0);
          }
        } else {
          for (int64_t j = lo; j < hi; ++j) {
            const scalar_t gv = fs * gk[j];
            ok[j] = yp[j] > 0 ? gv : scalar_t(0);
          }
        }
      }
    });
  });
  return out;
}

// Average-pooling backward for stride 1 and kernel 2p+1 (NB201's 3×3 pool), count_include_pad false:
// grad_in = box-sum over the window of g / count (count: the window's in-bounds size at each output).
// Per plane: scale and sum along rows, then sum the row sums along columns. g [N, C, H, W] → same shape.
torch::Tensor box_pool_vjp(const torch::Tensor& g, int64_t pad) {
  auto gc = g.contiguous();
  auto out = torch::empty_like(gc);
  const int64_t h = gc.size(2), w = gc.size(3);
  const int64_t planes = gc.numel() / (h * w);
  AT_DISPATCH_FLOATING_TYPES(gc.scalar_type(), "box_pool_vjp", [&] {
    std::vector<scalar_t> inv(static_cast<size_t>(h * w));
    for (int64_t i = 0; i < h; ++i) {
      const int64_t rows = std::min(h, i + pad + 1) - std::max<int64_t>(0, i - pad);
      for (int64_t j = 0; j < w; ++j) {
        const int64_t cols = std::min(w, j + pad + 1) - std::max<int64_t>(0, j - pad);
        inv[i * w + j] = scalar_t(1) / static_cast<scalar_t>(rows * cols);
      }
    }
    const scalar_t* gp = gc.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> rowsum(static_cast<size_t>(h * w));
      for (int64_t pl = begin; pl < end; ++pl) {
        const scalar_t* gi = gp + pl * h * w;
        scalar_t* oi = op + pl * h * w;
        for (int64_t i = 0; i < h; ++i) {
          const scalar_t* gr = gi + i * w;
          const scalar_t* ir = inv.data() + i * w;
          scalar_t* rr = rowsum.data() + i * w;
          for (int64_t j = 0; j < w; ++j) {
            scalar_t acc = 0;
            const int64_t lo = std::max<int64_t>(0, j - pad), hi = std::min(w, j + pad + 1);
            for (int64_t q = lo; q < hi; ++q) acc += gr[q] * ir[q];
            rr[j] = acc;
          }
        }
        for (int64_t i = 0; i < h; ++i) {
          scalar_t* orow = oi + i * w;
          const int64_t lo = std::max<int64_t>(0, i - pad), hi = std::min(h, i + pad + 1);
          for (int64_t j = 0; j < w; ++j) orow[j] = 0;
          for (int64_t r = lo; r < hi; ++r) {
            const scalar_t* rr = rowsum.data() + r * w;
            for (int64_t j = 0; j < w; ++j) orow[j] += rr[j];
          }
        }
      }
    });
  });
  return out;
}

// Train-mode BN backward of V gradients at once, closed form, reduced per VJP. g [V, B, C, HW] (times f),
// x̂ [B, C, HW], gain = γ·invstd [C]. Returns dγ [V, C] = f·Σ g·x̂ and, if wanted, dx (same shape as g):
// gain·f·(g − mean g − x̂·mean(g·x̂)), means over (B, HW) per VJP and channel.
std::pair<torch::Tensor, torch::Tensor> batch_norm_vjp(const torch::Tensor& g, const torch::Tensor& xhat, const torch::Tensor& gain,
                                                       double f, int64_t v, int64_t b, bool want_dx) {
  auto gc = g.contiguous();
  auto xc = xhat.contiguous();
  auto gn = gain.contiguous();
  const int64_t c = xc.size(1);
  const int64_t hw = xc.numel() / (b * c);
  auto sums = torch::empty({v, c, 2}, torch::kFloat64);
  double* sp = sums.data_ptr<double>();
  torch::Tensor dx;
  if (want_dx) dx = torch::empty_like(gc);
  AT_DISPATCH_FLOATING_TYPES(gc.scalar_type(), "batch_norm_vjp", [&] {
    const scalar_t* gp = gc.data_ptr<scalar_t>();
    const scalar_t* xp = xc.data_ptr<scalar_t>();
    at::parallel_for(0, v * c, 1, [&](int64_t begin, int64_t end) {
      for (int64_t vc = begin; vc < end; ++vc) {
        const int64_t k = vc / c, ch = vc % c;
        double s1 = 0, s2 = 0;
        for (int64_t i = 0; i < b; ++i) {
          const scalar_t* gi = gp + ((k * b + i) * c + ch) * hw;
          const scalar_t* xi = xp + (i * c + ch) * hw;
          // Eight partial sums per statistic (vectorised; one running sum made this loop scalar).
          constexpr int kLanes = 8;
          scalar_t p1[kLanes] = {}, p2[kLanes] = {};
          int64_t j = 0;
          for (; j + kLanes <= hw; j += kLanes) {
            for (int l = 0; l < kLanes; ++l) {
              p1[l] += gi[j + l];
              p2[l] += gi[j + l] * xi[j + l];
            }
          }
          for (; j < hw; ++j) {
            p1[0] += gi[j];
            p2[0] += gi[j] * xi[j];
          }
          for (int l = 0; l < kLanes; ++l) {
            s1 += p1[l];
            s2 += p2[l];
          }
        }
        sp[2 * vc] = s1;
        sp[2 * vc + 1] = s2;
      }
    });
    if (!want_dx) return;
    const scalar_t* gainp = gn.data_ptr<scalar_t>();
    scalar_t* dp = dx.data_ptr<scalar_t>();
    const double count = static_cast<double>(b * hw);
    at::parallel_for(0, v * b * c, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t ch = r % c, i = (r / c) % b, k = r / (b * c);
        const double k1 = f * static_cast<double>(gainp[ch]);
        const scalar_t a = static_cast<scalar_t>(k1);
        const scalar_t m = static_cast<scalar_t>(k1 * sp[2 * (k * c + ch)] / count);
        const scalar_t q = static_cast<scalar_t>(k1 * sp[2 * (k * c + ch) + 1] / count);
        const scalar_t* gi = gp + r * hw;
        const scalar_t* xi = xp + (i * c + ch) * hw;
        scalar_t* di = dp + r * hw;
        for (int64_t j = 0; j < hw; ++j) di[j] = a * gi[j] - m - q * xi[j];
      }
    });
  });
  auto dgamma = (sums.select(2, 1) * f).to(g.scalar_type());
  return {dgamma, dx};
}

}  // namespace

std::vector<torch::Tensor> VjpTape::backward(const torch::Tensor& output, const torch::Tensor& seeds,
                                             const std::vector<torch::Tensor>& parameters,
                                             const std::function<void()>& between_ops) const {
  if (!supported()) throw VjpTapeUnsupported(unsupported_);
  if (!output.device().is_cpu()) throw VjpTapeUnsupported("tensors on " + output.device().str() + " (the tape's kernels run on CPU tensors only)");
  auto out_it = known_.find(output.unsafeGetTensorImpl());
  if (out_it == known_.end()) throw VjpTapeUnsupported("the output was not produced by a taped operation");
  if (seeds.dim() != output.dim() + 1 || seeds.sizes().slice(1) != output.sizes()) {
    throw std::invalid_argument("VJP seeds must be [V, " + c10::str(output.sizes()) + "], got " + c10::str(seeds.sizes()));
  }
  torch::NoGradGuard no_grad;
  const int64_t v = seeds.size(0);
  const int64_t b = batch_;

  std::unordered_map<const void*, size_t> param_index;
  for (size_t i = 0; i < parameters.size(); ++i) param_index[parameters[i].unsafeGetTensorImpl()] = i;
  std::vector<torch::Tensor> param_grads(parameters.size());
  std::vector<bool> param_reached(parameters.size(), false);
  auto wants = [&](const torch::Tensor& p) { return p.defined() && param_index.count(p.unsafeGetTensorImpl()) > 0; };
  auto add_param_grad = [&](const torch::Tensor& p, const torch::Tensor& g /* [V, numel] or undefined */) {
    auto it = param_index.find(p.unsafeGetTensorImpl());
    if (it == param_index.end()) return;
    param_reached[it->second] = true;
    if (!g.defined()) return;
    auto& slot = param_grads[it->second];
    slot = slot.defined() ? slot + g : g;
  };

  std::unordered_map<const void*, Slot> grads;
  // Adds factor·g to x's slot (g undefined: zeros, which only mark x as reached).
  auto accumulate = [&](const torch::Tensor& x, bool needs, const torch::Tensor& g, double factor) {
    if (!needs) return;
    auto [it, inserted] = grads.try_emplace(x.unsafeGetTensorImpl(), Slot{g, factor});
    if (inserted || !g.defined()) return;
    Slot& slot = it->second;
    if (!slot.value.defined()) {
      slot = Slot{g, factor};
      return;
    }
    // slot.factor·value + factor·g = slot.factor·(value + (factor / slot.factor)·g), in one pass.
    const double alpha = factor / slot.factor;
    if (exclusive(slot.value)) slot.value.add_(g, alpha);
    else slot.value = torch::add(slot.value, g, alpha);
  };
  {
    auto shape = output.sizes().vec();
    shape[0] = v * shape[0];
    grads[output.unsafeGetTensorImpl()] = Slot{seeds.to(output.scalar_type()).reshape(shape), 1.0};
  }

  for (auto n = nodes_.rbegin(); n != nodes_.rend(); ++n) {
    const Node& node = **n;
    auto it = grads.find(node.output.unsafeGetTensorImpl());
    if (it == grads.end()) continue;
    if (between_ops) between_ops();
    Slot slot = std::move(it->second);
    grads.erase(it);
    const torch::Tensor& g = slot.value;
    const double f = slot.factor;
    const auto& x = node.inputs[0];
    const bool x_needs = node.input_needs[0];
    if (!g.defined()) {
      // Zeros: reach the inputs and parameters, compute nothing.
      if (node.weight.defined()) add_param_grad(node.weight, {});
      for (size_t i = 0; i < node.inputs.size(); ++i) accumulate(node.inputs[i], node.input_needs[i], {}, 1.0);
      continue;
    }
    switch (node.kind) {
      case Node::kRelu: {
        // Straight into x's gradient when it is already there and ours alone (saves a pass and a buffer).
        auto xs = grads.find(x.unsafeGetTensorImpl());
        if (xs != grads.end() && xs->second.value.defined() && exclusive(xs->second.value) && xs->second.value.is_contiguous()) {
          relu_vjp(g, node.output, f / xs->second.factor, xs->second.value);
        } else {
          accumulate(x, x_needs, relu_vjp(g, node.output, f), 1.0);
        }
        break;
      }
      case Node::kScale:
        if (node.factor == 0.0) accumulate(x, x_needs, {}, 1.0);
        else accumulate(x, x_needs, g, f * node.factor);
        break;
      case Node::kAdd:
        accumulate(node.inputs[0], node.input_needs[0], g, f);
        accumulate(node.inputs[1], node.input_needs[1], g, f);
        break;
      case Node::kAvgPool: {
        if (!x_needs) break;
        auto shape = x.sizes().vec();
        shape[0] = v * b;
        if (node.stride[0] == 1 && node.kernel == 2 * node.padding[0] + 1 && !node.count_include_pad) {
          accumulate(x, x_needs, box_pool_vjp(g, node.padding[0]), f);
          break;
        }
        auto like = at::empty(shape, x.options());  // only its shape is read
        accumulate(x, x_needs,
                   at::avg_pool2d_backward(g.contiguous(), like, {node.kernel, node.kernel}, node.stride, node.padding,
                                           /*ceil_mode=*/false, node.count_include_pad, c10::nullopt),
                   f);
        break;
      }
      case Node::kGlobalPool: {
        const int64_t h = x.size(2), w = x.size(3);
        accumulate(x, x_needs, (g * (f / static_cast<double>(h * w))).view({v * b, x.size(1), 1, 1}).expand({v * b, x.size(1), h, w}).contiguous(), 1.0);
        break;
      }
      case Node::kLinear: {
        auto gv = g.view({v, b, g.size(1)});  // [V, B, O]
        if (wants(node.weight)) add_param_grad(node.weight, torch::matmul(gv.transpose(1, 2), x).reshape({v, -1}) * f);  // [V, O, F]
        if (x_needs) accumulate(x, x_needs, torch::matmul(g, node.weight.detach() * f), 1.0);
        break;
      }
      case Node::kConv: {
        const auto w = node.weight.detach();
        const int64_t out_c = w.size(0);
        auto gc = g.contiguous();
        if (wants(node.weight)) {
          // Weight gradients of all V at once: the V gradients side by side as V·O output channels.
          // Each sample's [V·O, L] block against its im2col columns [I·k·k, L] (saved by the forward), one
          // batched GEMM, summed over samples: about 2× faster than convolution_backward's weight gradient on
          // the stacked channels (microbenchmark of the same ATen kernels, stage-1 shapes, one thread).
          const int64_t l = gc.size(2) * gc.size(3);
          auto stacked = gc.view({v, b, out_c, l}).transpose(0, 1).reshape({b, v * out_c, l});
          auto dw = torch::bmm(stacked, node.cols.transpose(1, 2)).sum(0);  // [V·O, I·k·k]
          add_param_grad(node.weight, dw.reshape({v, -1}) * f);
        }
        if (x_needs) {
          // Input gradients of all V at once: the VJP index folded into the batch.
          std::vector<int64_t> out_pad(2);
          for (int d = 0; d < 2; ++d) {
            const int64_t k = w.size(2 + d);
            const int64_t base = (gc.size(2 + d) - 1) * node.stride[d] - 2 * node.padding[d] + node.dilation[d] * (k - 1) + 1;
            out_pad[d] = x.size(2 + d) - base;
          }
          // Two exact ways, chosen by measurement per shape (kernel_choice.h): a transposed conv (measured 5×
          // faster here than convolution_backward's input gradient; ATen scatters with a scalar col2im), or,
          // for stride 1, an ordinary conv of g with the weight flipped and in/out swapped (padding
          // d·(k−1)−p; ATen may take oneDNN). Measured, one thread: the transposed conv 2.5× faster at 3
          // channels 32×32, the flipped conv 2–3× faster at 6–12 channels 16×16 and 8×8. A hand-written
          // direct kernel for these few-channel convs made the whole NTK 1.5× slower (tried).
          const auto wf = f == 1.0 ? w : w * f;
          auto transposed = [&](const torch::Tensor& in) {
            return at::conv_transpose2d(in, wf, {}, node.stride, node.padding, out_pad, 1, node.dilation);
          };
          std::vector<int64_t> flip_pad(2);
          bool can_flip = node.stride[0] == 1 && node.stride[1] == 1;
          for (int d = 0; d < 2; ++d) {
            flip_pad[d] = node.dilation[d] * (w.size(2 + d) - 1) - node.padding[d];
            can_flip = can_flip && flip_pad[d] >= 0 && out_pad[d] == 0;
          }
          if (!can_flip) {
            accumulate(x, x_needs, transposed(gc), 1.0);
            break;
          }
          const auto wflip = wf.flip({2, 3}).transpose(0, 1).contiguous();
          auto flipped = [&](const torch::Tensor& in) { return at::conv2d(in, wflip, {}, 1, flip_pad, node.dilation); };
          const auto sample = gc.narrow(0, 0, std::min<int64_t>(gc.size(0), 256));
          const std::string shape = c10::str(w.sizes()) + " " + c10::str(gc.sizes().slice(1)) + " p" + c10::str(node.padding) + " d" +
                                    c10::str(node.dilation) + " " + std::string(c10::toString(gc.scalar_type()));
          const auto pick = choose_kernel("conv_input_grad", shape,
                                          {{"transposed", [&] { transposed(sample); }}, {"flipped", [&] { flipped(sample); }}});
          accumulate(x, x_needs, pick == 0 ? transposed(gc) : flipped(gc), 1.0);
        }
        break;
      }
      case Node::kBatchNorm: {
        auto [dgamma, dx] = batch_norm_vjp(g, node.xhat, node.gain, f, v, b, x_needs);
        if (node.weight.defined()) add_param_grad(node.weight, dgamma);
        if (x_needs) accumulate(x, x_needs, dx, 1.0);
        break;
      }
    }
  }

  std::vector<torch::Tensor> result(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!param_reached[i]) continue;
    result[i] = param_grads[i].defined() ? param_grads[i] : torch::zeros({v, parameters[i].numel()}, seeds.options().dtype(parameters[i].scalar_type()));
  }
  return result;
}

}  // namespace torchnas
