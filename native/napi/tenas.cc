// TE-NAS bindings: the NB201 cell network (single architecture or mixed-op supernet) with its NTK
// condition number, linear-region count, MACs and parameter counts; a seeded LibTorch generator.
#include <napi.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "../core/errors.h"
#include "../core/measure/linear_regions.h"
#include "../core/measure/ntk.h"
#include "../core/nets/nb201_network.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "tenas_common.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

torch::Tensor read_alpha(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_invalid(v.Env(), what + " must be a Float32Array of 30 numbers (6 edges × 5 ops)");
  }
  auto arr = v.As<Napi::Float32Array>();
  if (arr.ElementLength() != kNb201Edges * kNb201Ops) {
    throw make_error(v.Env(), "SHAPE_MISMATCH", what + " must hold 30 numbers (6 edges × 5 ops), got " + std::to_string(arr.ElementLength()));
  }
  auto t = torch::empty({kNb201Edges, kNb201Ops}, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), arr.Data(), sizeof(float) * kNb201Edges * kNb201Ops);
  return t;
}

class Nb201Wrap : public Napi::ObjectWrap<Nb201Wrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    exports.Set("Nb201Network",
                DefineClass(env, "Nb201Network",
                            {InstanceMethod("ntk", &Nb201Wrap::Ntk), InstanceMethod("linearRegions", &Nb201Wrap::LinearRegions),
                             InstanceMethod("forward", &Nb201Wrap::Forward), InstanceMethod("setAlpha", &Nb201Wrap::SetAlpha),
                             InstanceMethod("macs", &Nb201Wrap::Macs), InstanceMethod("parameter", &Nb201Wrap::Parameter),
                             InstanceMethod("parameterSummary", &Nb201Wrap::ParameterSummary),
                             InstanceMethod("copyParametersFrom", &Nb201Wrap::CopyParametersFrom),
                             InstanceMethod("setParameter", &Nb201Wrap::SetParameter),
                             InstanceMethod("signPatterns", &Nb201Wrap::SignPatterns)}));
  }

  explicit Nb201Wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Nb201Wrap>(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "Nb201Network options");
    Nb201Options opt;
    opt.channels = option_int(o, "channels", 16, "options");
    opt.cells_per_stage = option_int(o, "cellsPerStage", 5, "options");
    opt.num_classes = option_int(o, "numClasses", 10, "options");
    opt.in_channels = option_int(o, "inChannels", 3, "options");
    opt.depth = option_int(o, "depth", -1, "options");
    Napi::Value use_stem = o.Get("useStem");
    opt.use_stem = use_stem.IsUndefined() ? true : read_bool(use_stem, "options.useStem");
    Napi::Value ops = o.Get("ops");  // single architecture: 6 op indices
    if (!ops.IsUndefined()) {
      if (!ops.IsArray() || ops.As<Napi::Array>().Length() != kNb201Edges) throw_invalid(env, "options.ops must be an array of 6 op indices");
      auto arr = ops.As<Napi::Array>();
      for (uint32_t e = 0; e < kNb201Edges; ++e) {
        auto op = read_int(arr.Get(e), "options.ops[" + std::to_string(e) + "]");
        if (op < 0 || op >= kNb201Ops) throw_invalid(env, "options.ops[" + std::to_string(e) + "] must be in 0..4");
        opt.edge_ops.push_back({static_cast<int>(op)});
      }
    }
    auto seed = option_int(o, "seed", 0, "options");
    auto init = option_string(o, "init", "default", "options");
    if (init != "default" && init != "kaiming_normal_fanout" && init != "kaiming_normal_fanin") {
      throw_invalid(env, "options.init must be 'default', 'kaiming_normal_fanout' or 'kaiming_normal_fanin', got '" + init + "'");
    }
    auto device_spec = option_string(o, "device", "cpu", "options");
    auto dtype_name = option_string(o, "dtype", "float32", "options");
    if (dtype_name != "float32" && dtype_name != "float64") throw_invalid(env, "options.dtype must be 'float32' or 'float64'");
    dtype_ = dtype_name == "float64" ? torch::kFloat64 : torch::kFloat32;
    guarded(env, [&] {
      device_ = parse_device(device_spec);
      std::lock_guard<std::mutex> lock(tenas_construct_mutex());
      set_seed(static_cast<uint64_t>(seed));
      net_ = std::make_shared<Nb201Network>(opt);
      if (init != "default") kaiming_init(**net_, init == "kaiming_normal_fanout");
      (*net_)->to(device_, dtype_);
      (*net_)->train();  // TE-NAS scores in train mode (BN uses batch statistics)
      weights_ = weight_parameters(**net_);
    });
  }

 private:
  void acquire(Napi::Env env) {
    if (busy_->exchange(true)) throw make_error(env, "INVALID_ARGUMENT", "this Nb201Network is busy with another job; await it first");
  }
  std::function<void()> releaser() {
    auto busy = busy_;
    return [busy] { busy->store(false); };
  }
  static void apply_alpha(const std::shared_ptr<Nb201Network>& net, const torch::Tensor& alpha) {
    if (alpha.defined()) (*net)->set_alpha(alpha);
  }

  Napi::Value Ntk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    NtkSettings settings;
    torch::Tensor alpha;
    int64_t copies = 1;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      settings.mode = guarded(env, [&] { return parse_ntk_mode(option_string(o, "mode", "logit_sum", "options")); });
      settings.singular_eps = option_number(o, "singularEps", 0.0, "options");
      settings.fallback = option_number(o, "fallback", 1e5, "options");
      settings.workers = static_cast<int>(option_int(o, "workers", 1, "options"));
      copies = option_int(o, "copies", 1, "options");
      if (copies < 1) throw_invalid(env, "options.copies must be >= 1");
      if (settings.workers < 1) throw_invalid(env, "options.workers must be >= 1");
      if (!o.Get("alpha").IsUndefined()) alpha = read_alpha(o.Get("alpha"), "options.alpha");
    }
    acquire(env);
    auto net = net_;
    auto weights = weights_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.Nb201Network.ntk", GradMode::kEnabled,
        [net, weights, inputs, settings, alpha, device, dtype, copies]() -> PromiseJob::Finish {
          apply_alpha(net, alpha);
          auto x = inputs.to(device, dtype);
          auto r = copies > 1
                       ? ntk_condition_number_wide(
                             [&](const torch::Tensor& b, int64_t k, std::vector<torch::Tensor>& expanded) {
                               Trace trace;
                               trace.copies = k;
                               trace.expanded = &expanded;
                               return (*net)->forward(b, trace);
                             },
                             x, copies, settings)
                       : ntk_condition_number([&](const torch::Tensor& b) { return (*net)->forward(b); }, weights, x, settings);
          return [r](Napi::Env e) -> Napi::Value { return ntk_result_value(e, r); };
        },
        {info.This(), info[0]}, releaser());
  }

  Napi::Value LinearRegions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    int64_t batch = 1000;
    torch::Tensor alpha;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      batch = option_int(o, "batchSize", batch, "options");
      if (!o.Get("alpha").IsUndefined()) alpha = read_alpha(o.Get("alpha"), "options.alpha");
    }
    if (batch < 1) throw_invalid(env, "options.batchSize must be >= 1");
    acquire(env);
    auto net = net_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.Nb201Network.linearRegions", GradMode::kDisabled,
        [net, inputs, batch, alpha, device, dtype]() -> PromiseJob::Finish {
          apply_alpha(net, alpha);
          auto r = count_linear_regions([&](const torch::Tensor& b, const Trace& t) { (*net)->forward(b, t); },
                                        inputs.to(device, dtype), batch);
          return [r](Napi::Env e) -> Napi::Value { return region_count_value(e, r); };
        },
        {info.This(), info[0]}, releaser());
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    acquire(env);
    auto net = net_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.Nb201Network.forward", GradMode::kDisabled,
        [net, inputs, device, dtype]() -> PromiseJob::Finish {
          auto logits = (*net)->forward(inputs.to(device, dtype)).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info.This(), info[0]}, releaser());
  }

  Napi::Value SetAlpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto alpha = read_alpha(info[0], "alpha");
    if (busy_->load()) throw make_error(env, "INVALID_ARGUMENT", "cannot change alpha while a job runs on this network");
    guarded(env, [&] { (*net_)->set_alpha(alpha); });
    return env.Undefined();
  }

  // MACs at side × side and parameter counts for the ops the current α executes.
  Napi::Value Macs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto side = info[0].IsUndefined() ? 32 : read_int(info[0], "side");
    return guarded(env, [&]() -> Napi::Value {
      auto o = Napi::Object::New(env);
      o.Set("macs", (*net_)->macs(side));
      o.Set("parameters", static_cast<double>((*net_)->live_parameter_count()));
      int64_t all = 0;
      for (const auto& p : (*net_)->parameters()) all += p.numel();
      o.Set("allParameters", static_cast<double>(all));
      return o;
    });
  }

  Napi::Value Parameter(const Napi::CallbackInfo& info) {
    auto name = read_string(info[0], "name");
    auto params = (*net_)->named_parameters(true);
    if (!params.contains(name)) throw_invalid(info.Env(), "no parameter named '" + name + "'");
    return TensorWrap::Wrap(info.Env(), params[name].detach().cpu().clone());
  }

  // {count, sum, weightCount, names}: construction checks (§6(b) RNG table).
  Napi::Value ParameterSummary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double sum = 0;
    int64_t count = 0, weight_count = 0;
    auto names = Napi::Array::New(env);
    uint32_t k = 0;
    for (const auto& item : (*net_)->named_parameters(true)) {
      sum += item.value().detach().to(torch::kFloat64).sum().item<double>();
      count += item.value().numel();
      if (item.key().find("weight") != std::string::npos) weight_count += item.value().numel();
      names.Set(k++, item.key());
    }
    auto o = Napi::Object::New(env);
    o.Set("count", static_cast<double>(count));
    o.Set("sum", sum);
    o.Set("weightCount", static_cast<double>(weight_count));
    o.Set("names", names);
    return o;
  }

  // §1.3: candidates copy every parameter from the round's origin network.
  Napi::Value CopyParametersFrom(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw_invalid(env, "copyParametersFrom expects an Nb201Network");
    auto* other = Unwrap(info[0].As<Napi::Object>());
    guarded(env, [&] {
      torch::NoGradGuard no_grad;
      auto dst = (*net_)->named_parameters(true);
      auto src = (*other->net_)->named_parameters(true);
      if (dst.size() != src.size()) fail("SHAPE_MISMATCH", "networks differ in their parameter lists");
      for (const auto& item : src) {
        if (!dst.contains(item.key()) || !dst[item.key()].sizes().equals(item.value().sizes())) {
          fail("SHAPE_MISMATCH", "parameter '" + item.key() + "' differs between the networks");
        }
        dst[item.key()].copy_(item.value());
      }
    });
    return env.Undefined();
  }

  // Overwrites one parameter (e.g. to load weights or probe the network in tests).
  Napi::Value SetParameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto name = read_string(info[0], "name");
    auto value = TensorWrap::Read(info[1], "value");
    if (busy_->load()) throw make_error(env, "INVALID_ARGUMENT", "cannot change parameters while a job runs on this network");
    auto params = (*net_)->named_parameters(true);
    if (!params.contains(name)) throw_invalid(env, "no parameter named '" + name + "'");
    auto& p = params[name];
    if (value.numel() != p.numel()) {
      throw make_error(env, "SHAPE_MISMATCH", "parameter '" + name + "' has " + std::to_string(p.numel()) + " elements, got " + std::to_string(value.numel()));
    }
    guarded(env, [&] {
      torch::NoGradGuard no_grad;
      p.copy_(value.reshape(p.sizes()).to(p.options()));
    });
    return env.Undefined();
  }

  // The ReLU sign patterns [n, D] (uint8) whose distinct rows linearRegions counts, for inspection and tests.
  Napi::Value SignPatterns(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    if (busy_->load()) throw make_error(env, "INVALID_ARGUMENT", "this Nb201Network is busy with another job; await it first");
    return guarded(env, [&]() -> Napi::Value {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> relus;
      Trace trace{&relus};
      (*net_)->forward(inputs.to(device_, dtype_), trace);
      std::vector<torch::Tensor> flat;
      for (auto& r : relus) flat.push_back(r.reshape({r.size(0), -1}).gt(0));
      if (flat.empty()) fail("INVALID_ARGUMENT", "the network recorded no ReLU outputs");
      return TensorWrap::Wrap(env, torch::cat(flat, 1).to(torch::kUInt8).cpu());
    });
  }

  std::shared_ptr<Nb201Network> net_;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::vector<torch::Tensor> weights_;
  torch::Device device_{torch::kCPU};
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

