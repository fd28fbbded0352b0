// The JS `Distributed` object: one process's membership of a c10d process group (core/distributed), made by
// `Distributed.connect(options)` (a Promise: joining blocks until every rank is there). Its collectives run as jobs;
// modules take it in broadcastState(dist) and classifiers in setDistributed(dist).
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "../core/distributed/process_group.h"

namespace torchnas::napi {

// A context and the lock that keeps its collectives one at a time (every rank must issue them in the same order).
struct DistributedHandle {
  std::shared_ptr<DistributedContext> context;
  std::shared_ptr<std::mutex> lock = std::make_shared<std::mutex>();
};

class DistributedWrap : public Napi::ObjectWrap<DistributedWrap> {
 public:
  static constexpr const char* kClassName = "Distributed";
  static void Register(Napi::Env env, Napi::Object exports);
  // The handle behind a JS Distributed (INVALID_ARGUMENT naming `what` otherwise; DISPOSED after close()).
  static DistributedHandle Read(const Napi::Value& v, const std::string& what);

  explicit DistributedWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Rank(const Napi::CallbackInfo& info);
  Napi::Value WorldSize(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value AllReduce(const Napi::CallbackInfo& info);
  Napi::Value AllGather(const Napi::CallbackInfo& info);
  Napi::Value Broadcast(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  const DistributedHandle& alive(Napi::Env env) const;

  DistributedHandle handle_;
  int64_t rank_ = 0, world_size_ = 1;
  std::string backend_, device_;
};

void register_distributed(Napi::Env env, Napi::Object exports);

}  // namespace torchnas::napi
