// The one JS binding base of every bound network, predictor or ranker (DESIGN.md "one module binding"):
// one job at a time (a second is a BUSY error, not a race), dispose() and a clean DISPOSED error after
// it, parameter and buffer bytes reported to V8, parameter access and copying with busy checks on both
// objects, save/load of the module state, and jobs started on their own thread with the object held.
//
// Derived: the wrap class (CRTP), which defines `static constexpr const char* kClassName`.
// State: what the jobs share with the binding, held by shared_ptr; it provides
//   torch::nn::Module& module();  torch::Device device() const;
#pragma once
#include <napi.h>
#include <torch/nn/module.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.h"
#include "../core/runtime.h"
#include "../core/serialize.h"
#include "async_job.h"
#include "distributed.h"
#include "common.h"
#include "tensor.h"

namespace torchnas::napi {

// Bytes held by a module's parameters and buffers (what we report to V8 as external memory).
inline int64_t module_bytes(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(true)) n += p.numel() * static_cast<int64_t>(p.element_size());
  for (const auto& b : module.buffers(true)) n += b.numel() * static_cast<int64_t>(b.element_size());
  return n;
}

// A {name: Tensor} object (checkpoint extras); undefined → none. Names and count are bounded.
inline NamedTensors read_named_tensors(const Napi::Value& v, const std::string& what) {
  NamedTensors out;
  if (v.IsUndefined() || v.IsNull()) return out;
  auto o = read_object(v, what);
  auto names = o.GetPropertyNames();
  if (names.Length() > 4096) throw_invalid(v.Env(), what + " holds more than 4096 tensors");
  for (uint32_t i = 0; i < names.Length(); ++i) {
    Napi::Value key = names.Get(i);
    if (!key.IsString()) throw_invalid(v.Env(), what + " must map names to tensors");
    const std::string name = key.As<Napi::String>().Utf8Value();
    if (name.empty() || name.size() > 256) throw_invalid(v.Env(), what + ": tensor names must have 1..256 characters");
    out.emplace_back(name, TensorWrap::Read(o.Get(name), what + "." + name));
  }
  return out;
}

inline Napi::Object named_tensors_value(Napi::Env env, const NamedTensors& tensors) {
  auto o = Napi::Object::New(env);
  for (const auto& [name, value] : tensors) o.Set(name, TensorWrap::Wrap(env, value));
  return o;
}

// States whose data-parallel start needs more than the module's parameters and buffers expose
// std::vector<torch::Tensor> broadcast_extras() (tensors updated in place by broadcastState).
template <typename S, typename = void>
struct HasBroadcastExtras : std::false_type {};
template <typename S>
struct HasBroadcastExtras<S, std::void_t<decltype(std::declval<S&>().broadcast_extras())>> : std::true_type {};

// States that train data-parallel expose void set_distributed(std::shared_ptr<DistributedContext>) (their
// training loop's group): the wrapper then gets setDistributed(dist | null).
template <typename S, typename = void>
struct HasSetDistributed : std::false_type {};
template <typename S>
struct HasSetDistributed<S, std::void_t<decltype(std::declval<S&>().set_distributed(std::shared_ptr<DistributedContext>()))>> : std::true_type {};

