// DenseSuperNet: the DenseNAS super network with its architecture parameters and search steps
// (core/nets/dense_supernet.h, core/train/densenas_search.h), bound on the shared module binding.
// The space arrives resolved from TypeScript (src/spaces/densenas: buildDenseSpace).
#include <ATen/CPUGeneratorImpl.h>
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <torch/serialize.h>

#include <fstream>

#include "../core/measure/latency.h"
#include "../core/nets/dense_derived_net.h"
#include "../core/serialize.h"
#include "classifier_wrap.h"
#include "../core/runtime.h"
#include "../core/train/densenas_search.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "module_wrap.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

std::vector<double> read_numbers(const Napi::Value& v, const std::string& what, size_t max = 1 << 20) {
  if (!v.IsArray()) throw_invalid(v.Env(), what + " must be an array of numbers");
  auto a = v.As<Napi::Array>();
  if (a.Length() > max) throw_invalid(v.Env(), what + " holds more than " + std::to_string(max) + " entries");
  std::vector<double> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(read_number(a.Get(i), what + "[" + std::to_string(i) + "]"));
  return out;
}

// ops.head / ops.stack of a step: per block (null or absent where it has no rows), per mixed op, op indices.
std::vector<std::vector<std::vector<int64_t>>> read_op_rows(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw_invalid(v.Env(), what + " must be an array (per block) of arrays (per mixed op) of op indices");
  auto blocks = v.As<Napi::Array>();
  if (blocks.Length() > 4096) throw_invalid(v.Env(), what + " holds more than 4096 blocks");
  std::vector<std::vector<std::vector<int64_t>>> out(blocks.Length());
  for (uint32_t j = 0; j < blocks.Length(); ++j) {
    Napi::Value b = blocks.Get(j);
    if (b.IsNull() || b.IsUndefined()) continue;
    const std::string at = what + "[" + std::to_string(j) + "]";
    if (!b.IsArray()) throw_invalid(v.Env(), at + " must be an array of op-index rows (or null)");
    auto rows = b.As<Napi::Array>();
    for (uint32_t r = 0; r < rows.Length(); ++r) {
      const std::string row = at + "[" + std::to_string(r) + "]";
      std::vector<int64_t> ops;
      for (double x : read_numbers(rows.Get(r), row, 64)) {
        if (x != static_cast<double>(static_cast<int64_t>(x))) throw_invalid(v.Env(), row + " must hold integer op indices");
        ops.push_back(static_cast<int64_t>(x));
      }
      out[j].push_back(std::move(ops));
    }
  }
  return out;
}

std::vector<std::string> read_strings(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw_invalid(v.Env(), what + " must be an array of strings");
  auto a = v.As<Napi::Array>();
  if (a.Length() > 64) throw_invalid(v.Env(), what + " holds more than 64 ops");
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(read_string(a.Get(i), what + "[" + std::to_string(i) + "]"));
  return out;
}

Napi::Array array_of(const Napi::Value& v, const std::string& what, size_t max) {
  if (!v.IsArray()) throw_invalid(v.Env(), what + " must be an array");
  auto a = v.As<Napi::Array>();
  if (a.Length() > max) throw_invalid(v.Env(), what + " holds more than " + std::to_string(max) + " entries");
  return a;
}

DenseSpaceSpec read_space(const Napi::Value& v) {
  Napi::Env env = v.Env();
  auto o = read_object(v, "space");
  const std::string owner = "space";
  DenseSpaceSpec s;
  s.net_type = option_string(o, "netType", "", owner);
  s.in_channels = option_int(o, "inChannels", 3, owner);
  s.num_classes = option_int(o, "numClasses", 1000, owner);
  s.stem_stride = option_int(o, "stemStride", 2, owner);
  s.init_dim = option_int(o, "initDim", 16, owner);
  s.head_dim = option_int(o, "headDim", s.init_dim, owner);
  s.last_dim = option_int(o, "lastDim", 1984, owner);
  Napi::Value bn = o.Get("bn");
  if (!bn.IsNull() && !bn.IsUndefined()) {
    auto b = read_object(bn, "space.bn");
    s.bn.momentum = option_number(b, "momentum", 0.1, "space.bn");
    s.bn.eps = option_number(b, "eps", 1e-5, "space.bn");
    if (!(s.bn.momentum >= 0 && s.bn.momentum <= 1) || !(s.bn.eps > 0 && s.bn.eps < 1)) throw_invalid(env, "space.bn: momentum in [0, 1] and eps in (0, 1)");
  }
  s.head_ops = read_strings(o.Get("headOps"), "space.headOps");
  s.stack_ops = read_strings(o.Get("stackOps"), "space.stackOps");
  auto blocks = array_of(o.Get("blocks"), "space.blocks", 256);
  for (uint32_t j = 0; j < blocks.Length(); ++j) {
    const std::string where = "space.blocks[" + std::to_string(j) + "]";
    auto b = read_object(blocks.Get(j), where);
    DenseBlockSpec block;
    block.channels = option_int(b, "channels", 0, where);
    block.num_layers = option_int(b, "numLayers", 0, where);
    auto preds = array_of(b.Get("predecessors"), where + ".predecessors", 256);
    for (uint32_t h = 0; h < preds.Length(); ++h) {
      auto e = read_object(preds.Get(h), where + ".predecessors[" + std::to_string(h) + "]");
      block.predecessors.push_back({option_int(e, "from", -1, where), option_int(e, "stride", 1, where)});
    }
    for (double x : read_numbers(b.Get("successors"), where + ".successors", 256)) {
      if (x != static_cast<double>(static_cast<int64_t>(x))) throw_invalid(env, where + ".successors must hold integers");
      block.successors.push_back(static_cast<int64_t>(x));
    }
    s.blocks.push_back(std::move(block));
  }
  guarded(env, [&] { s.validate(); });
  return s;
}

