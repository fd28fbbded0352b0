// NarRanker: NAR's ranker (spec nar.md §4) and its training as a JS class on the shared ModuleWrap. An epoch,
// a validation pass, scoring, prediction, a search batch, checkpoint save/load are each one job on a worker
// thread; JS drives the epochs (split, tier labels, shuffles, metrics, checkpoint files).
#include <ATen/CPUGeneratorImpl.h>
#include <napi.h>
#include <torch/nn/functional/linear.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "../core/errors.h"
#include "../core/ops/attention.h"
#include "../core/ops/dropout.h"
#include "../core/ops/gemm.h"
#include "../core/runtime.h"
#include "../core/train/lr_schedule.h"
#include "../core/train/nar_trainer.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "module_wrap.h"
#include "ncp.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

Napi::Float32Array float32_array(Napi::Env env, const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(c.numel()));
  if (c.numel() > 0) std::memcpy(out.Data(), c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float));
  return out;
}

Napi::Float64Array float64_array(Napi::Env env, const std::vector<double>& v) {
  auto out = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  return out;
}

struct RankerState {
  std::unique_ptr<NarTrainer> trainer;
  torch::nn::Module& module() { return *trainer->model(); }
  torch::Device device() const { return trainer->device(); }
  // setDistributed: every step's gradients averaged over the ranks (every rank runs the same number of steps;
  // src/methods/nar/train.ts shards the batches). Buckets, dropout and the rank loss's pairs stay per rank (as
  // BatchNorm statistics do in DDP).
  void set_distributed(std::shared_ptr<DistributedContext> context) { trainer->loop().set_distributed(std::move(context)); }
};

Napi::Value prediction_value(Napi::Env env, const NarPrediction& p, const char* logits_name) {
  auto o = Napi::Object::New(env);
  o.Set(logits_name, float32_array(env, p.logits));
  o.Set("scores", float32_array(env, p.scores));
  return o;
}

