// The JS class shared by the TE-NAS cell networks (Nb201Network, DartsNetwork), on the one module binding
// (module_wrap.h): seeded construction with init/device/dtype options, forward, MACs, and the NTK and
// linear-region jobs. Each space adds only its α handling on top.
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
#include "module_wrap.h"
#include "common.h"
#include "../core/measure/linear_regions.h"
#include "../core/nets/init.h"
#include "tenas_results.h"
#include "tensor.h"

namespace torchnas::napi {

// What a cell network's jobs share with its binding.
template <typename Net>
struct CellNetworkState {
  Net net{nullptr};
  torch::Device device_{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat32;
  std::vector<torch::Tensor> weights;  // the NTK's parameters (weights only, as the original)
  torch::nn::Module& module() { return *net; }
  torch::Device device() const { return device_; }
};

// Derived: the wrap class (CRTP); Net: the module holder (e.g. Nb201Network). Derived defines kClassName.
template <typename Derived, typename Net>
class CellNetworkWrap : public ModuleWrap<Derived, CellNetworkState<Net>> {
  using Base = ModuleWrap<Derived, CellNetworkState<Net>>;

 public:
  using State = CellNetworkState<Net>;
  using Method = typename Base::Method;
  using Descriptor = typename Base::Descriptor;

  explicit CellNetworkWrap(const Napi::CallbackInfo& info) : Base(info) {}

 protected:
  // The space-independent methods, to append to a DefineClass list.
  static std::vector<Descriptor> common_methods() {
    auto methods = Base::module_methods({/*save_load=*/true, /*parameters=*/true});
    auto m = [](const char* name, Method method) { return Napi::ObjectWrap<Derived>::InstanceMethod(name, method); };
    methods.push_back(m("forward", &CellNetworkWrap::Forward));
    methods.push_back(m("macs", &CellNetworkWrap::Macs));
    return methods;
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
    auto state = guarded(env, [&] {
      auto s = std::make_shared<State>();
      s->dtype = dtype_name == "float64" ? torch::kFloat64 : torch::kFloat32;
      s->device_ = parse_device(device_spec);
      std::lock_guard<std::mutex> lock(seeded_construction_mutex());
      set_seed(static_cast<uint64_t>(seed));
      s->net = make();
      if (init != "default") kaiming_init(*s->net, init == "kaiming_normal_fanout");
      s->net->to(s->device_, s->dtype);
      s->net->train();  // TE-NAS scores in train mode (BN uses batch statistics)
      s->weights = weight_parameters(*s->net);
      return s;
    });
    this->bind(env, state);
  }

  // NTK options shared by every space: mode, singularEps, fallback, workers.
  static NtkSettings read_ntk_settings(Napi::Env env, const Napi::Object& o) {
    NtkSettings settings;
    settings.mode = guarded(env, [&] { return parse_ntk_mode(option_string(o, "mode", "logit_sum", "options")); });
    settings.singular_eps = option_number(o, "singularEps", 0.0, "options");
    settings.fallback = option_number(o, "fallback", 1e5, "options");
    const int64_t workers = option_int(o, "workers", 1, "options");
    if (workers < 1 || workers > 256) throw_invalid(env, "options.workers must be in 1..256");
    settings.workers = static_cast<int>(workers);
    settings.cancelled = read_cancel_token(o.Get("cancel"));
    settings.path = guarded(env, [&] { return parse_ntk_path(option_string(o, "path", "auto", "options")); });
    settings.vjp_chunk = option_int(o, "vjpChunk", 0, "options");
    if (settings.vjp_chunk < 0) throw_invalid(env, "options.vjpChunk must be >= 0 (0: sized by options.batchedMemoryMb)");
    // Absent: sized for this machine's cache (default_batched_memory_mb); given: at least 1 MiB.
    settings.batched_memory_mb = option_int(o, "batchedMemoryMb", 0, "options");
    if (o.Has("batchedMemoryMb") && !o.Get("batchedMemoryMb").IsUndefined() && settings.batched_memory_mb < 1) {
      throw_invalid(env, "options.batchedMemoryMb must be >= 1");
    }
    return settings;
  }

