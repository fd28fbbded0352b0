// The one way heavy native work reaches JS: a job runs on a thread of its own and settles a Promise.
//
// - Every job gets its own native thread, never a slot of libuv's four-thread pool, so a job that
//   trains for minutes cannot starve file reads, DNS or other addons (test/core/async.test.ts).
// - Progress rows and the final result travel through one thread-safe function per job, in order:
//   no progress row can arrive after the promise has settled.
// - A progress callback that throws cancels the job (when it has a cancel flag) and the promise
//   rejects with that error.
// - Exceptions become TorchnasError rejections; the JS objects a job uses are referenced until it
//   settles; grad/inference mode and the intra-op thread count are set on the job's thread, where
//   LibTorch keeps them (runtime.h: apply_job_threads).
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "common.h"

namespace torchnas::napi {

enum class GradMode { kEnabled, kDisabled, kInference };

// Shared cancellation flag behind a JS CancelToken (an AbortSignal sets it from TypeScript).
using CancelFlag = std::shared_ptr<std::atomic<bool>>;
CancelFlag read_cancel_token(const Napi::Value& v);  // undefined -> a flag nobody sets
void register_cancel_token(Napi::Env env, Napi::Object exports);

// Sends rows of numbers from the job's thread to a JS callback; safe to copy into the work lambda.
// Rows are delivered through the job's channel (see PromiseJob), so they arrive before the result.
class ProgressSink {
 public:
  ProgressSink() = default;
  // callback: undefined/null (no progress) or a function (anything else is INVALID_ARGUMENT naming
  // `name`); cancel: set when the callback throws, so the work stops at its next check.
  ProgressSink(Napi::Env env, const Napi::Value& callback, const char* name, CancelFlag cancel = {});
  void report(std::vector<double> values) const;
  bool active() const { return static_cast<bool>(state_); }

 private:
  friend class PromiseJob;
  struct State;
  std::shared_ptr<State> state_;
};

class PromiseJob {
 public:
  using Finish = std::function<Napi::Value(Napi::Env)>;
  using Work = std::function<Finish()>;

  // keep_alive: JS objects (wrapped tensors, models) the job reads; on_settle runs on the JS thread
  // before the promise settles, after success or failure (e.g. to clear a busy flag); threads: the
  // job's intra-op thread count (0: the configured one).
  static Napi::Promise Start(Napi::Env env, const char* name, GradMode mode, Work work,
                             const std::vector<Napi::Value>& keep_alive = {}, std::function<void()> on_settle = {},
                             ProgressSink progress = {}, int threads = 0);

  struct Message;  // a progress row or the end of the job, through the job's channel

 private:
  PromiseJob(Napi::Env env, GradMode mode, Work work, int threads);
  void run();                                   // on the job's thread
  void settle(Napi::Env env);                   // on the JS thread, once
  static void call_js(napi_env env, napi_value, void* context, void* data);
  static void finalize(napi_env env, void* data, void* hint);

  Napi::Promise::Deferred deferred_;
  GradMode mode_;
  Work work_;
  Finish finish_;
  int threads_;
  CapturedError error_;
  bool failed_ = false;
  bool settled_ = false;
  std::vector<Napi::ObjectReference> keep_alive_;
  std::function<void()> on_settle_;
  ProgressSink progress_;
  Napi::ObjectReference callback_error_;  // what a throwing progress callback threw
  napi_threadsafe_function channel_ = nullptr;
};

}  // namespace torchnas::napi