class NarRankerWrap : public ModuleWrap<NarRankerWrap, RankerState> {
 public:
  static constexpr const char* kClassName = "NarRanker";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = module_methods({/*save_load=*/true, /*parameters=*/true});
    methods.push_back(InstanceMethod("trainEpoch", &NarRankerWrap::TrainEpoch));
    methods.push_back(InstanceMethod("validate", &NarRankerWrap::Validate));
    methods.push_back(InstanceMethod("scores", &NarRankerWrap::Scores));
    methods.push_back(InstanceMethod("tierMeans", &NarRankerWrap::TierMeans));
    methods.push_back(InstanceMethod("predict", &NarRankerWrap::Predict));
    methods.push_back(InstanceMethod("resetSearchBuckets", &NarRankerWrap::ResetSearchBuckets));
    methods.push_back(InstanceMethod("rankSearchBatch", &NarRankerWrap::RankSearchBatch));
    methods.push_back(InstanceMethod("saveCheckpoint", &NarRankerWrap::SaveCheckpoint));
    methods.push_back(InstanceMethod("loadCheckpoint", &NarRankerWrap::LoadCheckpoint));
    exports.Set(kClassName, define(env, methods,
                                   {getter<NarRankerWrap, &NarRankerWrap::Steps>("steps"),
                                    getter<NarRankerWrap, &NarRankerWrap::Epoch>("epoch"),
                                    getter<NarRankerWrap, &NarRankerWrap::Lr>("lr")}));
  }

  explicit NarRankerWrap(const Napi::CallbackInfo& info) : ModuleWrap(info) {
    Napi::Env env = info.Env();
    auto o = read_object(info[0], "NarRanker options");
    NarRankerOptions m;
    m.n_patch = option_int(o, "nPatch", m.n_patch, "options");
    m.patch_len = option_int(o, "patchLen", m.patch_len, "options");
    m.d_model = option_int(o, "dModel", m.d_model, "options");
    m.d_inner = option_int(o, "dInner", m.d_inner, "options");
    m.n_layers = option_int(o, "nLayers", m.n_layers, "options");
    m.n_head = option_int(o, "nHead", m.n_head, "options");
    m.d_k = option_int(o, "dK", m.d_k, "options");
    m.d_v = option_int(o, "dV", m.d_v, "options");
    m.dropout = option_number(o, "dropout", m.dropout, "options");
    m.d_tier_inner = option_int(o, "dTierInner", m.d_tier_inner, "options");
    m.d_score_inner = option_int(o, "dScoreInner", m.d_score_inner, "options");
    m.n_tier = option_int(o, "nTier", m.n_tier, "options");
    m.n_position = option_int(o, "nPosition", m.n_position, "options");
    if (!o.Get("scalePrj").IsUndefined()) m.scale_prj = read_bool(o.Get("scalePrj"), "options.scalePrj");
    NarOptimSettings opt;
    if (!o.Get("optimizer").IsUndefined()) {
      auto p = read_object(o.Get("optimizer"), "options.optimizer");
      opt.lr_mul = option_number(p, "lrMul", opt.lr_mul, "options.optimizer");
      opt.warmup_steps = option_int_in(p, "warmupSteps", opt.warmup_steps, "options.optimizer", 1, int64_t(1) << 40);
      opt.beta1 = option_number(p, "beta1", opt.beta1, "options.optimizer");
      opt.beta2 = option_number(p, "beta2", opt.beta2, "options.optimizer");
      opt.eps = option_number(p, "eps", opt.eps, "options.optimizer");
      opt.weight_decay = option_number(p, "weightDecay", opt.weight_decay, "options.optimizer");
    }
    const auto seed = option_int(o, "seed", 0, "options");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
    const auto device_spec = option_string(o, "device", "cpu", "options");
    bind(env, guarded(env, [&] {
           auto s = std::make_shared<RankerState>();
           s->trainer = std::make_unique<NarTrainer>(m, static_cast<uint64_t>(seed), opt, parse_device(device_spec));
           return s;
         }));
  }

 private:
  static int64_t batch_size_arg(const Napi::Value& v) { return v.IsUndefined() ? 128 : read_int_in(v, "batchSize", 1, 1 << 20); }

  // trainEpoch(features, acc, tiers, order, batchSize, {lossFactor, auxLoss}, onStep?, cancel?) → epoch stats.
  // order: indices into the rows, cut into consecutive batches of batchSize (a shorter last batch is kept).
  Napi::Value TrainEpoch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto features = TensorWrap::Read(info[0], "features");
    auto acc = TensorWrap::Read(info[1], "accuracies");
    auto tiers = TensorWrap::Read(info[2], "tiers");
    auto order = read_integers(info[3], "order");
    const int64_t batch_size = read_int_in(info[4], "batchSize", 1, 1 << 20);
    double loss_factor = 1;
    bool aux_loss = true;
    if (!info[5].IsUndefined()) {
      auto o = read_object(info[5], "options");
      loss_factor = option_number(o, "lossFactor", loss_factor, "options");
      if (!o.Get("auxLoss").IsUndefined()) aux_loss = read_bool(o.Get("auxLoss"), "options.auxLoss");
    }
    if (!std::isfinite(loss_factor) || loss_factor < 0) throw_invalid(env, "options.lossFactor must be a finite number >= 0");
    std::vector<std::vector<int64_t>> batches;
    for (size_t s = 0; s < order.size(); s += static_cast<size_t>(batch_size)) {
      batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(s),
                           order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + static_cast<size_t>(batch_size))));
    }
    require_idle(env, "train");
    auto cancelled = read_cancel_token(info[7]);
    ProgressSink progress(env, info[6], "torchnas.NarRanker.trainEpoch", cancelled);
    auto state = state_;
    const int64_t total = static_cast<int64_t>(batches.size());
    return start_job(
        info, "torchnas.NarRanker.trainEpoch", GradMode::kEnabled,
        [state, features, acc, tiers, batches, loss_factor, aux_loss, progress, cancelled, total]() -> PromiseJob::Finish {
          auto stats = std::make_shared<NarEpochStats>(state->trainer->train_epoch(
              features, acc, tiers, batches, loss_factor, aux_loss,
              [&](int64_t step, double loss) { progress.report({static_cast<double>(step + 1), static_cast<double>(total), loss}); },
              cancelled.get()));
          return [stats](Napi::Env e) -> Napi::Value {
            auto o = Napi::Object::New(e);
            o.Set("loss", float64_array(e, stats->loss));
            o.Set("ce", float64_array(e, stats->ce));
            o.Set("rank", float64_array(e, stats->rank));
            o.Set("lr", float64_array(e, stats->lr));
            o.Set("correct", static_cast<double>(stats->correct));
            o.Set("count", static_cast<double>(stats->count));
            o.Set("seconds", stats->seconds);
            return o;
          };
        },
        {info[0], info[1], info[2]}, progress);
  }

  Napi::Value Validate(const Napi::CallbackInfo& info) {
    auto features = TensorWrap::Read(info[0], "features");
    auto tiers = TensorWrap::Read(info[1], "tiers");
    const int64_t batch_size = batch_size_arg(info[2]);
    auto state = state_;
    return start_job(
        info, "torchnas.NarRanker.validate", GradMode::kInference,
        [state, features, tiers, batch_size]() -> PromiseJob::Finish {
          auto p = std::make_shared<NarPrediction>(state->trainer->validate(features, tiers, batch_size));
          return [p](Napi::Env e) { return prediction_value(e, *p, "logits"); };
        },
        {info[0], info[1]});
  }

  Napi::Value Scores(const Napi::CallbackInfo& info) {
    auto features = TensorWrap::Read(info[0], "features");
    const int64_t batch_size = batch_size_arg(info[1]);
    auto cancelled = read_cancel_token(info[2]);
    auto state = state_;
    return start_job(
        info, "torchnas.NarRanker.scores", GradMode::kInference,
        [state, features, batch_size, cancelled]() -> PromiseJob::Finish {
          auto s = state->trainer->scores(features, batch_size, cancelled.get());
          return [s](Napi::Env e) -> Napi::Value { return float32_array(e, s); };
        },
        {info[0]});
  }

  Napi::Value TierMeans(const Napi::CallbackInfo& info) {
    auto features = TensorWrap::Read(info[0], "features");
    auto tiers = TensorWrap::Read(info[1], "tiers");
    const int64_t batch_size = batch_size_arg(info[2]);
    auto state = state_;
    return start_job(
        info, "torchnas.NarRanker.tierMeans", GradMode::kInference,
        [state, features, tiers, batch_size]() -> PromiseJob::Finish {
          auto m = state->trainer->tier_means(features, tiers, batch_size);
          return [m](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, m); };
        },
        {info[0], info[1]});
  }

  // predict(features, tierEmbeddings [T, P, D], batchSize?, cancel?) → {logits, scores}: eval-mode forward.
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto features = TensorWrap::Read(info[0], "features");
    auto trg = TensorWrap::Read(info[1], "tierEmbeddings");
    const int64_t batch_size = batch_size_arg(info[2]);
    auto cancelled = read_cancel_token(info[3]);
    auto state = state_;
    return start_job(
        info, "torchnas.NarRanker.predict", GradMode::kInference,
        [state, features, trg, batch_size, cancelled]() -> PromiseJob::Finish {
          auto p = std::make_shared<NarPrediction>(state->trainer->predict(features, trg, batch_size, cancelled.get()));
          return [p](Napi::Env e) { return prediction_value(e, *p, "logits"); };
        },
        {info[0], info[1]});
  }

  Napi::Value ResetSearchBuckets(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "reset the search buckets");
    while_held(env, [&] { state_->trainer->reset_search_buckets(); });
    return env.Undefined();
  }

  Napi::Value RankSearchBatch(const Napi::CallbackInfo& info) {
    auto features = TensorWrap::Read(info[0], "features");
    auto state = state_;
    return start_job(
        info, "torchnas.NarRanker.rankSearchBatch", GradMode::kInference,
        [state, features]() -> PromiseJob::Finish {
          auto p = std::make_shared<NarPrediction>(state->trainer->rank_search_batch(features));
          return [p](Napi::Env e) { return prediction_value(e, *p, "tierProbs"); };
        },
        {info[0]});
  }

  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto extra = read_named_tensors(info[1], "extras");
    auto state = state_;
    return start_job(info, "torchnas.NarRanker.saveCheckpoint", GradMode::kDisabled,
                     [state, path, extra]() -> PromiseJob::Finish {
                       state->trainer->save_checkpoint(path, extra);
                       return {};
                     },
                     {info[1]});
  }

  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto state = state_;
    return start_job(info, "torchnas.NarRanker.loadCheckpoint", GradMode::kDisabled,
                     [state, path]() -> PromiseJob::Finish {
                       auto extra = std::make_shared<NamedTensors>(state->trainer->load_checkpoint(path));
                       const double epoch = static_cast<double>(state->trainer->loop().epoch());
                       const double steps = static_cast<double>(state->trainer->loop().steps());
                       return [extra, epoch, steps](Napi::Env e) -> Napi::Value {
                         auto o = Napi::Object::New(e);
                         o.Set("epoch", epoch);
                         o.Set("steps", steps);
                         o.Set("extras", named_tensors_value(e, *extra));
                         return o;
                       };
                     });
  }

  Napi::Value Steps(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read its step counter");
    return Napi::Number::New(info.Env(), static_cast<double>(s.trainer->loop().steps()));
  }
  Napi::Value Epoch(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read its epoch counter");
    return Napi::Number::New(info.Env(), static_cast<double>(s.trainer->loop().epoch()));
  }
  Napi::Value Lr(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read its learning rate");
    return Napi::Number::New(info.Env(), s.trainer->loop().lr(0));
  }
};

