#include "vjp_tape.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/pooling.h>

#include <unordered_set>

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
    if (unsupported_.empty()) unsupported_ = std::string("the input of a taped ") + op + " comes from an operation the tape does not cover";
    return false;
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
  if (o.groups() != 1 && unsupported_.empty()) unsupported_ = "grouped convolutions (groups " + std::to_string(o.groups()) + ")";
  if (!c10::holds_alternative<torch::ExpandingArray<2>>(o.padding()) && unsupported_.empty()) unsupported_ = "convolutions with string padding";
  node->inputs = {x};
  node->input_needs = {in_needs};
  node->weight = conv->weight;
  node->stride = std::vector<int64_t>(o.stride()->begin(), o.stride()->end());
  if (c10::holds_alternative<torch::ExpandingArray<2>>(o.padding())) {
    const auto& p = c10::get<torch::ExpandingArray<2>>(o.padding());
    node->padding = std::vector<int64_t>(p->begin(), p->end());
  } else {
    node->padding = {0, 0};
  }
  node->dilation = std::vector<int64_t>(o.dilation()->begin(), o.dilation()->end());
  node->output = conv(x);
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

// A VJP gradient slot: reached, with `value` [V·B, …] or undefined for exact zeros (a path through ×0).
struct Slot {
  torch::Tensor value;
};

}  // namespace