DenseSearchSettings read_search_settings(const Napi::Value& v) {
  DenseSearchSettings s;
  if (v.IsUndefined()) return s;
  auto o = read_object(v, "options.search");
  const std::string owner = "options.search";
  s.weight_lr = option_number(o, "weightLr", s.weight_lr, owner);
  s.weight_momentum = option_number(o, "weightMomentum", s.weight_momentum, owner);
  s.weight_decay = option_number(o, "weightDecay", s.weight_decay, owner);
  s.min_lr = option_number(o, "minLr", s.min_lr, owner);
  s.total_weight_steps = option_int_in(o, "totalWeightSteps", s.total_weight_steps, owner, 1, int64_t(1) << 40);
  s.alpha_lr = option_number(o, "alphaLr", s.alpha_lr, owner);
  s.beta_lr = option_number(o, "betaLr", s.beta_lr, owner);
  s.arch_weight_decay = option_number(o, "archWeightDecay", s.arch_weight_decay, owner);
  s.weight_sample_num = option_int_in(o, "weightSampleNum", s.weight_sample_num, owner, 1, 64);
  s.arch_sample_num = option_int_in(o, "archSampleNum", s.arch_sample_num, owner, 1, 64);
  const auto policy = option_string(o, "samplePolicy", "prob", owner);
  if (policy == "prob") s.sample_policy = DenseSamplePolicy::kProb;
  else if (policy == "uniform") s.sample_policy = DenseSamplePolicy::kUniform;
  else throw_invalid(v.Env(), "options.search.samplePolicy must be 'prob' or 'uniform'");
  s.temperature = option_number(o, "temperature", s.temperature, owner);
  Napi::Value gumbel = o.Get("gumbel");
  if (!gumbel.IsUndefined()) s.gumbel = read_bool(gumbel, "options.search.gumbel");
  Napi::Value cost_term = o.Get("costTerm");
  if (!cost_term.IsUndefined()) s.cost_term = read_bool(cost_term, "options.search.costTerm");
  const auto penalty = option_string(o, "penalty", "log", owner);
  if (penalty == "log") s.penalty = DenseCostPenalty::kLog;
  else if (penalty == "ratio") s.penalty = DenseCostPenalty::kRatio;
  else if (penalty == "hinge") s.penalty = DenseCostPenalty::kHinge;
  else throw_invalid(v.Env(), "options.search.penalty must be 'log', 'ratio' or 'hinge'");
  s.sub_loss_factor = option_number(o, "subLossFactor", s.sub_loss_factor, owner);
  s.log_base = option_number(o, "logBase", s.log_base, owner);
  s.target = option_number(o, "target", s.target, owner);
  return s;
}

DenseCosts read_costs(const Napi::Value& v, const DenseSpaceSpec& space) {
  auto o = read_object(v, "costs");
  DenseCosts c;
  c.stem = option_number(o, "stem", -1, "costs");
  c.classifier = option_number(o, "classifier", -1, "costs");
  auto rows = [&](const char* key) {
    std::vector<std::vector<std::vector<double>>> out;
    auto blocks = array_of(o.Get(key), std::string("costs.") + key, 256);
    for (uint32_t j = 0; j < blocks.Length(); ++j) {
      std::vector<std::vector<double>> block;
      const std::string where = std::string("costs.") + key + "[" + std::to_string(j) + "]";
      auto r = array_of(blocks.Get(j), where, 256);
      for (uint32_t h = 0; h < r.Length(); ++h) block.push_back(read_numbers(r.Get(h), where + "[" + std::to_string(h) + "]", 64));
      out.push_back(std::move(block));
    }
    return out;
  };
  c.head = rows("head");
  c.stack = rows("stack");
  c.last = read_numbers(o.Get("last"), "costs.last", 256);
  guarded(v.Env(), [&] { c.validate(space); });
  return c;
}

Napi::Object step_value(Napi::Env env, const DenseStepResult& r, double lr) {
  auto o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("ce", r.ce);
  o.Set("cost", r.cost);
  o.Set("correct", static_cast<double>(r.correct));
  o.Set("count", static_cast<double>(r.count));
  o.Set("lr", lr);
  return o;
}

