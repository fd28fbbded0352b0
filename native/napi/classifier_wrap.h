// The JS binding of every image classifier trained by ClassifierTrainer (SmallCnn, DenseNAS derived
// networks): trainEpoch / trainSteps / evaluate / forward / saveCheckpoint / loadCheckpoint, written once.
// Derived: the wrap class (CRTP) with kClassName; it builds the ClassifierTrainer and calls bind().
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/train/classifier_trainer.h"
#include "async_job.h"
#include "common.h"
#include "module_wrap.h"
#include "tensor.h"

namespace torchnas::napi {

// {lr, momentum, weightDecay, cosineSteps, minLr, labelSmoothing}; undefined → defaults.
inline SgdSettings read_sgd(const Napi::Value& v, const std::string& owner) {
  SgdSettings s;
  if (v.IsUndefined()) return s;
  auto o = read_object(v, owner);
  s.lr = option_number(o, "lr", s.lr, owner);
  s.momentum = option_number(o, "momentum", s.momentum, owner);
  s.weight_decay = option_number(o, "weightDecay", s.weight_decay, owner);
  s.cosine_steps = option_int_in(o, "cosineSteps", s.cosine_steps, owner, 0, int64_t(1) << 40);
  s.min_lr = option_number(o, "minLr", s.min_lr, owner);
  s.label_smoothing = option_number(o, "labelSmoothing", s.label_smoothing, owner);
  return s;
}

template <typename Derived>
class ClassifierWrap : public ModuleWrap<Derived, ClassifierTrainer> {
 public:
  using Base = ModuleWrap<Derived, ClassifierTrainer>;
  using Descriptor = typename Base::Descriptor;
  explicit ClassifierWrap(const Napi::CallbackInfo& info) : Base(info) {}

 protected:
  static std::vector<Descriptor> classifier_methods() {
    using W = Napi::ObjectWrap<Derived>;
    auto methods = Base::module_methods({/*save_load=*/true, /*parameters=*/true});
    methods.push_back(W::InstanceMethod("trainEpoch", &ClassifierWrap::TrainEpoch));
    methods.push_back(W::InstanceMethod("trainSteps", &ClassifierWrap::TrainSteps));
    methods.push_back(W::InstanceMethod("evaluate", &ClassifierWrap::Evaluate));
    methods.push_back(W::InstanceMethod("forward", &ClassifierWrap::Forward));
    methods.push_back(W::InstanceMethod("saveCheckpoint", &ClassifierWrap::SaveCheckpoint));
    methods.push_back(W::InstanceMethod("loadCheckpoint", &ClassifierWrap::LoadCheckpoint));
    return methods;
  }

 private:
  static std::string job_name(const char* method) { return std::string("torchnas.") + Derived::kClassName + "." + method; }

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
    ProgressSink progress(env, info[3], job_name("trainEpoch").c_str(), cancelled);
    auto trainer = this->state_;
    return this->start_job(
        info, job_name("trainEpoch").c_str(), GradMode::kEnabled,
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
    auto trainer = this->state_;
    return this->start_job(
        info, job_name("trainSteps").c_str(), GradMode::kEnabled,
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
    auto trainer = this->state_;
    return this->start_job(
        info, job_name("evaluate").c_str(), GradMode::kInference,
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
    auto trainer = this->state_;
    return this->start_job(
        info, job_name("forward").c_str(), GradMode::kInference,
        [trainer, images]() -> PromiseJob::Finish {
          trainer->module().eval();
          auto x = prepare_images(images, trainer->mean, trainer->std).to(trainer->device());
          auto logits = trainer->forward(x).cpu();
          return [logits](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, logits); };
        },
        {info[0]});
  }

  // saveCheckpoint(path, extras?: Record<string, Tensor>): model, SGD state, counters, generators, extras.
  Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto extra = read_named_tensors(info[1], "extras");
    auto trainer = this->state_;
    return this->start_job(info, job_name("saveCheckpoint").c_str(), GradMode::kDisabled,
                     [trainer, path, extra]() -> PromiseJob::Finish {
                       trainer->save_checkpoint(path, extra);
                       return {};
                     },
                     {info[1]});
  }

  // loadCheckpoint(path) → {epochs, extras}: everything saveCheckpoint wrote, restored exactly.
  Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto trainer = this->state_;
    return this->start_job(info, job_name("loadCheckpoint").c_str(), GradMode::kDisabled,
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

}  // namespace torchnas::napi