  static bool read_return_kernel(const Napi::Object& o) {
    auto v = o.Get("returnKernel");
    return v.IsUndefined() ? false : read_bool(v, "options.returnKernel");
  }

  // The NTK and linear-region jobs of every space: `prepare` applies the job's α on the job's thread.
  // copies > 1: the wide forward; otherwise settings.path picks the batched tape or the autograd loop.
  // `with_kernel`: the result also carries Θ.
  Napi::Value start_ntk(const Napi::CallbackInfo& info, const char* name, const NtkSettings& settings,
                        std::function<void(State&)> prepare, int64_t copies = 1, bool with_kernel = false) {
    auto inputs = TensorWrap::Read(info[0], "inputs");
    auto state = this->state_;
    if (copies > 1 && settings.path == NtkPath::kBatched) throw_invalid(info.Env(), "options.copies > 1 (the wide forward) and path 'batched' exclude each other");
    return this->start_job(
        info, name, GradMode::kEnabled,
        [state, inputs, settings, prepare, copies, with_kernel]() -> PromiseJob::Finish {
          if (prepare) prepare(*state);
          auto& net = state->net;
          auto x = inputs.to(state->device_, state->dtype);
          auto r = copies > 1
                       ? ntk_condition_number_wide(
                             [&](const torch::Tensor& b, int64_t k, std::vector<torch::Tensor>& expanded) {
                               Trace trace;
                               trace.copies = k;
                               trace.expanded = &expanded;
                               return net->forward(b, trace);
                             },
                             x, copies, settings)
                       : ntk_condition_number_auto(
                             [&](const torch::Tensor& b) { return net->forward(b); },
                             [&](const torch::Tensor& b, VjpTape& tape) {
                               Trace trace;
                               trace.tape = &tape;
                               return net->forward(b, trace);
                             },
                             state->weights, x, settings);
          return [r, with_kernel](Napi::Env e) -> Napi::Value { return ntk_result_value(e, r, with_kernel); };
        },
        {info[0]});
  }

  Napi::Value start_linear_regions(const Napi::CallbackInfo& info, const char* name, int64_t batch,
                                   std::function<void(State&)> prepare, CancelFlag cancel) {
    auto inputs = TensorWrap::Read(info[0], "inputs");
    if (batch < 1) throw_invalid(info.Env(), "options.batchSize must be >= 1");
    auto state = this->state_;
    return this->start_job(
        info, name, GradMode::kDisabled,
        [state, inputs, batch, prepare, cancel]() -> PromiseJob::Finish {
          if (prepare) prepare(*state);
          auto r = count_linear_regions([&](const torch::Tensor& b, const Trace& t) { state->net->forward(b, t); },
                                        inputs.to(state->device_, state->dtype), batch, cancel.get());
          return [r](Napi::Env e) -> Napi::Value { return region_count_value(e, r); };
        },
        {info[0]});
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto inputs = TensorWrap::Read(info[0], "inputs");
    auto state = this->state_;
    return this->start_job(
        info, "torchnas.cellNetwork.forward", GradMode::kDisabled,
        [state, inputs]() -> PromiseJob::Finish {
          auto logits = state->net->forward(inputs.to(state->device_, state->dtype)).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info[0]});
  }

  // MACs at side × side and parameter counts for the ops the current α executes (closed form, cheap).
  Napi::Value Macs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto side = info[0].IsUndefined() ? 32 : read_int(info[0], "side");
    if (side < 1 || side > 65536) throw_invalid(env, "side must be in 1..65536");
    auto& s = this->idle_state(env, "count MACs");
    return guarded(env, [&]() -> Napi::Value {
      auto o = Napi::Object::New(env);
      o.Set("macs", s.net->macs(side));
      o.Set("parameters", static_cast<double>(s.net->live_parameter_count()));
      int64_t all = 0;
      for (const auto& p : s.net->parameters()) all += p.numel();
      o.Set("allParameters", static_cast<double>(all));
      return o;
    });
  }
};

}  // namespace torchnas::napi
