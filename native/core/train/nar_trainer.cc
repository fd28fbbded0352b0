#include "nar_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>

#include <chrono>
#include <cmath>

#include "../errors.h"

namespace torchnas {

NarBuckets::NarBuckets(int64_t tiers, int64_t n_patch, int64_t d_model, torch::Device device)
    : sums_(torch::zeros({tiers, n_patch, d_model}, torch::dtype(torch::kFloat32).device(device))),
      counts_(torch::zeros({tiers}, torch::dtype(torch::kFloat32).device(device))) {}

void NarBuckets::reset() {
  sums_.zero_();
  counts_.zero_();
}

torch::Tensor NarBuckets::means() const { return sums_ / counts_.clamp_min(1).view({-1, 1, 1}); }

void NarBuckets::add(const torch::Tensor& enc, const torch::Tensor& tiers) {
  torch::NoGradGuard no_grad;
  if (sums_.device() != enc.device()) {
    sums_ = sums_.to(enc.device());
    counts_ = counts_.to(enc.device());
  }
  auto t = tiers.to(enc.device(), torch::kInt64);
  sums_.index_add_(0, t, enc.detach().to(torch::kFloat32));
  counts_.index_add_(0, t, torch::ones({t.size(0)}, counts_.options()));
}

torch::Tensor nar_rank_loss(const torch::Tensor& scores, const torch::Tensor& labels) {
  auto s = scores.reshape({-1});
  auto y = labels.reshape({-1}).to(s.dtype());
  const int64_t n = s.size(0);
  if (n < 2) return s.sum() * 0;
  auto diff = s.unsqueeze(1) - s.unsqueeze(0);                 // s_i − s_j
  auto sign = torch::sign(y.unsqueeze(1) - y.unsqueeze(0));   // sign(y_i − y_j); equal labels → 0 → log 2
  auto pair = torch::softplus(-diff * sign);                   // log(1 + exp(·)), stable
  auto off_diagonal = 1 - torch::eye(n, s.options());
  return (pair * off_diagonal).sum() / static_cast<double>(n * (n - 1));
}

namespace {

ParameterGroup ranker_group(NarRanker& model, const NarOptimSettings& o) {
  if (!(o.lr_mul > 0) || !std::isfinite(o.lr_mul)) fail("INVALID_ARGUMENT", "optimizer lrMul must be a finite number > 0");
  if (o.warmup_steps < 1) fail("INVALID_ARGUMENT", "optimizer warmupSteps must be >= 1");
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) fail("INVALID_ARGUMENT", "optimizer betas must be in [0, 1)");
  if (!(o.eps >= 0) || !(o.weight_decay >= 0)) fail("INVALID_ARGUMENT", "optimizer eps and weightDecay must be >= 0");
  ParameterGroup g;
  g.name = "ranker";
  g.parameters = model->parameters(true);
  g.optimizer.kind = OptimizerKind::kAdamW;
  g.optimizer.lr = o.lr_mul;
  g.optimizer.beta1 = o.beta1;
  g.optimizer.beta2 = o.beta2;
  g.optimizer.eps = o.eps;
  g.optimizer.weight_decay = o.weight_decay;
  ScheduleSettings s;
  s.kind = ScheduleKind::kNoam;
  s.noam_d_model = static_cast<double>(model->options().d_model);
  s.warmup_steps = o.warmup_steps;
  g.schedule = s;
  return g;
}

void check_rows(const torch::Tensor& t, int64_t n, const char* what) {
  if (!t.defined() || t.dim() < 1 || t.size(0) != n) fail("SHAPE_MISMATCH", std::string(what) + " must have " + std::to_string(n) + " rows");
}

void check_tiers(const torch::Tensor& tiers, int64_t n_tier) {
  if (tiers.numel() == 0) return;
  auto t = tiers.to(torch::kInt64);
  const auto lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
  if (lo < 0 || hi >= n_tier) fail("INVALID_ARGUMENT", "tier labels must be in 0.." + std::to_string(n_tier - 1) + ", got " + std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

NarTrainer::NarTrainer(const NarRankerOptions& options, uint64_t seed, const NarOptimSettings& optim, torch::Device device)
    : device_(device), search_buckets_(options.n_tier, options.n_patch, options.d_model, device) {
  model_ = NarRanker(options, seed);
  model_->to(device_);
  // The run's generator (dropout) is seeded apart from the init generator's stream.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x9E3779B97F4A7C15ULL);
  loop_ = std::make_unique<TrainingLoop>(std::vector<ParameterGroup>{ranker_group(model_, optim)}, gen);
}

NarEpochStats NarTrainer::train_epoch(const torch::Tensor& features, const torch::Tensor& acc, const torch::Tensor& tiers,
                                      const std::vector<std::vector<int64_t>>& batches, double loss_factor, bool aux_loss,
                                      const std::function<void(int64_t, double)>& on_step, const std::atomic<bool>* cancelled) {
  const auto& o = model_->options();
  const int64_t n = features.size(0);
  check_rows(acc, n, "accuracies");
  check_rows(tiers, n, "tiers");
  check_tiers(tiers, o.n_tier);
  const auto start = std::chrono::steady_clock::now();
  auto x_all = on_device(features.to(torch::kFloat32));
  auto y_all = on_device(acc.to(torch::kFloat32));
  auto t_all = on_device(tiers.to(torch::kInt64));
  NarBuckets buckets(o.n_tier, o.n_patch, o.d_model, device_);  // fresh every epoch (§4.6)
  NarEpochStats stats;
  model_->train();
  at::Generator& gen = loop_->generator();
  for (size_t b = 0; b < batches.size(); ++b) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "ranker training was cancelled");
    const auto& batch = batches[b];
    if (batch.empty()) fail("INVALID_ARGUMENT", "batch " + std::to_string(b) + " is empty");
    for (auto i : batch) {
      if (i < 0 || i >= n) fail("INVALID_ARGUMENT", "batch index " + std::to_string(i) + " outside 0.." + std::to_string(n - 1));
    }
    auto idx = torch::tensor(batch, torch::kInt64).to(device_);
    auto x = x_all.index_select(0, idx), y = y_all.index_select(0, idx), t = t_all.index_select(0, idx);
    torch::Tensor enc, logits;
    double ce_value = 0, rank_value = 0;
    const double lr = loop_->lr(0);
    auto loss = loop_->step(0, [&] {
      auto f = model_->forward(x, buckets.means(), &gen);
      auto ce = torch::nn::functional::cross_entropy(f.tier_logits, t);
      torch::Tensor total = ce;
      ce_value = ce.item<double>();
      if (aux_loss) {
        auto rank = nar_rank_loss(f.score, y);
        rank_value = rank.item<double>();
        total = ce + loss_factor * rank;
      }
      enc = f.enc.detach();
      logits = f.tier_logits.detach();
      return total;
    });
    buckets.add(enc, t);  // after the step, by TRUE tier
    stats.correct += logits.argmax(1).eq(t).sum().item<int64_t>();
    stats.count += t.size(0);
    const double value = loss.item<double>();
    stats.loss.push_back(value);
    stats.ce.push_back(ce_value);
    stats.rank.push_back(rank_value);
    stats.lr.push_back(lr);
    if (on_step) on_step(static_cast<int64_t>(b), value);
  }
  loop_->end_epoch();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

NarPrediction NarTrainer::validate(const torch::Tensor& features, const torch::Tensor& tiers, int64_t batch_size) {
  const auto& o = model_->options();
  const int64_t n = features.size(0);
  check_rows(tiers, n, "tiers");
  check_tiers(tiers, o.n_tier);
  if (batch_size < 1) fail("INVALID_ARGUMENT", "batchSize must be >= 1");
  torch::NoGradGuard no_grad;
  model_->eval();
  NarBuckets buckets(o.n_tier, o.n_patch, o.d_model, device_);
  auto x_all = features.to(torch::kFloat32), t_all = tiers.to(torch::kInt64);
  std::vector<torch::Tensor> logits, scores;
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t len = std::min(batch_size, n - s);
    auto x = on_device(x_all.narrow(0, s, len));
    auto f = model_->forward(x, buckets.means());
    buckets.add(f.enc, t_all.narrow(0, s, len));
    logits.push_back(f.tier_logits.cpu());
    scores.push_back(f.score.reshape({-1}).cpu());
  }
  return {torch::cat(logits), torch::cat(scores)};
}

torch::Tensor NarTrainer::scores(const torch::Tensor& features, int64_t batch_size, const std::atomic<bool>* cancelled) {
  if (batch_size < 1) fail("INVALID_ARGUMENT", "batchSize must be >= 1");
  torch::NoGradGuard no_grad;
  model_->eval();
  const int64_t n = features.size(0);
  auto x_all = features.to(torch::kFloat32);
  std::vector<torch::Tensor> out;
  for (int64_t s = 0; s < n; s += batch_size) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "ranker scoring was cancelled");
    const int64_t len = std::min(batch_size, n - s);
    out.push_back(model_->score(model_->encode(on_device(x_all.narrow(0, s, len)))).reshape({-1}).cpu());
  }
  return out.empty() ? torch::zeros({0}) : torch::cat(out);
}

