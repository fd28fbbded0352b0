#include "distributed.h"

#include "async_job.h"
#include "common.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {
Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  auto arr = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, items[i]));
  return arr;
}

// The handle a connect job made, handed to the constructor through an External.
struct PendingHandle {
  DistributedHandle handle;
};
}  // namespace

void DistributedWrap::Register(Napi::Env env, Napi::Object exports) {
  auto ctor = define_checked_class<DistributedWrap>(
      env,
      {
          StaticMethod("connect", &DistributedWrap::Connect),
          StaticValue("available", Napi::Boolean::New(env, distributed_available())),
          StaticValue("backends", string_array(env, distributed_backends())),
          InstanceMethod("allReduce", &DistributedWrap::AllReduce),
          InstanceMethod("allGather", &DistributedWrap::AllGather),
          InstanceMethod("broadcast", &DistributedWrap::Broadcast),
          InstanceMethod("barrier", &DistributedWrap::Barrier),
          InstanceMethod("close", &DistributedWrap::Close),
      },
      {getter<DistributedWrap, &DistributedWrap::Rank>("rank"), getter<DistributedWrap, &DistributedWrap::WorldSize>("worldSize"),
       getter<DistributedWrap, &DistributedWrap::Closed>("closed"), getter<DistributedWrap, &DistributedWrap::Backend>("backend"),
       getter<DistributedWrap, &DistributedWrap::Device>("device")});
  exports.Set(kClassName, ctor);
}

DistributedWrap::DistributedWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DistributedWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw_invalid(info.Env(), "use Distributed.connect(options) to join a process group");
  auto* pending = info[0].As<Napi::External<PendingHandle>>().Data();
  handle_ = pending->handle;
  rank_ = handle_.context->rank();
  world_size_ = handle_.context->world_size();
  backend_ = handle_.context->backend();
  device_ = handle_.context->device().str();
}

const DistributedHandle& DistributedWrap::alive(Napi::Env env) const {
  if (!handle_.context) throw make_error(env, "DISPOSED", "this Distributed was closed and can no longer be used");
  return handle_;
}

DistributedHandle DistributedWrap::Read(const Napi::Value& v, const std::string& what) {
  auto* self = unwrap_instance<DistributedWrap>(v, what);
  return self->alive(v.Env());
}

Napi::Value DistributedWrap::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = read_object(info[0], "Distributed.connect options");
  DistributedSettings s;
  s.rank = option_int(o, "rank", -1, "options");
  s.world_size = option_int(o, "worldSize", 0, "options");
  s.master_addr = option_string(o, "masterAddr", s.master_addr, "options");
  s.master_port = option_int(o, "masterPort", s.master_port, "options");
  s.timeout_ms = option_int(o, "timeoutMs", s.timeout_ms, "options");
  s.bucket_bytes = option_int(o, "bucketBytes", s.bucket_bytes, "options");
  s.device = option_string(o, "device", s.device, "options");
  s.backend = option_string(o, "backend", s.backend, "options");
  if (s.world_size < 1) throw_invalid(env, "options.worldSize must be an integer >= 1");
  if (s.rank < 0 || s.rank >= s.world_size) throw_invalid(env, "options.rank must be in 0..worldSize-1");
  if (s.bucket_bytes < 1024) throw_invalid(env, "options.bucketBytes must be >= 1024");
  return PromiseJob::Start(env, "torchnas.Distributed.connect", GradMode::kDisabled, [s]() -> PromiseJob::Finish {
    auto context = std::make_shared<DistributedContext>(s);
    return [context](Napi::Env e) -> Napi::Value {
      PendingHandle pending{DistributedHandle{context}};
      auto ctor = addon_data(e).classes.at(kClassName).Value();
      return ctor.New({Napi::External<PendingHandle>::New(e, &pending)});
    };
  });
}

Napi::Value DistributedWrap::Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(rank_)); }
Napi::Value DistributedWrap::WorldSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(world_size_)); }
Napi::Value DistributedWrap::Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !handle_.context); }
Napi::Value DistributedWrap::Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend_); }
Napi::Value DistributedWrap::Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_); }

// allReduce(tensor, {mean}) → a new tensor holding the sum (or mean) over the ranks.
Napi::Value DistributedWrap::AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = alive(env);
  auto t = TensorWrap::Read(info[0], "allReduce tensor");
  bool mean = false;
  if (!info[1].IsUndefined()) {
    auto o = read_object(info[1], "allReduce options");
    if (o.Has("mean")) mean = read_bool(o.Get("mean"), "options.mean");
  }
  return PromiseJob::Start(env, "torchnas.Distributed.allReduce", GradMode::kDisabled, [h, t, mean]() -> PromiseJob::Finish {
    std::lock_guard<std::mutex> guard(*h.lock);
    auto out = t.detach().clone().contiguous();
    h.context->all_reduce(out, mean);
    return [out](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, out); };
  }, {info[0]});
}

// allGather(tensor) → every rank's tensor, in rank order.
Napi::Value DistributedWrap::AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = alive(env);
  auto t = TensorWrap::Read(info[0], "allGather tensor");
  return PromiseJob::Start(env, "torchnas.Distributed.allGather", GradMode::kDisabled, [h, t]() -> PromiseJob::Finish {
    std::lock_guard<std::mutex> guard(*h.lock);
    auto all = h.context->all_gather(t.detach());
    return [all](Napi::Env e) -> Napi::Value {
      auto arr = Napi::Array::New(e, all.size());
      for (size_t i = 0; i < all.size(); ++i) arr.Set(static_cast<uint32_t>(i), TensorWrap::Wrap(e, all[i]));
      return arr;
    };
  }, {info[0]});
}

// broadcast(tensor, root = 0) → a new tensor holding root's values.
Napi::Value DistributedWrap::Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = alive(env);
  auto t = TensorWrap::Read(info[0], "broadcast tensor");
  const int64_t root = info[1].IsUndefined() ? 0 : read_int_in(info[1], "root", 0, world_size_ - 1);
  return PromiseJob::Start(env, "torchnas.Distributed.broadcast", GradMode::kDisabled, [h, t, root]() -> PromiseJob::Finish {
    std::lock_guard<std::mutex> guard(*h.lock);
    auto out = t.detach().clone().contiguous();
    h.context->broadcast({out}, root);
    return [out](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, out); };
  }, {info[0]});
}

Napi::Value DistributedWrap::Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = alive(env);
  return PromiseJob::Start(env, "torchnas.Distributed.barrier", GradMode::kDisabled, [h]() -> PromiseJob::Finish {
    std::lock_guard<std::mutex> guard(*h.lock);
    h.context->barrier();
    return [](Napi::Env e) -> Napi::Value { return e.Undefined(); };
  });
}

// close(): leaves the group (the context goes when the last job or module holding it lets go); idempotent.
Napi::Value DistributedWrap::Close(const Napi::CallbackInfo& info) {
  handle_.context.reset();
  return info.Env().Undefined();
}

void register_distributed(Napi::Env env, Napi::Object exports) { DistributedWrap::Register(env, exports); }

}  // namespace torchnas::napi
