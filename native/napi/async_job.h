// The one way heavy native work reaches JS: a job runs on a worker thread (libuv pool) and settles
// a Promise. Exceptions become TorchnasError rejections; the JS objects a job uses are held by
// references until it settles, so they cannot be collected mid-job; grad/inference mode is set on
// the worker thread, where LibTorch keeps it.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "common.h"

namespace torchnas::napi {

enum class GradMode { kEnabled, kDisabled, kInference };

// Sends rows of numbers from the worker thread to a JS callback (progress); safe to copy.
class ProgressSink {
 public:
  ProgressSink() = default;
  ProgressSink(Napi::Env env, const Napi::Value& callback, const char* name);
  void report(std::vector<double> values) const;
  void release();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

class PromiseJob : public Napi::AsyncWorker {
 public:
  using Finish = std::function<Napi::Value(Napi::Env)>;
  using Work = std::function<Finish()>;

  // keep_alive: JS objects (wrapped tensors, models) the job reads; on_settle runs on the JS thread
  // after success or failure (e.g. to clear a busy flag).
  static Napi::Promise Start(Napi::Env env, const char* name, GradMode mode, Work work,
                             const std::vector<Napi::Value>& keep_alive = {}, std::function<void()> on_settle = {},
                             ProgressSink progress = {});

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  PromiseJob(Napi::Env env, const char* name, GradMode mode, Work work);
  void settle();

  Napi::Promise::Deferred deferred_;
  GradMode mode_;
  Work work_;
  Finish finish_;
  CapturedError error_;
  bool failed_ = false;
  std::vector<Napi::ObjectReference> keep_alive_;
  std::function<void()> on_settle_;
  ProgressSink progress_;
};

// Shared cancellation flag behind a JS CancelToken (an AbortSignal sets it from TypeScript).
using CancelFlag = std::shared_ptr<std::atomic<bool>>;
CancelFlag read_cancel_token(const Napi::Value& v);  // undefined -> a flag nobody sets
void register_cancel_token(Napi::Env env, Napi::Object exports);

}  // namespace torchnas::napi