Napi::Array float_rows(Napi::Env env, const std::vector<torch::Tensor>& tensors) {
  auto out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& t : tensors) {
    if (!t.defined()) {
      out.Set(k++, env.Null());
      continue;
    }
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    auto arr = Napi::Float32Array::New(env, static_cast<size_t>(c.numel()));
    std::memcpy(arr.Data(), c.data_ptr<float>(), sizeof(float) * static_cast<size_t>(c.numel()));
    out.Set(k++, arr);
  }
  return out;
}

struct DenseState {
  DenseSuperNet net{nullptr};
  std::unique_ptr<DenseSearch> search;
  std::shared_ptr<DenseCosts> costs;  // set by setCosts; shared with running jobs
  torch::Device where{torch::kCPU};
  torch::nn::Module& module() { return *net; }
  torch::Device device() const { return where; }
  // broadcastState sends α/β with the weights: every rank starts the search from rank 0's architecture.
  std::vector<torch::Tensor> broadcast_extras() {
    auto out = search->arch().all_betas();
    for (const auto& a : search->arch().alphas()) out.push_back(a);
    return out;
  }
  // setDistributed: data-parallel search from the next step on. Weight steps average the sampled ops' weight
  // gradients over the ranks, architecture steps the α/β gradients; every rank must pass the same group, draw the
  // same op samples (the same seed) and run the same number of steps.
  void set_distributed(std::shared_ptr<DistributedContext> context) { search->loop().set_distributed(std::move(context)); }
};

// What buildDenseSuperNet resolves with: the built state, until a DenseSuperNet takes it.
struct DenseParts {
  std::shared_ptr<DenseState> state;
};
const napi_type_tag kDensePartsTag = {0x7d3c0a6e51f94b21ULL, 0x9e1f5c2d80a4b637ULL};

DenseSamplePolicy read_policy(const std::string& name, Napi::Env env) {
  if (name == "all") return DenseSamplePolicy::kAll;
  if (name == "prob") return DenseSamplePolicy::kProb;
  if (name == "uniform") return DenseSamplePolicy::kUniform;
  throw_invalid(env, "sample must be 'all', 'prob' or 'uniform'");
}

