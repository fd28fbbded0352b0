// SmallCnn: the demo classifier and its trainer, exposed as a JS class whose jobs return Promises.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "../core/runtime.h"
#include "../core/serialize.h"
#include "../core/train/classifier_trainer.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

// Module construction draws from LibTorch's global generator: serialise seeded construction.
std::mutex construct_mutex;

SgdSettings read_sgd(const Napi::Value& v, const std::string& owner) {
  SgdSettings s;
  if (v.IsUndefined()) return s;
  auto o = read_object(v, owner);
  s.lr = option_number(o, "lr", s.lr, owner);
  s.momentum = option_number(o, "momentum", s.momentum, owner);
  s.weight_decay = option_number(o, "weightDecay", s.weight_decay, owner);
  return s;
}

class SmallCnnWrap : public Napi::ObjectWrap<SmallCnnWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    exports.Set("SmallCnn", DefineClass(env, "SmallCnn",
                                        {InstanceMethod("trainEpoch", &SmallCnnWrap::TrainEpoch),
                                         InstanceMethod("trainSteps", &SmallCnnWrap::TrainSteps),
                                         InstanceMethod("evaluate", &SmallCnnWrap::Evaluate),
                                         InstanceMethod("forward", &SmallCnnWrap::Forward),
                                         InstanceMethod("save", &SmallCnnWrap::Save),
                                         InstanceMethod("load", &SmallCnnWrap::Load),
                                         InstanceAccessor("parameterCount", &SmallCnnWrap::ParameterCount, nullptr),
                                         InstanceAccessor("device", &SmallCnnWrap::Device, nullptr)}));
  }

  explicit SmallCnnWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SmallCnnWrap>(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "SmallCnn options");
    auto in_channels = option_int(o, "inChannels", 1, "options");
    auto image_size = option_int(o, "imageSize", 28, "options");
    auto classes = option_int(o, "numClasses", 10, "options");
    auto seed = option_int(o, "seed", 0, "options");
    auto device_spec = option_string(o, "device", "cpu", "options");
    trainer_ = guarded(env, [&] {
      auto device = parse_device(device_spec);
      std::lock_guard<std::mutex> lock(construct_mutex);
      set_seed(static_cast<uint64_t>(seed));
      return std::make_shared<ClassifierTrainer>(SmallCnn(in_channels, image_size, classes), device);
    });
  }

 private:
  // One job at a time per model: a second concurrent job is refused, not raced.
  void acquire(Napi::Env env) {
    if (busy_->exchange(true)) throw make_error(env, "INVALID_ARGUMENT", "this SmallCnn is busy with another job; await it first");
  }
  std::function<void()> releaser() {
    auto busy = busy_;
    return [busy] { busy->store(false); };
  }

  Napi::Value TrainEpoch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    EpochSettings settings;
    if (!info[2].IsUndefined()) {
      auto o = read_object(info[2], "options");
      settings.batch_size = option_int(o, "batchSize", settings.batch_size, "options");
      settings.seed = static_cast<uint64_t>(option_int(o, "seed", 0, "options"));
      settings.sgd = read_sgd(info[2], "options");
    }
    auto cancelled = read_cancel_token(info[4]);
    if (!info[3].IsUndefined() && !info[3].IsNull() && !info[3].IsFunction()) throw_invalid(env, "onProgress must be a function");
    acquire(env);
    ProgressSink progress(env, info[3], "torchnas.SmallCnn.trainEpoch");
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.trainEpoch", GradMode::kEnabled,
        [trainer, images, labels, settings, progress, cancelled]() -> PromiseJob::Finish {
          auto r = trainer->train_epoch(images, labels, settings,
                                        [&](int64_t step, int64_t total, double loss) {
                                          progress.report({static_cast<double>(step), static_cast<double>(total), loss});
                                        },
                                        cancelled.get());
          return [r](Napi::Env e) -> Napi::Value {
            auto o = Napi::Object::New(e);
            o.Set("meanLoss", r.mean_loss);
            o.Set("accuracy", r.accuracy);
            o.Set("steps", static_cast<double>(r.steps));
            o.Set("seconds", r.seconds);
            return o;
          };
        },
        {info.This(), info[0], info[1]}, releaser(), progress);
  }

  Napi::Value TrainSteps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    auto steps = read_int(info[2], "steps");
    if (steps < 0) throw_invalid(env, "steps must be >= 0");
    auto sgd = read_sgd(info[3], "options");
    acquire(env);
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.trainSteps", GradMode::kEnabled,
        [trainer, images, labels, steps, sgd]() -> PromiseJob::Finish {
          auto losses = trainer->train_steps(images, labels, steps, sgd);
          return [losses](Napi::Env e) -> Napi::Value {
            auto arr = Napi::Float64Array::New(e, losses.size());
            for (size_t i = 0; i < losses.size(); ++i) arr[i] = losses[i];
            return arr;
          };
        },
        {info.This(), info[0], info[1]}, releaser());
  }

  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    auto batch = info[2].IsUndefined() ? 1000 : read_int(info[2], "batchSize");
    acquire(env);
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.evaluate", GradMode::kInference,
        [trainer, images, labels, batch]() -> PromiseJob::Finish {
          auto r = trainer->evaluate(images, labels, batch);
          return [r](Napi::Env e) -> Napi::Value {
            auto o = Napi::Object::New(e);
            o.Set("loss", r.loss);
            o.Set("accuracy", r.accuracy);
            o.Set("count", static_cast<double>(r.count));
            return o;
          };
        },
        {info.This(), info[0], info[1]}, releaser());
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    acquire(env);
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.forward", GradMode::kInference,
        [trainer, images]() -> PromiseJob::Finish {
          trainer->model()->eval();
          auto x = prepare_images(images, trainer->mean, trainer->std).to(trainer->device());
          auto logits = trainer->model()->forward(x).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info.This(), info[0]}, releaser());
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto path = read_string(info[0], "path");
    acquire(env);
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.save", GradMode::kDisabled,
        [trainer, path]() -> PromiseJob::Finish {
          save_module(path, *trainer->model());
          return {};
        },
        {info.This()}, releaser());
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto path = read_string(info[0], "path");
    acquire(env);
    auto trainer = trainer_;
    return PromiseJob::Start(
        env, "torchnas.SmallCnn.load", GradMode::kDisabled,
        [trainer, path]() -> PromiseJob::Finish {
          load_module(path, *trainer->model(), trainer->device());
          return {};
        },
        {info.This()}, releaser());
  }

  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(parameter_count(*trainer_->model())));
  }
  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), device_string(trainer_->device()));
  }

  std::shared_ptr<ClassifierTrainer> trainer_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

void register_small_cnn(Napi::Env env, Napi::Object exports) { SmallCnnWrap::Register(env, exports); }

}  // namespace torchnas::napi