template <typename Derived, typename State>
class ModuleWrap : public Napi::ObjectWrap<Derived> {
 public:
  using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&);
  using Descriptor = Napi::ClassPropertyDescriptor<Derived>;

  explicit ModuleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  void Finalize(Napi::Env env) override { report_memory(env, 0); }

 protected:
  struct Features {
    bool save_load = true;    // save(path) / load(path) of the module state
    bool parameters = true;   // parameter, setParameter, parameterNames, parameterSummary, copyParametersFrom
  };

  // The methods every bound module has, to append to a DefineClass list.
  static std::vector<Descriptor> module_methods(Features features) {
    using W = Napi::ObjectWrap<Derived>;
    std::vector<Descriptor> m = {
        W::InstanceMethod("dispose", &ModuleWrap::Dispose),
    };
    if (features.parameters) {
      m.push_back(W::InstanceMethod("parameter", &ModuleWrap::Parameter));
      m.push_back(W::InstanceMethod("setParameter", &ModuleWrap::SetParameter));
      m.push_back(W::InstanceMethod("parameterNames", &ModuleWrap::ParameterNames));
      m.push_back(W::InstanceMethod("parameterSummary", &ModuleWrap::ParameterSummary));
      m.push_back(W::InstanceMethod("copyParametersFrom", &ModuleWrap::CopyParametersFrom));
      m.push_back(W::InstanceMethod("broadcastState", &ModuleWrap::BroadcastState));
    }
    if constexpr (HasSetDistributed<State>::value) m.push_back(W::InstanceMethod("setDistributed", &ModuleWrap::SetDistributed));
    if (features.save_load) {
      m.push_back(W::InstanceMethod("save", &ModuleWrap::Save));
      m.push_back(W::InstanceMethod("load", &ModuleWrap::Load));
    }
    return m;
  }

  // Defines the class: `methods` (module_methods plus the derived ones) and checked getters, the
  // module's own (disposed, busy, parameterCount, bufferCount, parameterBytes, device) and `getters`.
  static Napi::Function define(Napi::Env env, const std::vector<Descriptor>& methods,
                               std::vector<Napi::PropertyDescriptor> getters = {}) {
    getters.push_back(getter<Derived, &ModuleWrap::Disposed>("disposed"));
    getters.push_back(getter<Derived, &ModuleWrap::Busy>("busy"));
    getters.push_back(getter<Derived, &ModuleWrap::ParameterCount>("parameterCount"));
    getters.push_back(getter<Derived, &ModuleWrap::BufferCount>("bufferCount"));
    getters.push_back(getter<Derived, &ModuleWrap::ParameterBytes>("parameterBytes"));
    getters.push_back(getter<Derived, &ModuleWrap::DeviceName>("device"));
    return define_checked_class<Derived>(env, methods, getters);
  }

  // Called by the derived constructor once the state is built: takes it and reports its memory.
  void bind(Napi::Env env, std::shared_ptr<State> state) {
    state_ = std::move(state);
    report_memory(env, guarded(env, [&] { return module_bytes(state_->module()); }));
  }

  // The state, for reading on the JS thread: refused after dispose() and while a job runs.
  State& idle_state(Napi::Env env, const char* action) const {
    require_idle(env, action);
    return *state_;
  }
  void require_alive(Napi::Env env) const {
    if (!state_) throw make_error(env, "DISPOSED", std::string("this ") + Derived::kClassName + " was disposed and can no longer be used");
  }
  void require_idle(Napi::Env env, const char* action) const {
    require_alive(env);
    if (busy_->load()) {
      throw make_error(env, "BUSY", std::string("cannot ") + action + " while a job runs on this " + Derived::kClassName + "; await it first");
    }
  }
  // Marks the object busy for a synchronous change on the JS thread or a job; release with releaser().
  void acquire(Napi::Env env) {
    require_alive(env);
    if (busy_->exchange(true)) {
      throw make_error(env, "BUSY", std::string("this ") + Derived::kClassName + " is busy with another job; await it first");
    }
  }
  std::function<void()> releaser() const {
    auto busy = busy_;
    return [busy] { busy->store(false); };
  }
  // Runs f on the JS thread while holding the busy flag (for quick synchronous changes).
  template <typename F>
  auto while_held(Napi::Env env, F&& f) -> decltype(f()) {
    acquire(env);
    struct Release {
      std::shared_ptr<std::atomic<bool>> busy;
      ~Release() { busy->store(false); }
    } release{busy_};
    return guarded(env, std::forward<F>(f));
  }

  // Starts a job on this module: acquires it (BUSY if a job runs), holds `this` and `keep` until the
  // promise settles, then releases it. The work captures `state_` (a shared_ptr), never `this`.
  Napi::Promise start_job(const Napi::CallbackInfo& info, const char* name, GradMode mode, PromiseJob::Work work,
                          std::vector<Napi::Value> keep = {}, ProgressSink progress = {}, int threads = 0) {
    acquire(info.Env());
    keep.push_back(info.This());
    return PromiseJob::Start(info.Env(), name, mode, std::move(work), keep, releaser(), std::move(progress), threads);
  }

  std::shared_ptr<State> state_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);

 private:
  void report_memory(Napi::Env env, int64_t bytes) {
    const int64_t delta = bytes - reported_bytes_;
    if (delta != 0) Napi::MemoryManagement::AdjustExternalMemory(env, delta);
    reported_bytes_ = bytes;
  }

  // dispose(): frees the module now (GC would later); idempotent; refused while a job runs.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!state_) return env.Undefined();
    if (busy_->load()) {
      throw make_error(env, "BUSY", std::string("cannot dispose this ") + Derived::kClassName + " while a job runs on it; await it first");
    }
    state_.reset();
    report_memory(env, 0);
    return env.Undefined();
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !state_); }
  Napi::Value Busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_->load()); }

  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read parameters");
    int64_t n = 0;
    for (const auto& p : s.module().parameters(true)) n += p.numel();
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  }
  Napi::Value BufferCount(const Napi::CallbackInfo& info) {
    auto& s = idle_state(info.Env(), "read buffers");
    int64_t n = 0;
    for (const auto& b : s.module().buffers(true)) n += b.numel();
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  }
  Napi::Value ParameterBytes(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(reported_bytes_));
  }
  Napi::Value DeviceName(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    return Napi::String::New(info.Env(), device_string(state_->device()));
  }

  Napi::Value Parameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto name = read_string(info[0], "name");
    auto& s = idle_state(env, "read parameters");
    return guarded(env, [&]() -> Napi::Value {
      auto params = s.module().named_parameters(true);
      if (!params.contains(name)) throw make_error(env, "INVALID_ARGUMENT", "no parameter named '" + name + "'");
      return TensorWrap::Wrap(env, params[name].detach().cpu().clone());
    });
  }

  // Overwrites one parameter (to load weights or probe the network in tests).
  Napi::Value SetParameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto name = read_string(info[0], "name");
    auto value = TensorWrap::Read(info[1], "value");
    require_idle(env, "change parameters");
    while_held(env, [&] {
      auto params = state_->module().named_parameters(true);
      if (!params.contains(name)) fail("INVALID_ARGUMENT", "no parameter named '" + name + "'");
      auto& p = params[name];
      if (value.numel() != p.numel()) {
        fail("SHAPE_MISMATCH", "parameter '" + name + "' has " + std::to_string(p.numel()) + " elements, got " + std::to_string(value.numel()));
      }
      torch::NoGradGuard no_grad;
      p.copy_(value.reshape(p.sizes()).to(p.options()));
    });
    return env.Undefined();
  }

  Napi::Value ParameterNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& s = idle_state(env, "read parameters");
    auto names = Napi::Array::New(env);
    uint32_t k = 0;
    for (const auto& item : s.module().named_parameters(true)) names.Set(k++, item.key());
    return names;
  }

  // {count, sum, weightCount, names}: construction checks (e.g. TE-NAS §6(b) RNG table).
  Napi::Value ParameterSummary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& s = idle_state(env, "read parameters");
    double sum = 0;
    int64_t count = 0, weight_count = 0;
    auto names = Napi::Array::New(env);
    uint32_t k = 0;
    for (const auto& item : s.module().named_parameters(true)) {
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

  // Copies every parameter of another module of the same class and layout (busy checks on both).
  Napi::Value CopyParametersFrom(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Derived* other = unwrap_instance<Derived>(info[0], std::string("copyParametersFrom expects a ") + Derived::kClassName);
    other->require_idle(env, "copy its parameters");
    if (other == this) return env.Undefined();
    require_idle(env, "change parameters");
    auto source = other->state_;
    while_held(env, [&] {
      torch::NoGradGuard no_grad;
      auto dst = state_->module().named_parameters(true);
      auto src = source->module().named_parameters(true);
      if (dst.size() != src.size()) fail("SHAPE_MISMATCH", "the modules differ in their parameter lists");
      for (const auto& item : src) {
        if (!dst.contains(item.key()) || !dst[item.key()].sizes().equals(item.value().sizes())) {
          fail("SHAPE_MISMATCH", "parameter '" + item.key() + "' differs between the modules");
        }
      }
      for (const auto& item : src) dst[item.key()].copy_(item.value());
    });
    return env.Undefined();
  }

  // broadcastState(dist, root = 0): every rank's parameters and buffers become root's (the start of a
  // data-parallel run); a collective: every rank calls it.
  Napi::Value BroadcastState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto handle = DistributedWrap::Read(info[0], "broadcastState expects a Distributed (Distributed.connect)");
    const int64_t root = info[1].IsUndefined() ? 0 : read_int_in(info[1], "root", 0, handle.context->world_size() - 1);
    auto state = state_;
    return start_job(info, (std::string("torchnas.") + Derived::kClassName + ".broadcastState").c_str(), GradMode::kDisabled,
                     [state, handle, root]() -> PromiseJob::Finish {
                       std::lock_guard<std::mutex> guard(*handle.lock);
                       std::vector<torch::Tensor> tensors;
                       for (const auto& p : state->module().parameters(true)) tensors.push_back(p);
                       for (const auto& b : state->module().buffers(true)) tensors.push_back(b);
                       // state the module does not own (DenseNAS's α/β) travels too, where the state names it
                       if constexpr (HasBroadcastExtras<State>::value) {
                         for (const auto& t : state->broadcast_extras()) tensors.push_back(t);
                       }
                       handle.context->broadcast(tensors, root);
                       return {};
                     },
                     {info[0]});
  }

  // setDistributed(dist | null): data-parallel training from the next step on (gradients averaged over the ranks of
  // `dist`, which every rank must pass; what each family reduces is its state's set_distributed); null goes back to
  // a single process. Refused (BUSY) while a job runs.
  Napi::Value SetDistributed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::shared_ptr<DistributedContext> context;
    if (!info[0].IsNull() && !info[0].IsUndefined()) context = DistributedWrap::Read(info[0], "setDistributed expects a Distributed or null").context;
    while_held(env, [&] { state_->set_distributed(context); });
    return env.Undefined();
  }

  // save(path): parameters and buffers, written atomically; load(path): the way back (FILE_* errors).
  Napi::Value Save(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto state = state_;
    return start_job(info, (std::string("torchnas.") + Derived::kClassName + ".save").c_str(), GradMode::kDisabled,
                     [state, path]() -> PromiseJob::Finish {
                       save_module(path, state->module());
                       return {};
                     });
  }
  Napi::Value Load(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto state = state_;
    return start_job(info, (std::string("torchnas.") + Derived::kClassName + ".load").c_str(), GradMode::kDisabled,
                     [state, path]() -> PromiseJob::Finish {
                       load_module(path, state->module(), state->device());
                       return {};
                     });
  }

  int64_t reported_bytes_ = 0;
};

}  // namespace torchnas::napi