class DenseSuperNetWrap : public ModuleWrap<DenseSuperNetWrap, DenseState> {
 public:
  static constexpr const char* kClassName = "DenseSuperNet";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = module_methods({/*save_load=*/true, /*parameters=*/true});
    methods.push_back(InstanceMethod("archParameters", &DenseSuperNetWrap::ArchParameters));
    methods.push_back(InstanceMethod("setCosts", &DenseSuperNetWrap::SetCosts));
    methods.push_back(InstanceMethod("forward", &DenseSuperNetWrap::Forward));
    methods.push_back(InstanceMethod("expectedCost", &DenseSuperNetWrap::ExpectedCost));
    methods.push_back(InstanceMethod("weightStep", &DenseSuperNetWrap::WeightStep));
    methods.push_back(InstanceMethod("archStep", &DenseSuperNetWrap::ArchStep));
    methods.push_back(InstanceMethod("evaluate", &DenseSuperNetWrap::Evaluate));
    methods.push_back(InstanceMethod("endEpoch", &DenseSuperNetWrap::EndEpoch));
    methods.push_back(InstanceMethod("setTemperature", &DenseSuperNetWrap::SetTemperature));
    methods.push_back(InstanceMethod("saveCheckpoint", &DenseSuperNetWrap::SaveCheckpoint));
    methods.push_back(InstanceMethod("loadCheckpoint", &DenseSuperNetWrap::LoadCheckpoint));
    methods.push_back(InstanceMethod("stepProfile", &DenseSuperNetWrap::StepProfile));
    exports.Set(kClassName, define(env, methods, {getter<DenseSuperNetWrap, &DenseSuperNetWrap::ArchParameterCount>("archParameterCount")}));
  }

  // new DenseSuperNet(space, {seed, device, search}): the super net, its α/β (1e-3·N(0,1)) and the search
  // loop, all drawn from one generator seeded with `seed`, built on the calling (JS) thread: it blocks the
  // event loop for seconds on a full space, so the library builds through buildDenseSuperNet instead.
  // new DenseSuperNet(parts): takes the parts a buildDenseSuperNet promise resolved with (once).
  explicit DenseSuperNetWrap(const Napi::CallbackInfo& info) : ModuleWrap(info) {
    Napi::Env env = info.Env();
    if (info[0].IsExternal()) {
      auto external = info[0].As<Napi::External<DenseParts>>();
      if (!external.CheckTypeTag(&kDensePartsTag)) throw_invalid(env, "DenseSuperNet: not the parts of a buildDenseSuperNet promise");
      DenseParts* parts = external.Data();
      if (!parts->state) throw_invalid(env, "DenseSuperNet: these parts were already taken by another DenseSuperNet");
      bind(env, std::move(parts->state));
      return;
    }
    auto request = read_build_request(info);
    bind(env, guarded(env, [&] { return build_dense_state(request); }));
  }

  // The arguments of a construction, read on the JS thread.
  struct BuildRequest {
    DenseSpaceSpec space;
    int64_t seed = 0;
    std::string device;
    DenseSearchSettings settings;
  };

  static BuildRequest read_build_request(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    BuildRequest r;
    r.space = read_space(info[0]);
    auto o = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "DenseSuperNet options");
    r.seed = option_int_in(o, "seed", 0, "options", 0, int64_t(1) << 53);
    r.device = option_string(o, "device", "cpu", "options");
    r.settings = read_search_settings(o.Get("search"));
    return r;
  }

  static std::shared_ptr<DenseState> build_dense_state(const BuildRequest& r) {
    auto s = std::make_shared<DenseState>();
    s->where = parse_device(r.device);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(r.seed));
    // Construction draws LibTorch's default init from the global generator before the seeded
    // re-init: serialised so that it cannot disturb another thread's seeded construction.
    std::lock_guard<std::mutex> lock(seeded_construction_mutex());
    s->net = DenseSuperNet(r.space, generator, s->where);
    auto arch = DenseArch::initial(r.space, generator, s->where);
    s->search = std::make_unique<DenseSearch>(s->net, std::move(arch), r.settings, generator);
    return s;
  }

  // buildDenseSuperNet(space, {seed, device, search}) → Promise<parts>: the same construction on a worker
  // thread (the event loop keeps running); `new DenseSuperNet(parts)` wraps the result.
  static Napi::Value Build(const Napi::CallbackInfo& info) {
    auto request = std::make_shared<BuildRequest>(read_build_request(info));
    return PromiseJob::Start(info.Env(), "torchnas.buildDenseSuperNet", GradMode::kEnabled, [request]() -> PromiseJob::Finish {
      auto state = build_dense_state(*request);
      return [state](Napi::Env e) -> Napi::Value {
        auto external = Napi::External<DenseParts>::New(e, new DenseParts{state}, [](Napi::Env, DenseParts* p) { delete p; });
        external.TypeTag(&kDensePartsTag);
        return external;
      };
    });
  }

 private:
  Napi::Value ArchParameterCount(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read the architecture parameters");
    return Napi::Number::New(info.Env(), static_cast<double>(s.search->arch().count()));
  }

  // {betas, alphaHead, alphaStack}: one Float32Array per block (row-major), null where a block has none.
  Napi::Value ArchParameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& s = idle_state(env, "read the architecture parameters");
    auto o = Napi::Object::New(env);
    const auto& arch = s.search->arch();
    o.Set("betas", float_rows(env, arch.betas));
    o.Set("alphaHead", float_rows(env, arch.alpha_head));
    o.Set("alphaStack", float_rows(env, arch.alpha_stack));
    return o;
  }

  // setCosts(costs): the positional cost list (§5.2 layout, cut to this space) used by expectedCost and
  // the steps' cost term.
  Napi::Value SetCosts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "change the cost table");
    auto costs = std::make_shared<DenseCosts>(read_costs(info[0], state_->net->space()));
    state_->costs = std::move(costs);
    return env.Undefined();
  }

  DenseSamplePolicy policy_option(const Napi::CallbackInfo& info, size_t at, int64_t& k) {
    k = 1;
    if (info[at].IsUndefined()) return DenseSamplePolicy::kAll;
    auto o = read_object(info[at], "options");
    k = option_int_in(o, "k", 1, "options", 1, 64);
    return read_policy(option_string(o, "sample", "all", "options"), info.Env());
  }

  // forward(images, {sample, k}) → logits: all ops by default (BN in training mode, §3.4).
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto images = TensorWrap::Read(info[0], "images");
    int64_t k;
    auto policy = policy_option(info, 1, k);
    auto state = state_;
    return start_job(
        info, "torchnas.DenseSuperNet.forward", GradMode::kInference,
        [state, images, policy, k]() -> PromiseJob::Finish {
          auto& search = *state->search;
          auto sample = sample_ops(state->net->space(), search.arch(), k, policy, search.loop().generator());
          state->net->train();
          auto x = images.to(state->where);
          if (x.scalar_type() == torch::kUInt8) x = x.to(torch::kFloat32).div_(255.0);
          auto logits = state->net->forward(x.to(torch::kFloat32), search.arch().detached(), sample, search.settings().temperature).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info[0]});
  }

  // expectedCost({sample, k}) → the chained cost (§3.5) under the cost table.
  Napi::Value ExpectedCost(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t k;
    auto policy = policy_option(info, 0, k);
    require_idle(env, "estimate the cost");
    if (!state_->costs) throw make_error(env, "INVALID_ARGUMENT", "no cost table: call setCosts first");
    auto state = state_;
    return start_job(info, "torchnas.DenseSuperNet.expectedCost", GradMode::kDisabled, [state, policy, k]() -> PromiseJob::Finish {
      auto& search = *state->search;
      auto sample = sample_ops(state->net->space(), search.arch(), k, policy, search.loop().generator());
      const double cost = state->net->expected_cost(search.arch().detached(), sample, *state->costs, search.settings().temperature).item<double>();
      return [cost](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, cost); };
    });
  }

  enum class StepKind { kWeight, kArch, kEvaluate };

  Napi::Value start_step(const Napi::CallbackInfo& info, StepKind kind, const char* name) {
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    bool warmup = false;
    std::shared_ptr<DenseSample> ops;
    if (!info[2].IsUndefined()) {
      auto o = read_object(info[2], "options");
      Napi::Value w = o.Get("warmup");
      if (!w.IsUndefined()) warmup = read_bool(w, "options.warmup");
      Napi::Value given = o.Get("ops");
      if (kind != StepKind::kEvaluate && !given.IsUndefined()) {
        auto g = read_object(given, "options.ops");
        ops = std::make_shared<DenseSample>();
        ops->head = read_op_rows(g.Get("head"), "options.ops.head");
        ops->stack = read_op_rows(g.Get("stack"), "options.ops.stack");
      }
    }
    auto state = state_;
    auto costs = state_ ? state_->costs : nullptr;
    return start_job(
        info, name, kind == StepKind::kEvaluate ? GradMode::kDisabled : GradMode::kEnabled,
        [state, images, labels, warmup, kind, costs, ops]() -> PromiseJob::Finish {
          auto& search = *state->search;
          const double lr = search.weight_lr();
          DenseStepResult r;
          switch (kind) {
            case StepKind::kWeight: r = search.weight_step(images, labels, warmup, costs.get(), ops.get()); break;
            case StepKind::kArch: r = search.arch_step(images, labels, costs.get(), ops.get()); break;
            case StepKind::kEvaluate: r = search.evaluate(images, labels, costs.get()); break;
          }
          return [r, lr](Napi::Env e) -> Napi::Value { return step_value(e, r, lr); };
        },
        {info[0], info[1]});
  }

  // weightStep(images, labels, {warmup, ops}) / archStep(images, labels, {ops}) / evaluate(images, labels):
  // one step on one batch → {loss, ce, cost, correct, count, lr}. `ops` ({head, stack}: per block, per mixed op,
  // the ascending op indices) replaces the step's drawn sample (checked against the space in the job).
  Napi::Value WeightStep(const Napi::CallbackInfo& info) { return start_step(info, StepKind::kWeight, "torchnas.DenseSuperNet.weightStep"); }
  Napi::Value ArchStep(const Napi::CallbackInfo& info) { return start_step(info, StepKind::kArch, "torchnas.DenseSuperNet.archStep"); }
  Napi::Value Evaluate(const Napi::CallbackInfo& info) { return start_step(info, StepKind::kEvaluate, "torchnas.DenseSuperNet.evaluate"); }

  // stepProfile() → seconds spent so far in the search's steps, by phase: {prepare, compute (forward), backward,
  // communicate (data-parallel collectives), update, steps}.
  Napi::Value StepProfile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "read the step profile");
    TrainingLoop::StepProfile p;
    int64_t steps = 0;
    while_held(env, [&] {
      p = state_->search->loop().profile();
      steps = state_->search->loop().steps();
      return 0;
    });
    auto o = Napi::Object::New(env);
    o.Set("prepare", p.prepare);
    o.Set("compute", p.compute);
    o.Set("backward", p.backward);
    o.Set("communicate", p.communicate);
    o.Set("update", p.update);
    o.Set("steps", static_cast<double>(steps));
    return o;
  }

  // endEpoch() → the epoch count after it (saved in checkpoints; a resumed search starts there).
  Napi::Value EndEpoch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "end the epoch");
    const double epoch = while_held(env, [&] {
      state_->search->end_epoch();
      return static_cast<double>(state_->search->loop().epoch());
    });
    return Napi::Number::New(env, epoch);
  }

  // setTemperature(T): the softmax temperature of later steps (the search's annealing schedule sets it
  // at the start of every epoch, so a resumed run recomputes it from the epoch and never stores it).
  Napi::Value SetTemperature(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double t = read_number(info[0], "temperature");
    require_idle(env, "set the temperature");
    while_held(env, [&] {
      state_->search->set_temperature(t);
      return 0;
    });
    return env.Undefined();
  }

  // saveCheckpoint(path, extras?): weights, α/β, both optimizers' states, the cosine position, counters and
  // the generator's state, plus `extras` — everything a resumed search needs to continue exactly.
  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto extra = read_named_tensors(info[1], "extras");
    for (const auto& [name, _] : extra) {
      if (name.rfind("arch/", 0) == 0) throw_invalid(info.Env(), "extras: names starting with 'arch/' are reserved");
    }
    auto state = state_;
    return start_job(info, "torchnas.DenseSuperNet.saveCheckpoint", GradMode::kDisabled,
                     [state, path, extra]() -> PromiseJob::Finish {
                       auto all = extra;
                       for (const auto& [name, t] : arch_tensors(state->search->arch())) all.emplace_back(name, t.detach());
                       save_checkpoint(path, {{"supernet", state->net.get()}}, state->search->loop(), all);
                       return {};
                     },
                     {info[1]});
  }

  // loadCheckpoint(path) → {epoch, steps, extras}: restores everything saveCheckpoint wrote, in place.
  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto state = state_;
    return start_job(info, "torchnas.DenseSuperNet.loadCheckpoint", GradMode::kDisabled,
                     [state, path]() -> PromiseJob::Finish {
                       auto& search = *state->search;
                       auto extra = load_checkpoint(path, {{"supernet", state->net.get()}}, search.loop(), state->where);
                       auto user = std::make_shared<NamedTensors>();
                       auto targets = arch_tensors(search.arch());
                       size_t restored = 0;
                       for (const auto& [name, value] : extra) {
                         if (name.rfind("arch/", 0) != 0) {
                           user->emplace_back(name, value);
                           continue;
                         }
                         auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return t.first == name; });
                         if (it == targets.end() || !it->second.sizes().equals(value.sizes())) {
                           fail("FILE_CORRUPT", path + ": architecture parameter '" + name + "' does not fit this space");
                         }
                         torch::NoGradGuard no_grad;
                         it->second.copy_(value);
                         ++restored;
                       }
                       if (restored != targets.size()) fail("FILE_CORRUPT", path + ": the checkpoint lacks some architecture parameters");
                       const double epoch = static_cast<double>(search.loop().epoch()), steps = static_cast<double>(search.loop().steps());
                       return [user, epoch, steps](Napi::Env e) -> Napi::Value {
                         auto o = Napi::Object::New(e);
                         o.Set("epoch", epoch);
                         o.Set("steps", steps);
                         o.Set("extras", named_tensors_value(e, *user));
                         return o;
                       };
                     });
  }

  // The α/β tensors under stable names (checkpoint entries).
  static std::vector<std::pair<std::string, torch::Tensor>> arch_tensors(DenseArch& arch) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (size_t i = 0; i < arch.betas.size(); ++i) {
      if (arch.betas[i].defined()) out.emplace_back("arch/beta/" + std::to_string(i), arch.betas[i]);
      if (arch.alpha_head[i].defined()) out.emplace_back("arch/alpha_head/" + std::to_string(i), arch.alpha_head[i]);
      if (arch.alpha_stack[i].defined()) out.emplace_back("arch/alpha_stack/" + std::to_string(i), arch.alpha_stack[i]);
    }
    return out;
  }
};

