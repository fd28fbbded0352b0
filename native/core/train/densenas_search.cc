#include "densenas_search.h"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "../errors.h"

namespace torchnas {

void check_dense_batch(const DenseSpaceSpec& space, const torch::Tensor& images, const torch::Tensor& labels) {
  if (images.dim() != 4 || images.size(1) != space.in_channels || images.size(0) < 1) {
    fail("SHAPE_MISMATCH", "images must be [N, " + std::to_string(space.in_channels) + ", H, W] with N >= 1, got " + c10::str(images.sizes()));
  }
  if (labels.dim() != 1 || labels.size(0) != images.size(0)) {
    fail("SHAPE_MISMATCH", "labels must be [N] with N = " + std::to_string(images.size(0)) + ", got " + c10::str(labels.sizes()));
  }
  if (labels.scalar_type() != torch::kInt64 && labels.scalar_type() != torch::kInt32) fail("INVALID_ARGUMENT", "labels must be int32 or int64");
  if (!images.is_floating_point() && images.scalar_type() != torch::kUInt8) fail("INVALID_ARGUMENT", "images must be float or uint8");
  auto lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
  if (lo < 0 || hi >= space.num_classes) {
    fail("INVALID_ARGUMENT", "labels must lie in [0, " + std::to_string(space.num_classes - 1) + "], got [" + std::to_string(lo) + ", " +
                                 std::to_string(hi) + "]");
  }
}

namespace {

torch::Tensor as_input(const torch::Tensor& images, const torch::Device& device) {
  auto x = images.to(device);
  return x.scalar_type() == torch::kUInt8 ? x.to(torch::kFloat32).div_(255.0) : x.to(torch::kFloat32);
}

int64_t hits(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace

DenseSearch::DenseSearch(DenseSuperNet net, DenseArch arch, const DenseSearchSettings& s, at::Generator generator)
    : net_(std::move(net)), arch_(std::move(arch)), settings_(s) {
  if (!(s.temperature > 0)) fail("INVALID_ARGUMENT", "temperature must be > 0");
  if (s.total_weight_steps < 1) fail("INVALID_ARGUMENT", "total_weight_steps must be >= 1");
  if (s.penalty == DenseCostPenalty::kLog && !(s.log_base > 1)) fail("INVALID_ARGUMENT", "log_base (τ) must be > 1");
  if (s.penalty != DenseCostPenalty::kLog && !(s.target > 0)) fail("INVALID_ARGUMENT", "a target cost must be > 0");
  std::vector<ParameterGroup> groups;
  OptimizerSettings sgd;
  sgd.kind = OptimizerKind::kSgd;
  sgd.lr = s.weight_lr;
  sgd.momentum = s.weight_momentum;
  sgd.weight_decay = s.weight_decay;
  ScheduleSettings cosine;
  cosine.kind = ScheduleKind::kCosine;
  cosine.eta_min = s.min_lr;
  groups.push_back({"weights", net_->weights(), sgd, cosine, s.total_weight_steps});
  OptimizerSettings adam;
  adam.kind = OptimizerKind::kAdam;
  adam.beta1 = s.arch_beta1;
  adam.beta2 = s.arch_beta2;
  adam.weight_decay = s.arch_weight_decay;
  adam.lr = s.alpha_lr;
  groups.push_back({"alpha", arch_.alphas(), adam, std::nullopt, 0});
  adam.lr = s.beta_lr;
  groups.push_back({"beta", arch_.all_betas(), adam, std::nullopt, 0});
  loop_ = std::make_unique<TrainingLoop>(std::move(groups), std::move(generator));
}

torch::Tensor DenseSearch::penalty(const torch::Tensor& cost) const {
  const double lambda = settings_.sub_loss_factor;
  switch (settings_.penalty) {
    case DenseCostPenalty::kLog: return lambda * torch::log(cost) / std::log(settings_.log_base);
    case DenseCostPenalty::kRatio: return lambda * cost / settings_.target;
    case DenseCostPenalty::kHinge: return lambda * torch::relu(cost / settings_.target - 1.0);
  }
  fail("INVALID_ARGUMENT", "unknown cost penalty");
}

DenseStepResult DenseSearch::weight_step(const torch::Tensor& images, const torch::Tensor& labels, bool warmup, const DenseCosts* costs,
                                         const DenseSample* ops) {
  check_dense_batch(net_->space(), images, labels);
  const auto device = arch_.betas[0].device();
  auto x = as_input(images, device);
  auto y = labels.to(device, torch::kInt64);
  auto sample = ops ? checked_sample(net_->space(), arch_, *ops)
                    : sample_ops(net_->space(), arch_, settings_.weight_sample_num, warmup ? DenseSamplePolicy::kUniform : settings_.sample_policy,
                                 loop_->generator());
  net_->train();
  DenseStepResult r;
  torch::Tensor logits;
  const auto frozen = arch_.detached();  // only the weights train in a weight step (§4.2)
  auto loss = loop_->step(0, [&] {
    logits = net_->forward(x, frozen, sample, settings_.temperature);
    return torch::nn::functional::cross_entropy(logits, y);
  });
  r.loss = r.ce = loss.item<double>();
  r.correct = hits(logits.detach(), y);
  r.count = y.size(0);
  if (costs) {
    torch::NoGradGuard no_grad;  // computed but unused in the weight step (§3.5): logged only
    r.cost = net_->expected_cost(arch_, sample, *costs, settings_.temperature).item<double>();
  }
  return r;
}

DenseStepResult DenseSearch::arch_step(const torch::Tensor& images, const torch::Tensor& labels, const DenseCosts* costs, const DenseSample* ops) {
  check_dense_batch(net_->space(), images, labels);
  if (settings_.cost_term && !costs) fail("INVALID_ARGUMENT", "the architecture step needs a cost table (or cost_term off)");
  const auto device = arch_.betas[0].device();
  auto x = as_input(images, device);
  auto y = labels.to(device, torch::kInt64);
  auto sample = ops ? checked_sample(net_->space(), arch_, *ops)
                    : sample_ops(net_->space(), arch_, settings_.arch_sample_num, DenseSamplePolicy::kProb, loop_->generator());
  // The sampled α before the step, for the re-scaling below.
  std::vector<torch::Tensor> before;
  for (const auto& a : arch_.alphas()) before.push_back(a.detach().clone());
  net_->train();
  DenseStepResult r;
  torch::Tensor logits, ce, cost;
  // Only the architecture parameters train in an arch step (§4.2): no weight gradients are computed.
  struct FreezeWeights {
    std::vector<torch::Tensor> weights;
    explicit FreezeWeights(std::vector<torch::Tensor> w) : weights(std::move(w)) {
      for (auto& p : weights) p.requires_grad_(false);
    }
    ~FreezeWeights() {
      for (auto& p : weights) p.requires_grad_(true);
    }
  } freeze(net_->weights());
  // Gumbel noise for every α/β tensor, drawn before the step (generator order: sample, then noise).
  std::vector<torch::Tensor> noise;
  if (settings_.gumbel) {
    auto draw = [&](const torch::Tensor& a) {
      if (!a.defined()) return torch::Tensor();
      // U in (0, 1) strictly: clamp away 0 so -log(-log(U)) stays finite.
      auto u = torch::empty(a.sizes(), torch::TensorOptions().dtype(torch::kFloat32)).uniform_(0, 1, loop_->generator());
      u.clamp_(1e-10, 1.0 - 1e-7);
      return (-torch::log(-torch::log(u))).to(a.device());
    };
    for (const auto& t : arch_.betas) noise.push_back(draw(t));
    for (const auto& t : arch_.alpha_head) noise.push_back(draw(t));
    for (const auto& t : arch_.alpha_stack) noise.push_back(draw(t));
  }
  auto perturbed = [&]() -> DenseArch {
    DenseArch p;
    size_t k = 0;
    auto add = [&](const std::vector<torch::Tensor>& from, std::vector<torch::Tensor>& to) {
      for (const auto& t : from) {
        const auto& g = noise[k++];
        to.push_back(t.defined() ? t + g : t);
      }
    };
    add(arch_.betas, p.betas);
    add(arch_.alpha_head, p.alpha_head);
    add(arch_.alpha_stack, p.alpha_stack);
    return p;
  };
  auto loss = loop_->step(std::vector<size_t>{1, 2}, [&] {
    // Built inside the closure so the graph through α + g is part of this step's backward.
    const DenseArch used = settings_.gumbel ? perturbed() : arch_;
    logits = net_->forward(x, used, sample, settings_.temperature);
    ce = torch::nn::functional::cross_entropy(logits, y);
    if (!costs) return ce;
    cost = net_->expected_cost(used, sample, *costs, settings_.temperature);
    return settings_.cost_term ? ce + penalty(cost) : ce;
  });
  // §3.6 re-scaling: per sampled row, add ln(Σ_S e^{α_old} / Σ_S e^{α_new}) to the sampled entries only.
  {
    torch::NoGradGuard no_grad;
    const auto& space = net_->space();
    const int64_t n = space.last_block();
    size_t t = 0;
    auto rescale = [&](torch::Tensor& alpha, const torch::Tensor& old, const std::vector<std::vector<int64_t>>& rows) {
      for (size_t row = 0; row < rows.size(); ++row) {
        const auto& chosen = rows[row];
        if (static_cast<int64_t>(chosen.size()) >= alpha.size(1)) continue;  // every op sampled: nothing to keep
        auto index = torch::tensor(chosen, torch::TensorOptions().dtype(torch::kInt64).device(alpha.device()));
        auto a_new = alpha[static_cast<int64_t>(row)];
        auto a_old = old[static_cast<int64_t>(row)];
        auto c = torch::logsumexp(a_old.index_select(0, index), 0) - torch::logsumexp(a_new.index_select(0, index), 0);
        a_new.index_add_(0, index, c.expand({static_cast<int64_t>(chosen.size())}));
      }
    };
    for (int64_t j = 1; j < n; ++j) {
      if (arch_.alpha_head[j].defined()) rescale(arch_.alpha_head[j], before[t++], sample.head[j]);
    }
    for (int64_t j = 1; j < n; ++j) {
      if (arch_.alpha_stack[j].defined()) rescale(arch_.alpha_stack[j], before[t++], sample.stack[j]);
    }
  }
  r.loss = loss.item<double>();
  r.ce = ce.item<double>();
  r.cost = cost.defined() ? cost.item<double>() : 0;
  r.correct = hits(logits.detach(), y);
  r.count = y.size(0);
  return r;
}

void DenseSearch::set_temperature(double t) {
  if (!(t > 0) || !std::isfinite(t)) fail("INVALID_ARGUMENT", "temperature must be a finite number > 0, got " + std::to_string(t));
  settings_.temperature = t;
}

DenseStepResult DenseSearch::evaluate(const torch::Tensor& images, const torch::Tensor& labels, const DenseCosts* costs) {
  check_dense_batch(net_->space(), images, labels);
  torch::NoGradGuard no_grad;
  const auto device = arch_.betas[0].device();
  auto x = as_input(images, device);
  auto y = labels.to(device, torch::kInt64);
  auto sample = sample_ops(net_->space(), arch_, 1, DenseSamplePolicy::kAll, loop_->generator());
  net_->train();  // BN in training mode, as the original's search validation (§3.4)
  auto logits = net_->forward(x, arch_, sample, settings_.temperature);
  DenseStepResult r;
  r.loss = r.ce = torch::nn::functional::cross_entropy(logits, y).item<double>();
  r.correct = hits(logits, y);
  r.count = y.size(0);
  if (costs) r.cost = net_->expected_cost(arch_, sample, *costs, settings_.temperature).item<double>();
  return r;
}

}  // namespace torchnas
