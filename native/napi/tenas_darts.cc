// TE-NAS bindings for the DARTS cell network (specs/tenas.md §1.4): the mixed-op supernet or a genotype
// network, with its NTK condition number, linear-region count, MACs and parameter counts. Mirrors the
// NB201 binding (tenas.cc), with separate α for normal and reduction cells.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>

#include "../core/errors.h"
#include "../core/measure/ntk.h"
#include "../core/nets/darts_network.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "tenas_common.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

// An [E, 8] α from a Float32Array of E·8 numbers (E = 14 for 4 steps).
torch::Tensor read_darts_alpha(const Napi::Value& v, int64_t edges, const std::string& what) {
  const std::string expected = std::to_string(edges * kDartsOps) + " numbers (" + std::to_string(edges) + " edges × 8 ops)";
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_invalid(v.Env(), what + " must be a Float32Array of " + expected);
  }
  auto arr = v.As<Napi::Float32Array>();
  if (static_cast<int64_t>(arr.ElementLength()) != edges * kDartsOps) {
    throw make_error(v.Env(), "SHAPE_MISMATCH", what + " must hold " + expected + ", got " + std::to_string(arr.ElementLength()));
  }
  auto t = torch::empty({edges, kDartsOps}, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), arr.Data(), sizeof(float) * edges * kDartsOps);
  return t;
}

// Per-edge op choice: an array of E entries, each null (absent edge), an op index, or an array of op indices.
std::vector<std::vector<int>> read_edge_ops(const Napi::Value& v, int64_t edges, const std::string& what) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != static_cast<uint32_t>(edges)) {
    throw_invalid(v.Env(), what + " must be an array of " + std::to_string(edges) + " entries (null, an op index or an array of op indices)");
  }
  auto arr = v.As<Napi::Array>();
  std::vector<std::vector<int>> out(edges);
  auto read_op = [&](const Napi::Value& x, const std::string& where) {
    auto op = read_int(x, where);
    if (op < 0 || op >= kDartsOps) throw_invalid(v.Env(), where + " must be an op index in 0..7");
    return static_cast<int>(op);
  };
  for (uint32_t e = 0; e < arr.Length(); ++e) {
    const std::string where = what + "[" + std::to_string(e) + "]";
    Napi::Value entry = arr.Get(e);
    if (entry.IsNull() || entry.IsUndefined()) continue;
    if (entry.IsArray()) {
      auto ops = entry.As<Napi::Array>();
      for (uint32_t k = 0; k < ops.Length(); ++k) out[e].push_back(read_op(ops.Get(k), where + "[" + std::to_string(k) + "]"));
    } else {
      out[e].push_back(read_op(entry, where));
    }
  }
  return out;
}

Napi::Float32Array alpha_array(Napi::Env env, const torch::Tensor& alpha) {
  auto a = alpha.contiguous();
  auto arr = Napi::Float32Array::New(env, a.numel());
  std::memcpy(arr.Data(), a.data_ptr<float>(), sizeof(float) * a.numel());
  return arr;
}

