#include "async_job.h"

#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include <optional>

namespace torchnas::napi {

struct ProgressSink::State {
  Napi::ThreadSafeFunction tsfn;
  std::atomic<bool> released{false};
};

ProgressSink::ProgressSink(Napi::Env env, const Napi::Value& callback, const char* name) {
  if (callback.IsUndefined() || callback.IsNull()) return;
  if (!callback.IsFunction()) throw_invalid(env, std::string(name) + " progress callback must be a function");
  state_ = std::make_shared<State>();
  state_->tsfn = Napi::ThreadSafeFunction::New(env, callback.As<Napi::Function>(), name, 0, 1);
}

void ProgressSink::report(std::vector<double> values) const {
  if (!state_ || state_->released.load()) return;
  auto* payload = new std::vector<double>(std::move(values));
  auto status = state_->tsfn.NonBlockingCall(payload, [](Napi::Env env, Napi::Function cb, std::vector<double>* data) {
    std::unique_ptr<std::vector<double>> owned(data);
    if (env == nullptr) return;
    auto arr = Napi::Array::New(env, owned->size());
    for (size_t i = 0; i < owned->size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, (*owned)[i]));
    try {
      cb.Call({arr});
    } catch (const Napi::Error&) {
      // A throwing progress callback must not take the job down; the TS layer reports it.
    }
  });
  if (status != napi_ok) delete payload;
}

void ProgressSink::release() {
  if (state_ && !state_->released.exchange(true)) state_->tsfn.Release();
}

PromiseJob::PromiseJob(Napi::Env env, const char* name, GradMode mode, Work work)
    : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), mode_(mode), work_(std::move(work)) {}

Napi::Promise PromiseJob::Start(Napi::Env env, const char* name, GradMode mode, Work work,
                                const std::vector<Napi::Value>& keep_alive, std::function<void()> on_settle,
                                ProgressSink progress) {
  PromiseJob* job = nullptr;
  try {
    job = new PromiseJob(env, name, mode, std::move(work));
    for (const auto& v : keep_alive) {
      if (v.IsObject()) job->keep_alive_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
    job->on_settle_ = on_settle;
    job->progress_ = progress;
    auto promise = job->deferred_.Promise();
    job->Queue();
    return promise;
  } catch (...) {
    // Never queued: release what the caller handed over (busy flag, progress function) so nothing hangs.
    if (job) {
      job->on_settle_ = nullptr;
      job->progress_ = ProgressSink();
      delete job;
    }
    progress.release();
    if (on_settle) on_settle();
    throw;
  }
}

void PromiseJob::Execute() {
  // Grad mode is thread-local in LibTorch: set it here, on the worker thread.
  std::optional<c10::InferenceMode> inference;
  std::optional<c10::AutoGradMode> grad;
  if (mode_ == GradMode::kInference) {
    inference.emplace(true);
  } else {
    grad.emplace(mode_ == GradMode::kEnabled);
  }
  try {
    finish_ = work_();
  } catch (...) {
    error_ = capture_current_exception();
    failed_ = true;
  }
  work_ = nullptr;  // drop captured tensors on the worker, not later on the JS thread
}

void PromiseJob::settle() {
  progress_.release();
  keep_alive_.clear();
  if (on_settle_) on_settle_();
}

void PromiseJob::OnOK() {
  Napi::Env env = Env();
  // Everything that can throw stays inside the try: the promise must settle whatever happens.
  try {
    settle();
    if (failed_) {
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
      return;
    }
    deferred_.Resolve(finish_ ? finish_(env) : env.Undefined());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (...) {
    auto c = capture_current_exception();
    deferred_.Reject(make_error(env, c.code, c.message).Value());
  }
}

void PromiseJob::OnError(const Napi::Error& e) {
  settle();
  deferred_.Reject(e.Value());
}

// ---- CancelToken -------------------------------------------------------------------------------

namespace {

class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CancelToken",
                       {InstanceMethod("cancel", &CancelToken::Cancel),
                        InstanceAccessor("cancelled", &CancelToken::Cancelled, nullptr)});
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
  auto& data = addon_data(v.Env());
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data.cancel_token_class.Value())) {
    throw_invalid(v.Env(), "cancel token must be a CancelToken");
  }
  return CancelToken::Unwrap(v.As<Napi::Object>())->flag();
}

void register_cancel_token(Napi::Env env, Napi::Object exports) {
  auto ctor = CancelToken::Define(env);
  addon_data(env).cancel_token_class = Napi::Persistent(ctor);
  exports.Set("CancelToken", ctor);
}

}  // namespace torchnas::napi