std::vector<torch::Tensor> VjpTape::backward(const torch::Tensor& output, const torch::Tensor& seeds,
                                             const std::vector<torch::Tensor>& parameters) const {
  if (!supported()) throw VjpTapeUnsupported(unsupported_);
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
  auto add_param_grad = [&](const torch::Tensor& p, const torch::Tensor& g /* [V, numel] or undefined */) {
    auto it = param_index.find(p.unsafeGetTensorImpl());
    if (it == param_index.end()) return;
    param_reached[it->second] = true;
    if (!g.defined()) return;
    auto& slot = param_grads[it->second];
    slot = slot.defined() ? slot + g : g;
  };

  std::unordered_map<const void*, Slot> grads;
  auto accumulate = [&](const torch::Tensor& x, bool needs, torch::Tensor g) {
    if (!needs) return;
    auto [it, inserted] = grads.try_emplace(x.unsafeGetTensorImpl(), Slot{g});
    if (inserted || !g.defined()) return;
    it->second.value = it->second.value.defined() ? it->second.value + g : g;
  };
  {
    auto shape = output.sizes().vec();
    shape[0] = v * shape[0];
    grads[output.unsafeGetTensorImpl()] = Slot{seeds.to(output.scalar_type()).reshape(shape)};
  }
  // Folded [V·B, …] ↔ per-VJP [V, B, …] views.
  auto per_vjp = [&](const torch::Tensor& g) {
    auto s = g.sizes().vec();
    s[0] = b;
    s.insert(s.begin(), v);
    return g.reshape(s);
  };
  auto folded = [&](const torch::Tensor& g) {
    auto s = g.sizes().vec();
    s.erase(s.begin());
    s[0] = v * b;
    return g.reshape(s);
  };

  for (auto n = nodes_.rbegin(); n != nodes_.rend(); ++n) {
    const Node& node = **n;
    auto it = grads.find(node.output.unsafeGetTensorImpl());
    if (it == grads.end()) continue;
    torch::Tensor g = std::move(it->second.value);
    grads.erase(it);
    const auto& x = node.inputs[0];
    const bool x_needs = node.input_needs[0];
    switch (node.kind) {
      case Node::kRelu: {
        if (!g.defined()) {
          accumulate(x, x_needs, g);
          break;
        }
        auto mask = node.output.gt(0).to(g.scalar_type());
        accumulate(x, x_needs, folded(per_vjp(g) * mask));
        break;
      }
      case Node::kScale:
        accumulate(x, x_needs, (g.defined() && node.factor != 0.0) ? g * node.factor : torch::Tensor());
        break;
      case Node::kAdd:
        accumulate(node.inputs[0], node.input_needs[0], g);
        accumulate(node.inputs[1], node.input_needs[1], g);
        break;
      case Node::kAvgPool: {
        if (!g.defined()) {
          accumulate(x, x_needs, g);
          break;
        }
        if (!x_needs) break;
        auto shape = x.sizes().vec();
        shape[0] = v * b;
        auto like = at::empty(shape, x.options());  // only its shape is read
        accumulate(x, x_needs,
                   at::avg_pool2d_backward(g.contiguous(), like, {node.kernel, node.kernel}, node.stride, node.padding,
                                           /*ceil_mode=*/false, node.count_include_pad, c10::nullopt));
        break;
      }
      case Node::kGlobalPool: {
        if (!g.defined()) {
          accumulate(x, x_needs, g);
          break;
        }
        const int64_t h = x.size(2), w = x.size(3);
        accumulate(x, x_needs, (g / static_cast<double>(h * w)).view({v * b, x.size(1), 1, 1}).expand({v * b, x.size(1), h, w}).contiguous());
        break;
      }
      case Node::kLinear: {
        if (!g.defined()) {
          add_param_grad(node.weight, {});
          accumulate(x, x_needs, g);
          break;
        }
        auto gv = g.view({v, b, g.size(1)});  // [V, B, O]
        if (param_index.count(node.weight.unsafeGetTensorImpl())) {
          add_param_grad(node.weight, torch::matmul(gv.transpose(1, 2), x).reshape({v, -1}));  // [V, O, F]
        }
        if (x_needs) accumulate(x, x_needs, torch::matmul(g, node.weight));
        break;
      }
      case Node::kConv: {
        if (!g.defined()) {
          add_param_grad(node.weight, {});
          accumulate(x, x_needs, g);
          break;
        }
        const auto& w = node.weight;
        const int64_t out_c = w.size(0);
        auto gc = g.contiguous();
        if (param_index.count(w.unsafeGetTensorImpl())) {
          // Weight gradients of all V at once: the V gradients side by side as V·O output channels.
          auto stacked = gc.view({v, b, out_c, gc.size(2), gc.size(3)}).transpose(0, 1).reshape({b, v * out_c, gc.size(2), gc.size(3)});
          auto wide = w.detach().repeat({v, 1, 1, 1});
          auto res = at::convolution_backward(stacked, x, wide, c10::nullopt, node.stride, node.padding, node.dilation,
                                              /*transposed=*/false, {0, 0}, /*groups=*/1, {false, true, false});
          add_param_grad(w, std::get<1>(res).reshape({v, -1}));
        }
        if (x_needs) {
          // Input gradients of all V at once: the VJP index folded into the batch.
          std::vector<int64_t> out_pad(2);
          for (int d = 0; d < 2; ++d) {
            const int64_t k = w.size(2 + d);
            const int64_t base = (gc.size(2 + d) - 1) * node.stride[d] - 2 * node.padding[d] + node.dilation[d] * (k - 1) + 1;
            out_pad[d] = x.size(2 + d) - base;
          }
          accumulate(x, x_needs, at::conv_transpose2d(gc, w.detach(), {}, node.stride, node.padding, out_pad, 1, node.dilation));
        }
        break;
      }
      case Node::kBatchNorm: {
        if (!g.defined()) {
          if (node.weight.defined()) add_param_grad(node.weight, {});
          accumulate(x, x_needs, g);
          break;
        }
        const int64_t c = x.size(1);
        auto gv = per_vjp(g).view({v, b, c, -1});         // [V, B, C, HW]
        auto xh = node.xhat.view({1, b, c, -1});           // [1, B, C, HW]
        const double count = static_cast<double>(b * gv.size(3));
        auto dbeta = gv.sum({1, 3});                        // [V, C]
        auto dgamma = (gv * xh).sum({1, 3});                // [V, C]: Σ g·x̂, the γ gradient
        if (node.weight.defined()) add_param_grad(node.weight, dgamma);
        if (x_needs) {
          auto mean_g = (dbeta / count).view({v, 1, c, 1});
          auto mean_gx = (dgamma / count).view({v, 1, c, 1});
          auto dx = (gv - mean_g - xh * mean_gx) * node.gain.view({1, 1, c, 1});
          accumulate(x, x_needs, dx.view(g.sizes()));
        }
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