// new DenseDerivedNet(netConfig, {inChannels, numClasses, stemStride, bn, seed, device, mean, std}):
// netConfig = {netType, entries: [{kind: 'block', inChannels, outChannels, headOp, stackOps, stride} |
// {kind: 'conv1_1', inChannels, outChannels}]} as src/spaces/densenas/net-config.ts writes it.
class DenseDerivedNetWrap : public ClassifierWrap<DenseDerivedNetWrap> {
 public:
  static constexpr const char* kClassName = "DenseDerivedNet";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = classifier_methods();
    methods.push_back(InstanceMethod("measureLatency", &DenseDerivedNetWrap::MeasureLatency));
    methods.push_back(InstanceMethod("exportStateDict", &DenseDerivedNetWrap::ExportStateDict));
    exports.Set(kClassName, define(env, methods));
  }

  explicit DenseDerivedNetWrap(const Napi::CallbackInfo& info) : ClassifierWrap(info) {
    Napi::Env env = info.Env();
    auto config = read_object(info[0], "netConfig");
    DerivedNetSpec spec;
    spec.net_type = option_string(config, "netType", "mbv2", "netConfig");
    auto entries = array_of(config.Get("entries"), "netConfig.entries", 256);
    for (uint32_t e = 0; e < entries.Length(); ++e) {
      const std::string where = "netConfig.entries[" + std::to_string(e) + "]";
      auto o = read_object(entries.Get(e), where);
      DerivedEntry entry;
      const auto kind = option_string(o, "kind", "block", where);
      if (kind != "block" && kind != "conv1_1") throw_invalid(env, where + ".kind must be 'block' or 'conv1_1'");
      entry.conv1_1 = kind == "conv1_1";
      entry.in = option_int_in(o, "inChannels", 0, where, 1, 65536);
      entry.out = option_int_in(o, "outChannels", 0, where, 1, 65536);
      if (!entry.conv1_1) {
        entry.head_op = option_string(o, "headOp", "", where);
        entry.stack_ops = read_strings(o.Get("stackOps"), where + ".stackOps");
        entry.stride = option_int_in(o, "stride", 1, where, 1, 2);
      }
      spec.entries.push_back(std::move(entry));
    }
    auto opts = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "options");
    spec.in_channels = option_int_in(opts, "inChannels", 3, "options", 1, 64);
    spec.num_classes = option_int_in(opts, "numClasses", 1000, "options", 1, 100000);
    spec.stem_stride = option_int_in(opts, "stemStride", 2, "options", 1, 2);
    Napi::Value bn = opts.Get("bn");
    if (!bn.IsUndefined() && !bn.IsNull()) {
      auto b = read_object(bn, "options.bn");
      spec.bn.momentum = option_number(b, "momentum", 0.1, "options.bn");
      spec.bn.eps = option_number(b, "eps", 1e-5, "options.bn");
    }
    const auto seed = option_int_in(opts, "seed", 0, "options", 0, int64_t(1) << 53);
    const auto device_spec = option_string(opts, "device", "cpu", "options");
    const double mean = option_number(opts, "mean", 0.2860, "options"), std = option_number(opts, "std", 0.3530, "options");
    if (!(std > 0)) throw_invalid(env, "options.std must be > 0");
    bind(env, guarded(env, [&] {
           auto device = parse_device(device_spec);
           auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
           std::lock_guard<std::mutex> lock(seeded_construction_mutex());  // LibTorch's default init draws globally
           auto net = DenseDerivedNet(spec, generator);
           const int64_t classes = spec.num_classes;
           ClassifierModel model{net.ptr(), [net](const torch::Tensor& x) mutable { return net->forward(x); }, classes};
           auto trainer = std::make_shared<ClassifierTrainer>(std::move(model), device);
           trainer->mean = mean;
           trainer->std = std;
           return trainer;
         }));
  }

 private:
  // measureLatency({batch, h, w, warmup, minRuns, maxRuns, relSe}) → {count, mean, median, std, min} ms per
  // batch of the whole network (eval mode, no grad) on its device: what the search's LUT sum predicted.
  Napi::Value MeasureLatency(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "options");
    const int64_t batch = option_int_in(o, "batch", 1, "options", 1, 4096);
    const int64_t h = option_int_in(o, "h", 224, "options", 1, 4096), w = option_int_in(o, "w", h, "options", 1, 4096);
    LatencySettings settings;
    settings.warmup = option_int_in(o, "warmup", settings.warmup, "options", 0, 100000);
    settings.min_runs = option_int_in(o, "minRuns", settings.min_runs, "options", 1, 1000000);
    settings.max_runs = option_int_in(o, "maxRuns", settings.max_runs, "options", 1, 1000000);
    if (settings.max_runs < settings.min_runs) throw_invalid(env, "options.maxRuns must be >= options.minRuns");
    settings.rel_se = option_number(o, "relSe", settings.rel_se, "options");
    auto trainer = state_;
    return start_job(info, "torchnas.DenseDerivedNet.measureLatency", GradMode::kInference, [trainer, batch, h, w, settings]() -> PromiseJob::Finish {
      auto& module = trainer->module();
      const bool training = module.is_training();
      module.eval();
      auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
      auto& net = static_cast<DenseDerivedNetImpl&>(module);
      auto x = torch::randn({batch, net.spec().in_channels, h, w}, generator).to(trainer->device());
      auto stats = measure_latency([&] { trainer->forward(x); }, trainer->device(), settings);
      module.train(training);
      return [stats](Napi::Env e) -> Napi::Value {
        auto r = Napi::Object::New(e);
        r.Set("count", static_cast<double>(stats.count));
        r.Set("mean", stats.mean_ms);
        r.Set("median", stats.median_ms);
        r.Set("std", stats.std_ms);
        r.Set("min", stats.min_ms);
        r.Set("medianSe", stats.median_se_ms);
        return r;
      };
    });
  }

  // exportStateDict(path): parameters and buffers as a {name: tensor} dict in LibTorch's pickle format,
  // which Python's torch.load opens (a state dict for a PyTorch port of the network), written atomically.
  Napi::Value ExportStateDict(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto trainer = state_;
    return start_job(info, "torchnas.DenseDerivedNet.exportStateDict", GradMode::kDisabled, [trainer, path]() -> PromiseJob::Finish {
      c10::Dict<std::string, torch::Tensor> dict;
      for (const auto& item : trainer->module().named_parameters(true)) dict.insert(item.key(), item.value().detach().cpu());
      for (const auto& item : trainer->module().named_buffers(true)) dict.insert(item.key(), item.value().detach().cpu());
      const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
      write_atomically(path, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) fail("FILE_CORRUPT", "could not write " + tmp);
      });
      return {};
    });
  }
};