// narNoamSchedule(lrMul, dModel, warmupSteps, steps) → the lr of optimiser steps 1..steps, from the
// LrSchedule the ranker trains with.
Napi::Value NarNoamSchedule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double lr_mul = read_number(info[0], "lrMul");
  const double d_model = read_number(info[1], "dModel");
  const int64_t warmup = read_int_in(info[2], "warmupSteps", 1, int64_t(1) << 40);
  const int64_t steps = read_int_in(info[3], "steps", 0, 1 << 24);
  if (!(lr_mul > 0) || !(d_model > 0)) throw_invalid(env, "lrMul and dModel must be > 0");
  return guarded(env, [&]() -> Napi::Value {
    ScheduleSettings s;
    s.kind = ScheduleKind::kNoam;
    s.noam_d_model = d_model;
    s.warmup_steps = warmup;
    LrSchedule schedule(s, lr_mul, steps);
    auto out = Napi::Float64Array::New(env, static_cast<size_t>(steps));
    for (int64_t i = 0; i < steps; ++i) {
      out[static_cast<size_t>(i)] = schedule.current().lr;
      schedule.after_batch();
    }
    return out;
  });
}

// narRankLoss(scores, labels) → the rank loss of one batch (nar_rank_loss; a test hook for the hand-computed value).
Napi::Value NarRankLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto s = read_numbers(info[0], "scores");
  auto y = read_numbers(info[1], "labels");
  if (s.size() != y.size()) throw_invalid(env, "scores and labels must have the same length");
  if (s.size() > 65536) throw_invalid(env, "at most 65536 scores");
  return guarded(env, [&]() -> Napi::Value {
    auto loss = nar_rank_loss(torch::tensor(s, torch::kFloat64), torch::tensor(y, torch::kFloat64));
    return Napi::Number::New(env, loss.item<double>());
  });
}

