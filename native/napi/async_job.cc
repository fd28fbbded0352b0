#include "async_job.h"

#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <ATen/Parallel.h>

#include <optional>
#include <thread>

#include "../core/runtime.h"

namespace torchnas::napi {

struct ProgressSink::State {
  Napi::FunctionReference callback;  // touched on the JS thread only
  CancelFlag cancel;
  std::atomic<napi_threadsafe_function> channel{nullptr};  // the job's, attached by PromiseJob::Start
};

struct PromiseJob::Message {
  bool done = false;
  std::vector<double> row;
};

ProgressSink::ProgressSink(Napi::Env env, const Napi::Value& callback, const char* name, CancelFlag cancel) {
  if (callback.IsUndefined() || callback.IsNull()) return;
  if (!callback.IsFunction()) throw_invalid(env, std::string(name) + " progress callback must be a function");
  state_ = std::make_shared<State>();
  state_->callback = Napi::Persistent(callback.As<Napi::Function>());
  state_->cancel = std::move(cancel);
}

void ProgressSink::report(std::vector<double> values) const {
  if (!state_) return;
  napi_threadsafe_function channel = state_->channel.load();
  if (channel == nullptr) return;
  auto* message = new PromiseJob::Message{false, std::move(values)};
  // Blocking: the queue is unbounded, so this never waits; it only fails while the environment closes.
  if (napi_call_threadsafe_function(channel, message, napi_tsfn_blocking) != napi_ok) delete message;
}

PromiseJob::PromiseJob(Napi::Env env, GradMode mode, Work work, int threads)
    : deferred_(Napi::Promise::Deferred::New(env)), mode_(mode), work_(std::move(work)), threads_(threads) {}

Napi::Promise PromiseJob::Start(Napi::Env env, const char* name, GradMode mode, Work work,
                                const std::vector<Napi::Value>& keep_alive, std::function<void()> on_settle,
                                ProgressSink progress, int threads) {
  PromiseJob* job = nullptr;
  try {
    job = new PromiseJob(env, mode, std::move(work), threads);
    for (const auto& v : keep_alive) {
      if (v.IsObject()) job->keep_alive_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
    job->on_settle_ = on_settle;
    job->progress_ = progress;
    napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, name), 0, 1, job,
                                                         &PromiseJob::finalize, job, &PromiseJob::call_js, &job->channel_);
    if (status != napi_ok) {
      job->channel_ = nullptr;
      throw make_error(env, "INTERNAL", std::string("could not create the completion channel of ") + name);
    }
  } catch (...) {
    // Never started: release what the caller handed over (busy flag) so nothing hangs.
    if (job) {
      job->on_settle_ = nullptr;
      delete job;
    }
    if (on_settle) on_settle();
    throw;
  }
  if (progress.state_) progress.state_->channel.store(job->channel_);
  auto promise = job->deferred_.Promise();
  try {
    std::thread([job] { job->run(); }).detach();
  } catch (const std::exception& e) {
    // No thread: the channel is aborted (its finaliser deletes the job); the caller's flag is released.
    if (progress.state_) progress.state_->channel.store(nullptr);
    auto release = std::move(job->on_settle_);
    job->on_settle_ = nullptr;
    napi_release_threadsafe_function(job->channel_, napi_tsfn_abort);
    if (release) release();
    throw make_error(env, "OUT_OF_MEMORY", std::string("could not start a thread for ") + name + ": " + e.what());
  }
  return promise;
}

void PromiseJob::run() {
  {
    // The thread count, grad mode and inference mode are all per thread in LibTorch: set them here.
    std::optional<c10::InferenceMode> inference;
    std::optional<c10::AutoGradMode> grad;
    try {
      apply_job_threads(threads_);
      if (mode_ == GradMode::kInference) {
        inference.emplace(true);
      } else {
        grad.emplace(mode_ == GradMode::kEnabled);
      }
      finish_ = work_();
    } catch (...) {
      error_ = capture_current_exception();
      failed_ = true;
    }
    work_ = nullptr;  // drop captured tensors on this thread, not later on the JS thread
  }
  // After the last progress row, in the same queue: the result can only arrive after every row.
  napi_threadsafe_function channel = channel_;
  auto* done = new Message{true, {}};
  if (napi_call_threadsafe_function(channel, done, napi_tsfn_blocking) != napi_ok) delete done;
  napi_release_threadsafe_function(channel, napi_tsfn_release);
}

