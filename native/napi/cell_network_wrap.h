// The JS class shared by the TE-NAS cell networks (Nb201Network, DartsNetwork): seeded construction with
// init/device/dtype options, one job at a time, and the methods that do not depend on the space (forward,
// MACs, parameter access and copying). Each space adds its α handling, ntk and linearRegions on top.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/measure/ntk.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"
#include "tenas_common.h"
#include "tensor.h"

namespace torchnas::napi {

// Derived: the wrap class (CRTP); Net: the module holder (e.g. Nb201Network). Derived defines kClassName.
template <typename Derived, typename Net>
class CellNetworkWrap : public Napi::ObjectWrap<Derived> {
 public:
  using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&);
  using Descriptor = Napi::ClassPropertyDescriptor<Derived>;

  explicit CellNetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

 protected:
  // The space-independent methods, to append to a DefineClass list.
  static std::vector<Descriptor> common_methods() {
    auto m = [](const char* name, Method method) { return Napi::ObjectWrap<Derived>::InstanceMethod(name, method); };
    return {m("forward", &CellNetworkWrap::Forward),
            m("macs", &CellNetworkWrap::Macs),
            m("parameter", &CellNetworkWrap::Parameter),
            m("setParameter", &CellNetworkWrap::SetParameter),
            m("parameterSummary", &CellNetworkWrap::ParameterSummary),
            m("copyParametersFrom", &CellNetworkWrap::CopyParametersFrom)};
  }

  // Reads seed/init/device/dtype from `o` and builds the network under the construction lock.
  void construct(Napi::Env env, const Napi::Object& o, const std::function<Net()>& make) {
    auto seed = option_int(o, "seed", 0, "options");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
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
      net_ = std::make_shared<Net>(make());
      if (init != "default") kaiming_init(**net_, init == "kaiming_normal_fanout");
      (*net_)->to(device_, dtype_);
      (*net_)->train();  // TE-NAS scores in train mode (BN uses batch statistics)
      weights_ = weight_parameters(**net_);
    });
  }

  // One job at a time per network: a second concurrent job is refused, not raced.
  void acquire(Napi::Env env) {
    if (busy_->exchange(true)) {
      throw make_error(env, "INVALID_ARGUMENT", std::string("this ") + Derived::kClassName + " is busy with another job; await it first");
    }
  }
  // The network's state (α, parameters) is read or written on the JS thread only while no job runs.
  void require_idle(Napi::Env env, const char* action) const {
    if (busy_->load()) {
      throw make_error(env, "INVALID_ARGUMENT", std::string("cannot ") + action + " while a job runs on this " + Derived::kClassName + "; await it first");
    }
  }
  std::function<void()> releaser() {
    auto busy = busy_;
    return [busy] { busy->store(false); };
  }

  // NTK options shared by every space: mode, singularEps, fallback, workers.
  static NtkSettings read_ntk_settings(Napi::Env env, const Napi::Object& o) {
    NtkSettings settings;
    settings.mode = guarded(env, [&] { return parse_ntk_mode(option_string(o, "mode", "logit_sum", "options")); });
    settings.singular_eps = option_number(o, "singularEps", 0.0, "options");
    settings.fallback = option_number(o, "fallback", 1e5, "options");
    settings.workers = static_cast<int>(option_int(o, "workers", 1, "options"));
    if (settings.workers < 1) throw_invalid(env, "options.workers must be >= 1");
    return settings;
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto inputs = TensorWrap::Read(info[0], "inputs");
    acquire(env);
    auto net = net_;
    auto device = device_;
    auto dtype = dtype_;
    return PromiseJob::Start(
        env, "torchnas.cellNetwork.forward", GradMode::kDisabled,
        [net, inputs, device, dtype]() -> PromiseJob::Finish {
          auto logits = (*net)->forward(inputs.to(device, dtype)).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info.This(), info[0]}, releaser());
  }

  // MACs at side × side and parameter counts for the ops the current α executes.
  Napi::Value Macs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "count MACs");
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
    require_idle(info.Env(), "read parameters");
    auto params = (*net_)->named_parameters(true);
    if (!params.contains(name)) throw_invalid(info.Env(), "no parameter named '" + name + "'");
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return params[name].detach().cpu().clone(); }));
  }

  // Overwrites one parameter (to load weights or probe the network in tests).
  Napi::Value SetParameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto name = read_string(info[0], "name");
    auto value = TensorWrap::Read(info[1], "value");
    require_idle(env, "change parameters");
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

  // {count, sum, weightCount, names}: construction checks (§6(b) RNG table); α are not parameters here.
  Napi::Value ParameterSummary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "read parameters");
    double sum = 0;
    int64_t count = 0, weight_count = 0;
    auto names = Napi::Array::New(env);
    uint32_t k = 0;
    for (const auto& item : (*net_)->named_parameters(true)) {
      sum += guarded(env, [&] { return item.value().detach().to(torch::kFloat64).sum().template item<double>(); });
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
      throw_invalid(env, std::string("copyParametersFrom expects a ") + Derived::kClassName);
    }
    auto* other = Napi::ObjectWrap<Derived>::Unwrap(info[0].As<Napi::Object>());
    require_idle(env, "change parameters");
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

  std::shared_ptr<Net> net_;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::vector<torch::Tensor> weights_;
  torch::Device device_{torch::kCPU};
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace torchnas::napi