// narDropout(values, p, seed, threads?) → { output, gradient }: the ranker's training dropout (ops/dropout.h) on
// a float32 vector with a generator seeded `seed`, and the gradient it passes back for an upstream gradient of
// ones, on `threads` intra-op threads (a test hook: mask statistics, determinism across thread counts). `float64`
// true runs it on a float64 tensor: the path other devices (CUDA) and dtypes take, which must drop the same elements.
Napi::Value NarDropout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto values = read_numbers(info[0], "values");
  if (values.size() > (size_t(1) << 26)) throw_invalid(env, "at most 2^26 values");
  const double p = read_number(info[1], "p");
  if (!(p >= 0 && p < 1)) throw_invalid(env, "p must be in [0, 1)");
  const int64_t seed = read_int_in(info[2], "seed", 0, int64_t(1) << 53);
  const int64_t threads = info[3].IsUndefined() ? 0 : read_int_in(info[3], "threads", 1, 64);
  const bool float64 = !info[4].IsUndefined() && read_bool(info[4], "float64");
  return guarded(env, [&]() -> Napi::Value {
    struct Threads {
      explicit Threads(int n) { apply_job_threads(n); }
      ~Threads() { apply_job_threads(0); }
    } scoped(static_cast<int>(threads));
    torch::AutoGradMode grad_on(true);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    auto x = torch::tensor(values, torch::kFloat64).to(float64 ? torch::kFloat64 : torch::kFloat32).requires_grad_(true);
    auto y = hashed_dropout(x, p, gen);
    y.backward(torch::ones_like(y));
    auto r = Napi::Object::New(env);
    r.Set("output", float32_array(env, y.detach()));
    r.Set("gradient", float32_array(env, x.grad()));
    return r;
  });
}

