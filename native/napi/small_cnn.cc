// SmallCnn: the demo classifier and its trainer, exposed as a JS class whose jobs return Promises.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "../core/runtime.h"
#include "../core/serialize.h"
#include "../core/train/classifier_trainer.h"
#include "async_job.h"
#include "module_wrap.h"
#include "common.h"
#include "families.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

SgdSettings read_sgd(const Napi::Value& v, const std::string& owner) {
  SgdSettings s;
  if (v.IsUndefined()) return s;
  auto o = read_object(v, owner);
  s.lr = option_number(o, "lr", s.lr, owner);
  s.momentum = option_number(o, "momentum", s.momentum, owner);
  s.weight_decay = option_number(o, "weightDecay", s.weight_decay, owner);
  return s;
}

class SmallCnnWrap : public ModuleWrap<SmallCnnWrap, ClassifierTrainer> {
 public:
  static constexpr const char* kClassName = "SmallCnn";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = module_methods({/*save_load=*/true, /*parameters=*/true});
    methods.push_back(InstanceMethod("trainEpoch", &SmallCnnWrap::TrainEpoch));
    methods.push_back(InstanceMethod("trainSteps", &SmallCnnWrap::TrainSteps));
    methods.push_back(InstanceMethod("evaluate", &SmallCnnWrap::Evaluate));
    methods.push_back(InstanceMethod("forward", &SmallCnnWrap::Forward));
    methods.push_back(InstanceMethod("saveCheckpoint", &SmallCnnWrap::SaveCheckpoint));
    methods.push_back(InstanceMethod("loadCheckpoint", &SmallCnnWrap::LoadCheckpoint));
    exports.Set(kClassName, define(env, methods));
  }

  explicit SmallCnnWrap(const Napi::CallbackInfo& info) : ModuleWrap(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "SmallCnn options");
    auto in_channels = option_int(o, "inChannels", 1, "options");
    auto image_size = option_int(o, "imageSize", 28, "options");
    auto classes = option_int(o, "numClasses", 10, "options");
    auto seed = option_int(o, "seed", 0, "options");
    auto device_spec = option_string(o, "device", "cpu", "options");
    if (in_channels < 1 || in_channels > 64) throw_invalid(env, "options.inChannels must be in 1..64");
    if (image_size < 4 || image_size > 4096) throw_invalid(env, "options.imageSize must be in 4..4096");
    if (classes < 1 || classes > 100000) throw_invalid(env, "options.numClasses must be in 1..100000");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
    bind(env, guarded(env, [&] {
           auto device = parse_device(device_spec);
           std::lock_guard<std::mutex> lock(seeded_construction_mutex());
           set_seed(static_cast<uint64_t>(seed));
           return std::make_shared<ClassifierTrainer>(SmallCnn(in_channels, image_size, classes), device);
         }));
  }

 private:
  Napi::Value TrainEpoch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    EpochSettings settings;
    if (!info[2].IsUndefined()) {
      auto o = read_object(info[2], "options");
      settings.batch_size = option_int(o, "batchSize", settings.batch_size, "options");
      const auto seed = option_int(o, "seed", 0, "options");
      if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
      settings.seed = static_cast<uint64_t>(seed);
      settings.sgd = read_sgd(info[2], "options");
    }
    if (settings.batch_size < 1) throw_invalid(env, "options.batchSize must be >= 1");
    auto cancelled = read_cancel_token(info[4]);
    ProgressSink progress(env, info[3], "torchnas.SmallCnn.trainEpoch", cancelled);
    auto trainer = state_;
    return start_job(
        info, "torchnas.SmallCnn.trainEpoch", GradMode::kEnabled,
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
            if (!r.failure.empty()) o.Set("failure", r.failure);
            return o;
          };
        },
        {info[0], info[1]}, progress);
  }

  Napi::Value TrainSteps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    auto steps = read_int(info[2], "steps");
    if (steps < 0 || steps > 100000000) throw_invalid(env, "steps must be in 0..1e8");
    auto sgd = read_sgd(info[3], "options");
    auto trainer = state_;
    return start_job(
        info, "torchnas.SmallCnn.trainSteps", GradMode::kEnabled,
        [trainer, images, labels, steps, sgd]() -> PromiseJob::Finish {
          auto losses = trainer->train_steps(images, labels, steps, sgd);
          return [losses](Napi::Env e) -> Napi::Value {
            auto arr = Napi::Float64Array::New(e, losses.size());
            for (size_t i = 0; i < losses.size(); ++i) arr[i] = losses[i];
            return arr;
          };
        },
        {info[0], info[1]});
  }

  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto images = TensorWrap::Read(info[0], "images");
    auto labels = TensorWrap::Read(info[1], "labels");
    auto batch = info[2].IsUndefined() ? 1000 : read_int(info[2], "batchSize");
    if (batch < 1) throw_invalid(env, "batchSize must be >= 1");
    auto trainer = state_;
    return start_job(
        info, "torchnas.SmallCnn.evaluate", GradMode::kInference,
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
        {info[0], info[1]});
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto images = TensorWrap::Read(info[0], "images");
    auto trainer = state_;
    return start_job(
        info, "torchnas.SmallCnn.forward", GradMode::kInference,
        [trainer, images]() -> PromiseJob::Finish {
          trainer->model()->eval();
          auto x = prepare_images(images, trainer->mean, trainer->std).to(trainer->device());
          auto logits = trainer->model()->forward(x).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info[0]});
  }

  // saveCheckpoint(path, extras?: Record<string, Tensor>): model, SGD state, counters, generators, extras.
  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto extra = read_named_tensors(info[1], "extras");
    auto trainer = state_;
    return start_job(info, "torchnas.SmallCnn.saveCheckpoint", GradMode::kDisabled,
                     [trainer, path, extra]() -> PromiseJob::Finish {
                       trainer->save_checkpoint(path, extra);
                       return {};
                     },
                     {info[1]});
  }

  // loadCheckpoint(path) → {epochs, extras}: everything saveCheckpoint wrote, restored exactly.
  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto trainer = state_;
    return start_job(info, "torchnas.SmallCnn.loadCheckpoint", GradMode::kDisabled,
                     [trainer, path]() -> PromiseJob::Finish {
                       auto extra = std::make_shared<NamedTensors>(trainer->load_checkpoint(path));
                       const double epochs = static_cast<double>(trainer->epochs_done());
                       return [extra, epochs](Napi::Env e) -> Napi::Value {
                         auto o = Napi::Object::New(e);
                         o.Set("epochs", epochs);
                         o.Set("extras", named_tensors_value(e, *extra));
                         return o;
                       };
                     });
  }
};

}  // namespace

void register_small_cnn(Napi::Env env, Napi::Object exports) { SmallCnnWrap::Register(env, exports); }

}  // namespace torchnas::napi
