#include "mlp_predictor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <cmath>

#include "../errors.h"

namespace torchnas {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::kReLU;
  if (name == "relu6") return Activation::kReLU6;
  if (name == "tanh") return Activation::kTanh;
  if (name == "swish") return Activation::kSwish;
  fail("INVALID_ARGUMENT", "unknown activation '" + name + "': expected relu, relu6, tanh or swish");
}

void init_linear_like_pytorch(torch::nn::Linear& linear, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  // kaiming_uniform_(weight, a=sqrt(5)), written as torch.nn.init computes it so the bound is bit-equal.
  const double fan_in = static_cast<double>(linear->weight.size(1));
  const double slope = std::sqrt(5.0);
  const double gain = std::sqrt(2.0 / (1 + std::pow(slope, 2)));
  const double bound = std::sqrt(3.0) * (gain / std::sqrt(fan_in));
  linear->weight.uniform_(-bound, bound, generator);
  if (linear->bias.defined()) {
    const double bias_bound = fan_in > 0 ? 1 / std::sqrt(fan_in) : 0;
    linear->bias.uniform_(-bias_bound, bias_bound, generator);
  }
}

MlpPredictorImpl::MlpPredictorImpl(const MlpPredictorOptions& options, uint64_t seed)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  auto& generator = generator_;
  const auto& o = options_;
  if (o.input_dim < 1 || o.shared_layer < 1 || o.separated_layer < 1) {
    fail("INVALID_ARGUMENT", "the predictor's input_dim, shared_layer and separated_layer must be >= 1");
  }
  if (o.groups.empty()) fail("INVALID_ARGUMENT", "the predictor needs at least one metric group");
  if (o.head_dropouts.size() != o.groups.size()) {
    fail("INVALID_ARGUMENT", "one head dropout per metric group: " + std::to_string(o.groups.size()) + " groups, " +
                                 std::to_string(o.head_dropouts.size()) + " dropouts");
  }
  auto check_p = [](double p) {
    if (!(p >= 0 && p < 1)) fail("INVALID_ARGUMENT", "dropout probabilities must lie in [0, 1), got " + std::to_string(p));
  };
  check_p(o.trunk_dropout);
  for (double p : o.head_dropouts) check_p(p);
  // Construction order = PyTorch's (models/mlp.py), so the generator's draws line up.
  input_norm_ = register_module("input_norm", torch::nn::BatchNorm1d(o.input_dim));
  trunk_ = register_module("trunk", torch::nn::Linear(o.input_dim, o.shared_layer));
  init_linear_like_pytorch(trunk_, generator);
  trunk_norm_ = register_module("trunk_norm", torch::nn::BatchNorm1d(o.shared_layer));
  for (size_t g = 0; g < o.groups.size(); ++g) {
    if (o.groups[g] < 1) fail("INVALID_ARGUMENT", "metric group " + std::to_string(g) + " has no outputs");
    Head h;
    const std::string prefix = "head" + std::to_string(g) + "_";
    h.hidden = register_module(prefix + "hidden", torch::nn::Linear(o.shared_layer, o.separated_layer));
    init_linear_like_pytorch(h.hidden, generator);
    h.norm = register_module(prefix + "norm", torch::nn::BatchNorm1d(o.separated_layer));
    h.dropout = o.head_dropouts[g];
    h.out = register_module(prefix + "out", torch::nn::Linear(o.separated_layer, o.groups[g]));
    init_linear_like_pytorch(h.out, generator);
    heads_.push_back(h);
  }
}

int64_t MlpPredictorImpl::output_dim() const {
  int64_t n = 0;
  for (auto g : options_.groups) n += g;
  return n;
}

torch::Tensor MlpPredictorImpl::activate(const torch::Tensor& x) const {
  switch (options_.activation) {
    case Activation::kReLU: return torch::relu(x);
    case Activation::kReLU6: return torch::hardtanh(x, 0.0, 6.0);
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kSwish: return x * torch::sigmoid(x);
  }
  return x;
}

// ATen's CPU dropout (_dropout_impl): noise = bernoulli(1 - p) / (1 - p); x * noise. Drawn on the CPU from
// our generator (then moved), so a CUDA run uses the same masks as a CPU run.
torch::Tensor MlpPredictorImpl::dropout_noise(at::IntArrayRef shape, const torch::TensorOptions& options, double p) {
  auto noise = torch::empty(shape, options.device(torch::kCPU));
  noise.bernoulli_(1 - p, generator_);
  noise.div_(1 - p);
  return noise;
}

torch::Tensor MlpPredictorImpl::dropout(const torch::Tensor& x, double p) {
  if (p == 0 || !is_training() || x.numel() == 0) return x;
  auto noise = dropout_noise(x.sizes(), x.options(), p);
  return x * (x.is_cpu() ? noise : noise.to(x.device()));
}

torch::Tensor MlpPredictorImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 2 || x.size(1) != options_.input_dim) {
    fail("SHAPE_MISMATCH", "the predictor expects [N, " + std::to_string(options_.input_dim) + "] codes, got " + c10::str(x.sizes()));
  }
  auto h = dropout(activate(trunk_norm_(trunk_(input_norm_(x)))), options_.trunk_dropout);
  std::vector<torch::Tensor> outputs;
  outputs.reserve(heads_.size());
  for (auto& head : heads_) {
    outputs.push_back(head.out(dropout(activate(head.norm(head.hidden(h))), head.dropout)));
  }
  return torch::cat(outputs, 1);
}

}  // namespace torchnas