// narAttention({ g, bq, lq, b, lk, heads, d, p, seed }) → { fused, aten }, each { output, dq, dk, dv }: the
// ranker's fused attention (ops/attention.h) and ATen's composition of the same mathematics (the path
// `TORCHNAS_KERNELS=attention=aten` takes) on the same seeded random q [G, Bq, Lq, H·d], k and v [B, Lk, H·d],
// with the same dropout generator, and their gradients for the same seeded random upstream gradient (a test
// hook: the two paths must agree to float rounding).
Napi::Value NarAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_invalid(env, "narAttention takes an options object");
  auto o = info[0].As<Napi::Object>();
  auto num = [&](const char* name, int64_t lo, int64_t hi) { return read_int_in(o.Get(name), std::string("options.") + name, lo, hi); };
  const int64_t g = num("g", 1, 16), bq = num("bq", 1, 256), lq = num("lq", 1, 256), b = num("b", 1, 256);
  const int64_t lk = num("lk", 1, 256), heads = num("heads", 1, 16), d = num("d", 1, 256);
  const int64_t seed = num("seed", 0, int64_t(1) << 53);
  const double p = read_number(o.Get("p"), "options.p");
  if (!(p >= 0 && p < 1)) throw_invalid(env, "options.p must be in [0, 1)");
  if (!(bq == 1 || bq == b)) throw_invalid(env, "options.bq must be 1 or options.b");
  return guarded(env, [&]() -> Napi::Value {
    torch::AutoGradMode grad_on(true);
    auto init = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    const int64_t w = heads * d;
    auto q0 = torch::empty({g, bq, lq, w}).normal_(0, 1, init);
    auto k0 = torch::empty({b, lk, w}).normal_(0, 1, init);
    auto v0 = torch::empty({b, lk, w}).normal_(0, 1, init);
    auto up = torch::empty({g, b, lq, w}).normal_(0, 1, init);
    auto run = [&](bool fused) {
      auto q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true), v = v0.clone().requires_grad_(true);
      auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed) + 1);
      auto* g = p > 0 ? &gen : nullptr;
      auto out = fused ? fused_attention(q, k, v, heads, p, g) : aten_attention(q, k, v, heads, p, g);
      out.backward(up);
      auto r = Napi::Object::New(env);
      for (const auto& [name, t] : {std::pair<const char*, torch::Tensor>{"output", out.detach()}, {"dq", q.grad()},
                                    {"dk", k.grad()}, {"dv", v.grad()}}) {
        r.Set(name, float32_array(env, t));
      }
      return r;
    };
    auto r = Napi::Object::New(env);
    r.Set("fused", run(true));
    r.Set("aten", run(false));
    return r;
  });
}

// narLinear({ rows, in, out, bias, seed }) → { backend, fast, aten }, each { output, dx, dw, db }: the
// ranker's Linear on ops/gemm.h (oneDNN's sgemm where found) and ATen's linear on the same seeded random
// x [rows, in], w [out, in], b [out] and upstream gradient (a test hook: the two must agree to float rounding).
Napi::Value NarLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw_invalid(env, "narLinear takes an options object");
  auto o = info[0].As<Napi::Object>();
  auto num = [&](const char* name, int64_t lo, int64_t hi) { return read_int_in(o.Get(name), std::string("options.") + name, lo, hi); };
  const int64_t rows = num("rows", 0, 1 << 20), in = num("in", 0, 1 << 16), out = num("out", 1, 1 << 16);
  const int64_t seed = num("seed", 0, int64_t(1) << 53);
  const bool bias = o.Get("bias").ToBoolean();
  if (rows * std::max<int64_t>(in, out) > (int64_t(1) << 26)) throw_invalid(env, "narLinear: rows × width is limited to 2^26");
  return guarded(env, [&]() -> Napi::Value {
    torch::AutoGradMode grad_on(true);
    auto init = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    auto x0 = torch::empty({rows, in}).normal_(0, 1, init);
    auto w0 = torch::empty({out, in}).normal_(0, 1, init);
    auto b0 = torch::empty({out}).normal_(0, 1, init);
    auto up = torch::empty({rows, out}).normal_(0, 1, init);
    auto run = [&](bool fast) {
      auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
      auto y = fast ? fast_linear(x, w, bias ? b : torch::Tensor())
                    : torch::nn::functional::linear(x, w, bias ? b : torch::Tensor());
      y.backward(up);
      auto r = Napi::Object::New(env);
      auto put = [&](const char* name, const torch::Tensor& t) {
        if (t.defined()) r.Set(name, float32_array(env, t));
      };
      put("output", y.detach());
      put("dx", x.grad());
      put("dw", w.grad());
      if (bias) put("db", b.grad());
      return r;
    };
    auto r = Napi::Object::New(env);
    r.Set("backend", sgemm_backend());
    r.Set("fast", run(true));
    r.Set("aten", run(false));
    return r;
  });
}

}  // namespace

void register_nar(Napi::Env env, Napi::Object exports) {
  NarRankerWrap::Register(env, exports);
  exports.Set("narNoamSchedule", Napi::Function::New(env, NarNoamSchedule, "narNoamSchedule"));
  exports.Set("narRankLoss", Napi::Function::New(env, NarRankLoss, "narRankLoss"));
  exports.Set("narDropout", Napi::Function::New(env, NarDropout, "narDropout"));
  exports.Set("narAttention", Napi::Function::New(env, NarAttention, "narAttention"));
  exports.Set("narLinear", Napi::Function::New(env, NarLinear, "narLinear"));
}

}  // namespace torchnas::napi
