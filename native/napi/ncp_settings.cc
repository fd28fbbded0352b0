// Reading NCP's option objects from JS (training and propagation settings), and oneCycleSchedule.
#include <napi.h>

#include <initializer_list>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>

#include "../core/train/lr_schedule.h"
#include "../core/train/training_loop.h"
#include "common.h"
#include "ncp.h"

namespace torchnas::napi {

namespace {

constexpr int64_t kMaxScheduleSteps = 10'000'000;
constexpr int64_t kMaxCount = 1'000'000'000;  // epochs × batches and iterations stay far from int64 overflow

template <typename T>
T pick(const std::string& value, const std::string& what, std::initializer_list<std::pair<const char*, T>> options, Napi::Env env) {
  std::string names;
  for (const auto& [name, v] : options) {
    if (value == name) return v;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw_invalid(env, what + " must be one of " + names + ", got '" + value + "'");
}

// oneCycleSchedule(totalSteps, {maxLr, pctStart, divFactor, finalDivFactor, baseMomentum, maxMomentum})
//   → {lr: Float64Array, momentum: Float64Array}: the lr/β1 each optimiser step uses (spec §5.3 check values).
Napi::Value OneCycleSchedule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Bounded before two Float64Arrays of this length are allocated (1e12 aborted V8 with out of memory).
  const int64_t total = read_int_in(info[0], "totalSteps", 1, kMaxScheduleSteps);
  auto o = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "options");
  ScheduleSettings s;
  s.pct_start = option_number(o, "pctStart", s.pct_start, "options");
  s.div_factor = option_number(o, "divFactor", s.div_factor, "options");
  s.final_div_factor = option_number(o, "finalDivFactor", s.final_div_factor, "options");
  s.base_momentum = option_number(o, "baseMomentum", s.base_momentum, "options");
  s.max_momentum = option_number(o, "maxMomentum", s.max_momentum, "options");
  const double max_lr = option_number(o, "maxLr", 1e-2, "options");
  return guarded(env, [&]() -> Napi::Value {
    LrSchedule schedule(s, max_lr, total);
    auto lr = Napi::Float64Array::New(env, static_cast<size_t>(total)), mom = Napi::Float64Array::New(env, static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      lr[static_cast<size_t>(i)] = schedule.current().lr;
      mom[static_cast<size_t>(i)] = schedule.current().momentum.value_or(0.0);
      schedule.after_batch();
    }
    auto r = Napi::Object::New(env);
    r.Set("lr", lr);
    r.Set("momentum", mom);
    return r;
  });
}

// Test hook: fusedAdamCheck({optimizer: 'adam'|'adamw', size, steps, lr, beta1, beta2, eps, weightDecay, seed})
//   → {initial, fused, reference: Float32Array}: one parameter vector stepped `steps` times by the fused
//   optimizer (fused_adam.h) and by torch's, on the same seeded random gradients, with lr and β1 changed
//   before every step as a one-cycle schedule does (lr·(1 + 0.5·t), β1 − 0.02·t).
Napi::Value FusedAdamCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "options");
  const auto kind = option_string(o, "optimizer", "adam", "options");
  if (kind != "adam" && kind != "adamw") throw_invalid(env, "options.optimizer must be adam or adamw");
  const int64_t size = option_int_in(o, "size", 1000, "options", 1, 10'000'000);
  const int64_t steps = option_int_in(o, "steps", 3, "options", 1, 1000);
  const double lr = option_number(o, "lr", 1e-2, "options"), beta1 = option_number(o, "beta1", 0.9, "options");
  const double beta2 = option_number(o, "beta2", 0.999, "options"), eps = option_number(o, "eps", 1e-8, "options");
  const double wd = option_number(o, "weightDecay", 1e-2, "options");
  const int64_t seed = option_int_in(o, "seed", 0, "options", 0, kMaxCount);
  return guarded(env, [&]() -> Napi::Value {
    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
    auto initial = torch::empty({size}).normal_(0, 1, generator);
    std::vector<torch::Tensor> grads;
    for (int64_t t = 0; t < steps; ++t) grads.push_back(torch::empty({size}).normal_(0, 1, generator));
    auto run = [&](bool fused) {
      OptimizerSettings settings;
      settings.kind = kind == "adam" ? OptimizerKind::kAdam : OptimizerKind::kAdamW;
      settings.lr = lr;
      settings.beta1 = beta1;
      settings.beta2 = beta2;
      settings.eps = eps;
      settings.weight_decay = wd;
      settings.fused = fused;
      auto p = initial.clone();
      TrainingLoop loop({{"p", {p}, settings, std::nullopt, 0}}, generator);
      for (int64_t t = 0; t < steps; ++t) {
        auto changed = settings;
        changed.lr = lr * (1 + 0.5 * static_cast<double>(t));
        changed.beta1 = beta1 - 0.02 * static_cast<double>(t);
        loop.set_optimizer_settings(0, changed);
        loop.step_with_computed_gradients(0, [&] {
          p.mutable_grad() = grads[static_cast<size_t>(t)].clone();
          return torch::zeros({});
        });
      }
      return p;
    };
    auto fused = run(true), reference = run(false);
    auto copy = [&](const torch::Tensor& t) {
      auto out = Napi::Float32Array::New(env, static_cast<size_t>(size));
      std::memcpy(out.Data(), t.data_ptr<float>(), static_cast<size_t>(size) * sizeof(float));
      return out;
    };
    auto r = Napi::Object::New(env);
    r.Set("initial", copy(initial));
    r.Set("fused", copy(fused));
    r.Set("reference", copy(reference));
    return r;
  });
}

}  // namespace