// One LUT entry to time (§5.1: every candidate op in isolation, eval mode, no grad).
struct LatencyEntry {
  std::string kind;  // op | stem | conv1_1 | linear
  std::string op;    // kind op: the DenseNAS op name; kind stem: "relu6" or "relu"
  int64_t in = 0, out = 0, stride = 1, h = 1, w = 1;
};

// measureDenseOps(entries, {batch, device, warmup, minRuns, maxRuns, relSe, bn, seed}, onProgress?, cancel?)
// → [{count, mean, median, std, min}] in ms per batch, one per entry. Progress rows: [done, total, median].
Napi::Value MeasureDenseOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = array_of(info[0], "entries", 100000);
  std::vector<LatencyEntry> entries;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string where = "entries[" + std::to_string(i) + "]";
    auto o = read_object(list.Get(i), where);
    LatencyEntry e;
    e.kind = option_string(o, "kind", "op", where);
    e.op = option_string(o, "op", e.kind == "stem" ? "relu6" : "", where);
    e.in = option_int_in(o, "cIn", 0, where, 1, 65536);
    e.out = option_int_in(o, "cOut", 0, where, 1, 65536);
    e.stride = option_int_in(o, "stride", 1, where, 1, 2);
    e.h = option_int_in(o, "h", 1, where, 1, 4096);
    e.w = option_int_in(o, "w", 1, where, 1, 4096);
    if (e.kind != "op" && e.kind != "stem" && e.kind != "conv1_1" && e.kind != "linear") {
      throw_invalid(env, where + ".kind must be op, stem, conv1_1 or linear");
    }
    if (e.kind == "op" && !is_dense_op(e.op)) throw_invalid(env, where + ": unknown DenseNAS op '" + e.op + "'");
    if (e.kind == "stem" && e.op != "relu6" && e.op != "relu") throw_invalid(env, where + ": a stem's op is 'relu6' or 'relu'");
    entries.push_back(e);
  }
  auto o = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "options");
  const int64_t batch = option_int_in(o, "batch", 1, "options", 1, 4096);
  const auto device_spec = option_string(o, "device", "cpu", "options");
  LatencySettings settings;
  settings.warmup = option_int_in(o, "warmup", settings.warmup, "options", 0, 100000);
  settings.min_runs = option_int_in(o, "minRuns", settings.min_runs, "options", 1, 1000000);
  settings.max_runs = option_int_in(o, "maxRuns", settings.max_runs, "options", 1, 1000000);
  if (settings.max_runs < settings.min_runs) throw_invalid(env, "options.maxRuns must be >= options.minRuns");
  settings.rel_se = option_number(o, "relSe", settings.rel_se, "options");
  DenseBnSettings bn;
  Napi::Value bn_value = o.Get("bn");
  if (!bn_value.IsUndefined() && !bn_value.IsNull()) {
    auto b = read_object(bn_value, "options.bn");
    bn.momentum = option_number(b, "momentum", 0.1, "options.bn");
    bn.eps = option_number(b, "eps", 1e-5, "options.bn");
  }
  const auto seed = option_int_in(o, "seed", 0, "options", 0, int64_t(1) << 53);
  auto cancel = read_cancel_token(info[3]);
  ProgressSink progress(env, info[2], "torchnas.measureDenseOps", cancel);
  const ProgressSink sink = progress;  // the work's copy (argument order below is unspecified)
  return PromiseJob::Start(
      env, "torchnas.measureDenseOps", GradMode::kInference,
      [entries, batch, device_spec, settings, bn, seed, cancel, sink]() -> PromiseJob::Finish {
        const auto device = parse_device(device_spec);
        auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
        auto results = std::make_shared<std::vector<LatencyStats>>();
        for (size_t i = 0; i < entries.size(); ++i) {
          const auto& e = entries[i];
          std::shared_ptr<torch::nn::Module> module;
          std::function<torch::Tensor(const torch::Tensor&)> forward;
          torch::Tensor x;
          if (e.kind == "linear") {
            auto linear = torch::nn::Linear(e.in, e.out);
            module = linear.ptr();
            forward = [linear](const torch::Tensor& t) mutable { return linear->forward(t); };
            x = torch::randn({batch, e.in}, generator);
          } else {
            std::shared_ptr<DenseOpImpl> op;
            if (e.kind == "op") op = make_dense_op(e.op, e.in, e.out, e.stride, /*affine=*/false, bn);
            else if (e.kind == "stem") op = std::make_shared<DenseStemImpl>(e.in, e.out, e.stride, e.op == "relu6", /*affine=*/e.op != "relu6", bn);
            else op = std::make_shared<Conv1x1BranchImpl>(e.in, e.out, /*affine=*/false, bn);
            module = op;
            forward = [op](const torch::Tensor& t) { return op->forward(t); };
            x = torch::randn({batch, e.in, e.h, e.w}, generator);
          }
          module->to(device);
          module->eval();
          x = x.to(device);
          results->push_back(measure_latency([&] { forward(x); }, device, settings, cancel.get()));
          sink.report({static_cast<double>(i + 1), static_cast<double>(entries.size()), results->back().median_ms});
        }
        return [results](Napi::Env env) -> Napi::Value {
          auto out = Napi::Array::New(env, results->size());
          for (size_t i = 0; i < results->size(); ++i) {
            const auto& r = (*results)[i];
            auto o = Napi::Object::New(env);
            o.Set("count", static_cast<double>(r.count));
            o.Set("mean", r.mean_ms);
            o.Set("median", r.median_ms);
            o.Set("std", r.std_ms);
            o.Set("min", r.min_ms);
            o.Set("medianSe", r.median_se_ms);
            out.Set(static_cast<uint32_t>(i), o);
          }
          return out;
        };
      },
      {}, {}, std::move(progress));
}

}  // namespace

void register_densenas(Napi::Env env, Napi::Object exports) {
  DenseSuperNetWrap::Register(env, exports);
  exports.Set("buildDenseSuperNet", Napi::Function::New(env, DenseSuperNetWrap::Build, "buildDenseSuperNet"));
  DenseDerivedNetWrap::Register(env, exports);
  exports.Set("measureDenseOps", Napi::Function::New(env, MeasureDenseOps, "measureDenseOps"));
}

}  // namespace torchnas::napi