class DartsWrap : public Napi::ObjectWrap<DartsWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    exports.Set("DartsNetwork",
                DefineClass(env, "DartsNetwork",
                            {InstanceMethod("ntk", &DartsWrap::Ntk), InstanceMethod("linearRegions", &DartsWrap::LinearRegions),
                             InstanceMethod("forward", &DartsWrap::Forward), InstanceMethod("setAlpha", &DartsWrap::SetAlpha),
                             InstanceMethod("alpha", &DartsWrap::Alpha), InstanceMethod("macs", &DartsWrap::Macs),
                             InstanceMethod("parameter", &DartsWrap::Parameter),
                             InstanceMethod("setParameter", &DartsWrap::SetParameter),
                             InstanceMethod("parameterSummary", &DartsWrap::ParameterSummary),
                             InstanceMethod("copyParametersFrom", &DartsWrap::CopyParametersFrom)}));
  }

  explicit DartsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DartsWrap>(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "DartsNetwork options");
    DartsOptions opt;
    opt.channels = option_int(o, "channels", 16, "options");
    opt.cells_per_stage = option_int(o, "cellsPerStage", 5, "options");
    opt.steps = option_int(o, "steps", 4, "options");
    opt.multiplier = option_int(o, "multiplier", 4, "options");
    opt.stem_multiplier = option_int(o, "stemMultiplier", 3, "options");
    opt.num_classes = option_int(o, "numClasses", 10, "options");
    opt.in_channels = option_int(o, "inChannels", 3, "options");
    opt.depth = option_int(o, "depth", -1, "options");
    Napi::Value use_stem = o.Get("useStem");
    opt.use_stem = use_stem.IsUndefined() ? true : read_bool(use_stem, "options.useStem");
    if (opt.steps < 1 || opt.steps > 8) throw_invalid(env, "options.steps must be in 1..8");
    const int64_t edges = darts_edge_count(opt.steps);
    // A genotype network: both cells' per-edge op choices (e.g. two kept edges per node, one op each).
    Napi::Value normal_ops = o.Get("normalOps"), reduce_ops = o.Get("reduceOps");
    if (normal_ops.IsUndefined() != reduce_ops.IsUndefined()) throw_invalid(env, "options.normalOps and options.reduceOps go together");
    if (!normal_ops.IsUndefined()) {
      opt.normal_edge_ops = read_edge_ops(normal_ops, edges, "options.normalOps");
      opt.reduce_edge_ops = read_edge_ops(reduce_ops, edges, "options.reduceOps");
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
      net_ = std::make_shared<DartsNetwork>(opt);
      if (init != "default") kaiming_init(**net_, init == "kaiming_normal_fanout");
      (*net_)->to(device_, dtype_);
      (*net_)->train();  // TE-NAS scores in train mode (BN uses batch statistics)
      weights_ = weight_parameters(**net_);
    });
  }

 private:
  int64_t edges() const { return (*net_)->edge_count(); }
  void acquire(Napi::Env env) {
    if (busy_->exchange(true)) throw make_error(env, "INVALID_ARGUMENT", "this DartsNetwork is busy with another job; await it first");
  }
  std::function<void()> releaser() {
    auto busy = busy_;
    return [busy] { busy->store(false); };
  }
  // Reads options.alphaNormal / options.alphaReduce (either may be absent: that α stays as it is).
  void read_alphas(const Napi::Object& o, torch::Tensor& normal, torch::Tensor& reduce) const {
    if (!o.Get("alphaNormal").IsUndefined()) normal = read_darts_alpha(o.Get("alphaNormal"), edges(), "options.alphaNormal");
    if (!o.Get("alphaReduce").IsUndefined()) reduce = read_darts_alpha(o.Get("alphaReduce"), edges(), "options.alphaReduce");
  }

  Napi::Value Ntk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    NtkSettings settings;
    torch::Tensor normal, reduce;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      settings.mode = guarded(env, [&] { return parse_ntk_mode(option_string(o, "mode", "logit_sum", "options")); });
      settings.singular_eps = option_number(o, "singularEps", 0.0, "options");
      settings.workers = static_cast<int>(option_int(o, "workers", 1, "options"));
      if (settings.workers < 1) throw_invalid(env, "options.workers must be >= 1");
      settings.fallback = option_number(o, "fallback", 1e5, "options");
      read_alphas(o, normal, reduce);
    }
    acquire(env);
    auto net = net_;
    auto weights = weights_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.DartsNetwork.ntk", GradMode::kEnabled,
        [net, weights, inputs, settings, normal, reduce, device, dtype]() -> PromiseJob::Finish {
          (*net)->set_alpha(normal, reduce);
          auto x = inputs.to(device, dtype);
          auto r = ntk_condition_number([&](const torch::Tensor& b) { return (*net)->forward(b); }, weights, x, settings);
          return [r](Napi::Env e) -> Napi::Value { return ntk_result_value(e, r); };
        },
        {info.This(), info[0]}, releaser());
  }

  Napi::Value LinearRegions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    int64_t batch = 1000;
    torch::Tensor normal, reduce;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      batch = option_int(o, "batchSize", batch, "options");
      read_alphas(o, normal, reduce);
    }
    if (batch < 1) throw_invalid(env, "options.batchSize must be >= 1");
    acquire(env);
    auto net = net_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.DartsNetwork.linearRegions", GradMode::kDisabled,
        [net, inputs, batch, normal, reduce, device, dtype]() -> PromiseJob::Finish {
          (*net)->set_alpha(normal, reduce);
          auto x = inputs.to(device, dtype);
          auto r = count_linear_regions([&](const torch::Tensor& b, const Trace& t) { (*net)->forward(b, t); }, x, batch);
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
        env, "torchnas.DartsNetwork.forward", GradMode::kDisabled,
        [net, inputs, device, dtype]() -> PromiseJob::Finish {
          auto logits = (*net)->forward(inputs.to(device, dtype)).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info.This(), info[0]}, releaser());
  }

  // setAlpha(normal?, reduce?): an undefined argument keeps that cell type's α.
  Napi::Value SetAlpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    torch::Tensor normal, reduce;
    if (!info[0].IsUndefined()) normal = read_darts_alpha(info[0], edges(), "alphaNormal");
    if (!info[1].IsUndefined()) reduce = read_darts_alpha(info[1], edges(), "alphaReduce");
    if (busy_->load()) throw make_error(env, "INVALID_ARGUMENT", "cannot change alpha while a job runs on this network");
    guarded(env, [&] { (*net_)->set_alpha(normal, reduce); });
    return env.Undefined();
  }

  Napi::Value Alpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("normal", alpha_array(env, (*net_)->alpha_normal()));
    o.Set("reduce", alpha_array(env, (*net_)->alpha_reduce()));
    return o;
  }

  // MACs at side × side and parameter counts for the ops the current α executes.
  Napi::Value Macs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto side = info[0].IsUndefined() ? 32 : read_int(info[0], "side");
    if (side < 1) throw_invalid(env, "side must be >= 1");
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

  // Overwrites one parameter (to load weights or probe the network in tests).
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

  // {count, sum, weightCount, names}: construction checks (α are not parameters here).
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
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(info.This().As<Napi::Object>().Get("constructor").As<Napi::Function>())) {
      throw_invalid(env, "copyParametersFrom expects a DartsNetwork");
    }
    auto* other = Unwrap(info[0].As<Napi::Object>());
    if (busy_->load()) throw make_error(env, "INVALID_ARGUMENT", "cannot change parameters while a job runs on this network");
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

  std::shared_ptr<DartsNetwork> net_;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::vector<torch::Tensor> weights_;
  torch::Device device_{torch::kCPU};
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

void register_tenas_darts(Napi::Env env, Napi::Object exports) { DartsWrap::Register(env, exports); }

}  // namespace torchnas::napi