void PromiseJob::call_js(napi_env raw_env, napi_value, void* context, void* data) {
  std::unique_ptr<Message> message(static_cast<Message*>(data));
  auto* job = static_cast<PromiseJob*>(context);
  if (raw_env == nullptr || message == nullptr) return;  // the environment is shutting down
  Napi::Env env(raw_env);
  if (message->done) {
    job->settle(env);
    return;
  }
  const auto& state = job->progress_.state_;
  if (job->settled_ || !state || !job->callback_error_.IsEmpty()) return;
  Napi::HandleScope scope(env);
  try {
    auto row = Napi::Array::New(env, message->row.size());
    for (size_t i = 0; i < message->row.size(); ++i) row.Set(static_cast<uint32_t>(i), Napi::Number::New(env, message->row[i]));
    state->callback.Call({row});
  } catch (const Napi::Error& e) {
    // The callback threw: stop the work at its next cancel check and reject with what it threw.
    job->callback_error_ = Napi::Persistent(e.Value());
    if (state->cancel) state->cancel->store(true);
  }
}

void PromiseJob::finalize(napi_env, void* data, void*) { delete static_cast<PromiseJob*>(data); }

void PromiseJob::settle(Napi::Env env) {
  if (settled_) return;
  settled_ = true;
  Napi::HandleScope scope(env);
  // Everything that can throw stays inside the try: the promise must settle whatever happens.
  try {
    keep_alive_.clear();
    if (progress_.state_) {
      progress_.state_->channel.store(nullptr);
      progress_.state_->callback.Reset();
    }
    if (on_settle_) {
      auto release = std::move(on_settle_);
      on_settle_ = nullptr;
      release();
    }
    if (!callback_error_.IsEmpty()) {
      deferred_.Reject(callback_error_.Value());
      callback_error_.Reset();
    } else if (failed_) {
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
    } else {
      deferred_.Resolve(finish_ ? finish_(env) : env.Undefined());
    }
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (...) {
    auto c = capture_current_exception();
    deferred_.Reject(make_error(env, c.code, c.message).Value());
  }
  finish_ = nullptr;
}

// ---- CancelToken -------------------------------------------------------------------------------

namespace {

class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static constexpr const char* kClassName = "CancelToken";
  static Napi::Function Define(Napi::Env env) {
    return define_checked_class<CancelToken>(env, {InstanceMethod("cancel", &CancelToken::Cancel)},
                                             {getter<CancelToken, &CancelToken::Cancelled>("cancelled")});
  }
  explicit CancelToken(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    flag_->store(true);
    return info.Env().Undefined();
  }
  Napi::Value Cancelled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), flag_->load()); }
  CancelFlag flag() const { return flag_; }

 private:
  CancelFlag flag_;
};

}  // namespace

CancelFlag read_cancel_token(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::make_shared<std::atomic<bool>>(false);
  return unwrap_instance<CancelToken>(v, "cancel token must be a CancelToken")->flag();
}

// jobThreads(threads?) → Promise<number>: the intra-op thread count a job sees on its own thread (tests:
// no job's thread count leaks into another's).
Napi::Value JobThreads(const Napi::CallbackInfo& info) {
  int threads = 0;
  if (!info[0].IsUndefined()) {
    const auto n = read_int(info[0], "threads");
    if (n < 1 || n > 4096) throw_invalid(info.Env(), "threads must be in 1..4096");
    threads = static_cast<int>(n);
  }
  return PromiseJob::Start(
      info.Env(), "torchnas.jobThreads", GradMode::kDisabled,
      []() -> PromiseJob::Finish {
        const double n = at::get_num_threads();
        return [n](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, n); };
      },
      {}, {}, {}, threads);
}

void register_cancel_token(Napi::Env env, Napi::Object exports) {
  auto ctor = CancelToken::Define(env);
  exports.Set("CancelToken", ctor);
  exports.Set("jobThreads", Napi::Function::New(env, JobThreads, "jobThreads"));
}

}  // namespace torchnas::napi