torch::Tensor NarTrainer::tier_means(const torch::Tensor& features, const torch::Tensor& tiers, int64_t batch_size) {
  const auto& o = model_->options();
  const int64_t n = features.size(0);
  check_rows(tiers, n, "tiers");
  check_tiers(tiers, o.n_tier);
  if (batch_size < 1) fail("INVALID_ARGUMENT", "batchSize must be >= 1");
  torch::NoGradGuard no_grad;
  model_->eval();
  NarBuckets buckets(o.n_tier, o.n_patch, o.d_model, device_);
  auto x_all = features.to(torch::kFloat32), t_all = tiers.to(torch::kInt64);
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t len = std::min(batch_size, n - s);
    buckets.add(model_->encode(on_device(x_all.narrow(0, s, len))), t_all.narrow(0, s, len));
  }
  return buckets.means().cpu();
}

NarPrediction NarTrainer::predict(const torch::Tensor& features, const torch::Tensor& trg, int64_t batch_size, const std::atomic<bool>* cancelled) {
  if (batch_size < 1) fail("INVALID_ARGUMENT", "batchSize must be >= 1");
  torch::NoGradGuard no_grad;
  model_->eval();
  const int64_t n = features.size(0);
  auto x_all = features.to(torch::kFloat32);
  auto target = on_device(trg.to(torch::kFloat32));
  std::vector<torch::Tensor> logits, scores;
  for (int64_t s = 0; s < n; s += batch_size) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "ranker prediction was cancelled");
    const int64_t len = std::min(batch_size, n - s);
    auto f = model_->forward(on_device(x_all.narrow(0, s, len)), target);
    logits.push_back(f.tier_logits.cpu());
    scores.push_back(f.score.reshape({-1}).cpu());
  }
  if (logits.empty()) return {torch::zeros({0, model_->options().n_tier}), torch::zeros({0})};
  return {torch::cat(logits), torch::cat(scores)};
}

NarPrediction NarTrainer::rank_search_batch(const torch::Tensor& features) {
  torch::NoGradGuard no_grad;
  model_->eval();
  auto f = model_->forward(on_device(features.to(torch::kFloat32)), search_buckets_.means());
  auto predicted = f.tier_logits.argmax(1);
  search_buckets_.add(f.enc, predicted);  // by PREDICTED tier (§5)
  return {torch::softmax(f.tier_logits, 1).cpu(), f.score.reshape({-1}).cpu()};
}

void NarTrainer::save_checkpoint(const std::string& path, const NamedTensors& extra) {
  torchnas::save_checkpoint(path, {{"ranker", model_.get()}}, *loop_, extra);
}

NamedTensors NarTrainer::load_checkpoint(const std::string& path) {
  return torchnas::load_checkpoint(path, {{"ranker", model_.get()}}, *loop_, device_);
}

}  // namespace torchnas