torch::Tensor float_vector(const Napi::Value& v, const std::string& what) {
  auto values = read_numbers(v, what);
  return torch::tensor(std::vector<float>(values.begin(), values.end()), torch::kFloat32);
}

PredictorTrainSettings read_train_settings(const Napi::Object& o, Napi::Env env) {
  PredictorTrainSettings s;
  const std::string w = "options";
  s.epochs = option_int_in(o, "epochs", s.epochs, w, 1, 1'000'000);
  s.batch_size = option_int_in(o, "batchSize", s.batch_size, w, 1, kMaxCount);
  s.optimizer = pick<OptimizerKind>(option_string(o, "optimizer", "adam", w), "options.optimizer",
                                    {{"adam", OptimizerKind::kAdam}, {"adamw", OptimizerKind::kAdamW}, {"sgd", OptimizerKind::kSgd}}, env);
  s.lr = option_number(o, "lr", s.lr, w);
  s.weight_decay = option_number(o, "weightDecay", s.weight_decay, w);
  s.beta1 = option_number(o, "beta1", s.beta1, w);
  s.beta2 = option_number(o, "beta2", s.beta2, w);
  s.eps = option_number(o, "eps", s.eps, w);
  s.momentum = option_number(o, "momentum", s.momentum, w);
  if (!o.Get("nesterov").IsUndefined()) s.nesterov = read_bool(o.Get("nesterov"), "options.nesterov");
  s.loss = pick<LossKind>(option_string(o, "loss", "smoothl1", w), "options.loss",
                          {{"smoothl1", LossKind::kSmoothL1}, {"mse", LossKind::kMse}, {"l1", LossKind::kL1}}, env);
  auto& c = s.schedule;
  c.kind = pick<ScheduleKind>(option_string(o, "scheduler", "onecycle", w), "options.scheduler",
                              {{"onecycle", ScheduleKind::kOneCycle}, {"cosine", ScheduleKind::kCosine},
                               {"exp", ScheduleKind::kExponential}, {"step", ScheduleKind::kStep}},
                              env);
  c.pct_start = option_number(o, "pctStart", c.pct_start, w);
  c.div_factor = option_number(o, "divFactor", c.div_factor, w);
  c.final_div_factor = option_number(o, "finalDivFactor", c.final_div_factor, w);
  c.base_momentum = option_number(o, "baseMomentum", c.base_momentum, w);
  c.max_momentum = option_number(o, "maxMomentum", c.max_momentum, w);
  if (!o.Get("cycleMomentum").IsUndefined()) c.cycle_momentum = read_bool(o.Get("cycleMomentum"), "options.cycleMomentum");
  c.eta_min = option_number(o, "etaMin", c.eta_min, w);
  c.gamma = option_number(o, "gamma", c.gamma, w);
  if (!o.Get("milestones").IsUndefined()) c.milestones = read_integers(o.Get("milestones"), "options.milestones");
  return s;
}

NcpSettings read_ncp_settings(const Napi::Object& o, Napi::Env env) {
  NcpSettings s;
  s.iterations = option_int_in(o, "iterations", s.iterations, "options", 0, kMaxCount);
  s.lr = option_number(o, "lr", s.lr, "options");
  s.loss = pick<NcpSettings::Loss>(option_string(o, "loss", "l1", "options"), "options.loss",
                                   {{"l1", NcpSettings::Loss::kL1}, {"smoothl1", NcpSettings::Loss::kSmoothL1}}, env);
  s.min_code = float_vector(o.Get("minCode"), "options.minCode");
  s.max_code = float_vector(o.Get("maxCode"), "options.maxCode");
  s.divisors = float_vector(o.Get("divisors"), "options.divisors");
  if (!o.Get("objectives").IsArray()) throw_invalid(env, "options.objectives must be an array");
  auto objectives = o.Get("objectives").As<Napi::Array>();
  for (uint32_t i = 0; i < objectives.Length(); ++i) {
    const std::string w = "options.objectives[" + std::to_string(i) + "]";
    auto ob = read_object(objectives.Get(i), w);
    NcpObjective obj;
    obj.output = read_int_in(ob.Get("output"), w + ".output", 0, kMaxCount);
    obj.mode = pick<NcpObjective::Mode>(read_string(ob.Get("mode"), w + ".mode"), w + ".mode",
                                        {{"increase", NcpObjective::Mode::kIncrease},
                                         {"decrease", NcpObjective::Mode::kDecrease},
                                         {"target", NcpObjective::Mode::kTarget}},
                                        env);
    obj.step = option_number(ob, "step", obj.step, w);
    obj.target = option_number(ob, "target", obj.target, w);
    obj.weights = read_numbers(ob.Get("weights"), w + ".weights");
    s.objectives.push_back(obj);
  }
  return s;
}

void register_ncp_schedules(Napi::Env env, Napi::Object exports) {
  exports.Set("oneCycleSchedule", Napi::Function::New(env, OneCycleSchedule, "oneCycleSchedule"));
  exports.Set("fusedAdamCheck", Napi::Function::New(env, FusedAdamCheck, "fusedAdamCheck"));
}

}  // namespace torchnas::napi