// A seeded LibTorch CPU generator, so inputs drawn in TS match torch.Generator streams exactly.
class GeneratorWrap : public Napi::ObjectWrap<GeneratorWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    exports.Set("Generator", DefineClass(env, "Generator",
                                         {InstanceMethod("randn", &GeneratorWrap::Randn),
                                          InstanceMethod("randint", &GeneratorWrap::Randint),
                                          InstanceMethod("rand", &GeneratorWrap::Rand)}));
  }
  explicit GeneratorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorWrap>(info) {
    auto seed = read_int(info[0], "seed");
    if (seed < 0) throw_invalid(info.Env(), "seed must be >= 0");
    gen_ = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  }

 private:
  static std::vector<int64_t> shape_of(const Napi::Value& v) {
    if (!v.IsArray()) throw_invalid(v.Env(), "shape must be an array of integers");
    auto arr = v.As<Napi::Array>();
    std::vector<int64_t> shape;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      auto d = read_int(arr.Get(i), "shape[" + std::to_string(i) + "]");
      if (d < 0) throw_invalid(v.Env(), "shape entries must be >= 0");
      shape.push_back(d);
    }
    return shape;
  }
  Napi::Value Randn(const Napi::CallbackInfo& info) {
    auto shape = shape_of(info[0]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::randn(shape, gen_); }));
  }
  Napi::Value Rand(const Napi::CallbackInfo& info) {
    auto shape = shape_of(info[0]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::rand(shape, gen_); }));
  }
  Napi::Value Randint(const Napi::CallbackInfo& info) {
    auto low = read_int(info[0], "low");
    auto high = read_int(info[1], "high");
    if (high <= low) throw_invalid(info.Env(), "randint needs high > low");
    auto shape = shape_of(info[2]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::randint(low, high, shape, gen_); }));
  }
  at::Generator gen_;
};

}  // namespace

void register_tenas(Napi::Env env, Napi::Object exports) {
  Nb201Wrap::Register(env, exports);
  GeneratorWrap::Register(env, exports);
}

}  // namespace torchnas::napi
