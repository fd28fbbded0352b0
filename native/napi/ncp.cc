// NcpPredictor: NCP's metric predictor (spec ncp.md §5) as a JS class. Training (all epochs) and code
// propagation (all iterations, a batch of start codes) are each one job on a worker thread. Option
// objects are read in ncp_settings.cc.
#include <napi.h>

#include <atomic>
#include <memory>

#include "../core/errors.h"
#include "../core/runtime.h"
#include "../core/train/ncp_propagation.h"
#include "../core/train/predictor_trainer.h"
#include "async_job.h"
#include "module_wrap.h"
#include "common.h"
#include "families.h"
#include "ncp.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

// Copies a CPU tensor of element type In into a new TypedArray of element type Out.
template <typename Out, typename In>
Napi::TypedArrayOf<Out> typed_copy(Napi::Env env, const torch::Tensor& t) {
  auto c = t.contiguous();
  auto out = Napi::TypedArrayOf<Out>::New(env, static_cast<size_t>(c.numel()));
  const In* p = c.data_ptr<In>();
  for (int64_t i = 0; i < c.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<Out>(p[i]);
  return out;
}

struct PredictorState {
  MlpPredictor model{nullptr};
  torch::Device where{torch::kCPU};
  NamedTensors best, last;
  PredictorNormalization norm;
  torch::nn::Module& module() { return *model; }
  torch::Device device() const { return where; }
};

class NcpPredictorWrap : public ModuleWrap<NcpPredictorWrap, PredictorState> {
 public:
  static constexpr const char* kClassName = "NcpPredictor";

  static void Register(Napi::Env env, Napi::Object exports) {
    // save/load are the predictor's own (normalisation, best/last states); parameter access is shared.
    auto methods = module_methods({/*save_load=*/false, /*parameters=*/true});
    methods.push_back(InstanceMethod("setNormalization", &NcpPredictorWrap::SetNormalization));
    methods.push_back(InstanceMethod("train", &NcpPredictorWrap::Train));
    methods.push_back(InstanceMethod("useState", &NcpPredictorWrap::UseState));
    methods.push_back(InstanceMethod("predict", &NcpPredictorWrap::Predict));
    methods.push_back(InstanceMethod("propagate", &NcpPredictorWrap::Propagate));
    methods.push_back(InstanceMethod("save", &NcpPredictorWrap::Save));
    methods.push_back(InstanceMethod("load", &NcpPredictorWrap::Load));
    methods.push_back(InstanceMethod("gradientCheck", &NcpPredictorWrap::GradientCheck));
    exports.Set(kClassName, define(env, methods,
                                   {getter<NcpPredictorWrap, &NcpPredictorWrap::Normalization>("normalization"),
                                    getter<NcpPredictorWrap, &NcpPredictorWrap::OutputDim>("outputDim")}));
  }

  explicit NcpPredictorWrap(const Napi::CallbackInfo& info) : ModuleWrap(info) {
    Napi::Env env = info.Env();
    auto o = read_object(info[0], "NcpPredictor options");
    MlpPredictorOptions m;
    m.input_dim = option_int(o, "inputDim", m.input_dim, "options");
    m.groups = read_integers(o.Get("groups"), "options.groups");
    m.shared_layer = option_int(o, "sharedLayer", m.shared_layer, "options");
    m.separated_layer = option_int(o, "separatedLayer", m.separated_layer, "options");
    m.trunk_dropout = option_number(o, "trunkDropout", m.trunk_dropout, "options");
    m.head_dropouts = read_numbers(o.Get("headDropouts"), "options.headDropouts");
    if (!o.Get("exactLinear").IsUndefined()) m.exact_linear = read_bool(o.Get("exactLinear"), "options.exactLinear");
    if (m.input_dim < 1 || m.input_dim > 4096) throw_invalid(env, "options.inputDim must be in 1..4096");
    if (m.shared_layer < 1 || m.shared_layer > 65536 || m.separated_layer < 1 || m.separated_layer > 65536) {
      throw_invalid(env, "options.sharedLayer and options.separatedLayer must be in 1..65536");
    }
    if (m.groups.empty() || m.groups.size() > 64) throw_invalid(env, "options.groups must hold 1..64 metric group sizes");
    for (auto g : m.groups) {
      if (g < 1 || g > 4096) throw_invalid(env, "options.groups entries must be in 1..4096");
    }
    const auto activation = option_string(o, "activation", "swish", "options");
    const auto seed = option_int(o, "seed", 233, "options");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
    const auto device_spec = option_string(o, "device", "cpu", "options");
    bind(env, guarded(env, [&] {
           m.activation = parse_activation(activation);
           auto s = std::make_shared<PredictorState>();
           s->where = parse_device(device_spec);
           s->model = MlpPredictor(m, static_cast<uint64_t>(seed));  // initialised on the CPU from its own generator, then moved
           s->model->to(s->where);
           return s;
         }));
  }

 private:
  void require_normalization(Napi::Env env) const {
    if (!state_->norm.input_mean.defined()) {
      throw make_error(env, "INVALID_ARGUMENT", "set the predictor's normalisation first (setNormalization or load)");
    }
  }

  Napi::Value SetNormalization(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = read_object(info[0], "normalization");
    PredictorNormalization n{float_vector(o.Get("inputMean"), "inputMean"), float_vector(o.Get("inputStd"), "inputStd"),
                             float_vector(o.Get("outputMean"), "outputMean"), float_vector(o.Get("outputStd"), "outputStd")};
    require_alive(env);
    const auto& mo = state_->model->options();
    if (n.input_mean.numel() != mo.input_dim || n.input_std.numel() != mo.input_dim ||
        n.output_mean.numel() != state_->model->output_dim() || n.output_std.numel() != state_->model->output_dim()) {
      throw make_error(env, "SHAPE_MISMATCH", "normalisation needs " + std::to_string(mo.input_dim) + " input and " +
                                                  std::to_string(state_->model->output_dim()) + " output means/stds");
    }
    while_held(env, [&] { state_->norm = n; });
    return env.Undefined();
  }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto d = read_object(info[0], "data");
    PredictorData data{TensorWrap::Read(d.Get("trainX"), "data.trainX"), TensorWrap::Read(d.Get("trainY"), "data.trainY"),
                       TensorWrap::Read(d.Get("valX"), "data.valX"), TensorWrap::Read(d.Get("valY"), "data.valY"), {}, {}};
    auto options = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "options");
    auto settings = read_train_settings(options, env);
    settings.checkpoint_path = option_string(options, "checkpointPath", "", "options");
    settings.resume_from = option_string(options, "resumeFrom", "", "options");
    settings.checkpoint_interval_s = option_number(options, "checkpointInterval", settings.checkpoint_interval_s, "options");
    if (!(settings.checkpoint_interval_s >= 0) || settings.checkpoint_interval_s > 1e9) {
      throw_invalid(env, "options.checkpointInterval must be a number of seconds in [0, 1e9]");
    }
    require_idle(env, "train");
    require_normalization(env);
    auto cancelled = read_cancel_token(info[3]);
    ProgressSink progress(env, info[2], "torchnas.NcpPredictor.train", cancelled);
    auto state = state_;
    return start_job(
        info, "torchnas.NcpPredictor.train", GradMode::kEnabled,
        [state, data, settings, progress, cancelled]() -> PromiseJob::Finish {
          auto on_device = data;
          for (auto* t : {&on_device.train_x, &on_device.train_y, &on_device.val_x, &on_device.val_y}) {
            *t = t->to(state->where, torch::kFloat32);
          }
          on_device.output_mean = state->norm.output_mean.to(state->where);
          on_device.output_std = state->norm.output_std.to(state->where);
          auto r = train_predictor(state->model, on_device, settings,
                                   [&](int64_t epoch, const PredictorEpoch& e) {
                                     progress.report({static_cast<double>(epoch + 1), static_cast<double>(settings.epochs),
                                                      e.train_loss, e.val_l1[0]});
                                   },
                                   cancelled.get());
          state->best = r.best_state;
          state->last = r.last_state;
          auto records = std::make_shared<PredictorTrainResult>(std::move(r));
          return [records](Napi::Env e) -> Napi::Value {
            const auto& rr = *records;
            const size_t epochs = rr.epochs.size(), m = epochs ? rr.epochs[0].val_l1.size() : 0;
            auto train_loss = Napi::Float64Array::New(e, epochs), lr = Napi::Float64Array::New(e, epochs);
            auto val = Napi::Float64Array::New(e, epochs * m);
            for (size_t i = 0; i < epochs; ++i) {
              train_loss[i] = rr.epochs[i].train_loss;
              lr[i] = rr.epochs[i].lr_end;
              for (size_t k = 0; k < m; ++k) val[i * m + k] = rr.epochs[i].val_l1[k];
            }
            auto o = Napi::Object::New(e);
            o.Set("epochs", static_cast<double>(epochs));
            o.Set("outputs", static_cast<double>(m));
            o.Set("trainLoss", train_loss);
            o.Set("valL1", val);
            o.Set("lr", lr);
            o.Set("bestEpoch", static_cast<double>(rr.best_epoch));
            o.Set("bestLoss", rr.best_loss);
            o.Set("seconds", rr.seconds);
            o.Set("resumedAtEpoch", static_cast<double>(rr.resumed_at_epoch));
            if (!rr.failure.empty()) o.Set("failure", rr.failure);
            o.Set("fastPath", rr.fast_path);
            auto profile = Napi::Object::New(e);
            for (const auto& [name, seconds] : rr.profile) profile.Set(name, seconds);
            o.Set("profile", profile);
            return o;
          };
        },
        {d.Get("trainX"), d.Get("trainY"), d.Get("valX"), d.Get("valY")}, progress);
  }

  // Test hook: gradientCheck(x, y, loss = 'smoothl1') → the fast path's and autograd's gradients of one
  // train-mode batch from the current state (compare_gradients); the predictor is left as it was.
  Napi::Value GradientCheck(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto x = TensorWrap::Read(info[0], "x");
    auto y = TensorWrap::Read(info[1], "y");
    const auto loss_name = info[2].IsUndefined() ? std::string("smoothl1") : read_string(info[2], "loss");
    LossKind loss = LossKind::kSmoothL1;
    if (loss_name == "mse") loss = LossKind::kMse;
    else if (loss_name == "l1") loss = LossKind::kL1;
    else if (loss_name != "smoothl1") throw_invalid(env, "loss must be smoothl1, mse or l1");
    require_idle(env, "check gradients");
    if (!state_->where.is_cpu()) throw make_error(env, "INVALID_ARGUMENT", "the fast training path (and its check) runs on the CPU");
    auto state = state_;
    return start_job(
        info, "torchnas.NcpPredictor.gradientCheck", GradMode::kEnabled,
        [state, x, y, loss]() -> PromiseJob::Finish {
          auto r = std::make_shared<GradientComparison>(
              compare_gradients(state->model, x.to(torch::kCPU, torch::kFloat32), y.to(torch::kCPU, torch::kFloat32), loss));
          return [r](Napi::Env e) -> Napi::Value {
            auto as_float = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32); };
            auto names = Napi::Array::New(e), fast = Napi::Array::New(e), autograd = Napi::Array::New(e);
            for (uint32_t i = 0; i < r->names.size(); ++i) {
              names.Set(i, r->names[i]);
              fast.Set(i, typed_copy<float, float>(e, as_float(r->fast[i])));
              autograd.Set(i, typed_copy<float, float>(e, as_float(r->autograd[i])));
            }
            auto buffers = Napi::Object::New(e);
            for (size_t i = 0; i < r->fast_buffers.size(); ++i) {
              auto pair = Napi::Object::New(e);
              pair.Set("fast", typed_copy<float, float>(e, as_float(r->fast_buffers[i].second)));
              pair.Set("autograd", typed_copy<float, float>(e, as_float(r->autograd_buffers[i].second)));
              buffers.Set(r->fast_buffers[i].first, pair);
            }
            auto o = Napi::Object::New(e);
            o.Set("names", names);
            o.Set("fast", fast);
            o.Set("autograd", autograd);
            o.Set("fastLoss", r->fast_loss);
            o.Set("autogradLoss", r->autograd_loss);
            o.Set("buffers", buffers);
            o.Set("sameGeneratorState", r->same_generator_state);
            o.Set("evalFast", typed_copy<float, float>(e, as_float(r->eval_fast)));
            o.Set("evalModule", typed_copy<float, float>(e, as_float(r->eval_module)));
            return o;
          };
        },
        {info[0], info[1]});
  }

  // Loads the best or last state of the last training run into the model.
  Napi::Value UseState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto which = read_string(info[0], "which");
    if (which != "best" && which != "last") throw_invalid(env, "which must be 'best' or 'last'");
    require_idle(env, "change its state");
    const auto& state = which == "best" ? state_->best : state_->last;
    if (state.empty()) throw make_error(env, "INVALID_ARGUMENT", "no " + which + " state: train the predictor first");
    while_held(env, [&] { load_module_state(*state_->model, state); });
    return env.Undefined();
  }

  // Normalised codes [N, D] → normalised predictions [N, M] (eval mode).
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    auto x = TensorWrap::Read(info[0], "codes");
    auto state = state_;
    return start_job(
        info, "torchnas.NcpPredictor.predict", GradMode::kInference,
        [state, x]() -> PromiseJob::Finish {
          state->model->eval();
          auto y = state->model->forward(x.to(state->where, torch::kFloat32)).cpu();
          return [y](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, y); };
        },
        {info[0]});
  }

  Napi::Value Propagate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "propagate codes");
    require_normalization(env);
    const int64_t dims = state_->model->options().input_dim;
    auto flat = read_numbers(info[0], "startCodes");
    if (flat.empty() || flat.size() % static_cast<size_t>(dims) != 0) {
      throw_invalid(env, "startCodes must hold B × " + std::to_string(dims) + " numbers, got " + std::to_string(flat.size()));
    }
    const int64_t batch = static_cast<int64_t>(flat.size()) / dims;
    auto start = torch::tensor(flat, torch::kFloat64).view({batch, dims});
    NcpSettings s = read_ncp_settings(read_object(info[1], "options"), env);
    s.input_mean = state_->norm.input_mean;
    s.input_std = state_->norm.input_std;
    s.output_mean = state_->norm.output_mean;
    s.output_std = state_->norm.output_std;
    auto cancelled = read_cancel_token(info[2]);
    auto state = state_;
    return start_job(
        info, "torchnas.NcpPredictor.propagate", GradMode::kEnabled,
        [state, start, s, cancelled]() -> PromiseJob::Finish {
          auto t = std::make_shared<NcpTrajectory>(propagate_codes(state->model, start, s, cancelled.get()));
          return [t](Napi::Env e) -> Napi::Value {
            auto o = Napi::Object::New(e);
            o.Set("iterations", static_cast<double>(t->rounded.size(0)));
            o.Set("batch", static_cast<double>(t->rounded.size(1)));
            o.Set("rounded", typed_copy<int32_t, int64_t>(e, t->rounded));
            o.Set("continuous", typed_copy<double, double>(e, t->continuous));
            o.Set("predicted", typed_copy<double, double>(e, t->predicted));
            o.Set("predictedRounded", typed_copy<double, double>(e, t->predicted_rounded));
            o.Set("finalRounded", typed_copy<int32_t, int64_t>(e, t->final_rounded));
            o.Set("finalContinuous", typed_copy<double, double>(e, t->final_continuous));
            return o;
          };
        });
  }

  // save(path, which = 'current' | 'best' | 'last'): parameters, buffers and normalisation, atomically.
  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto path = read_string(info[0], "path");
    auto which = info[1].IsUndefined() ? std::string("current") : read_string(info[1], "which");
    if (which != "current" && which != "best" && which != "last") throw_invalid(env, "which must be 'current', 'best' or 'last'");
    require_idle(env, "save");
    require_normalization(env);
    if (which != "current" && (which == "best" ? state_->best : state_->last).empty()) {
      throw make_error(env, "INVALID_ARGUMENT", "no " + which + " state: train the predictor first");
    }
    auto state = state_;
    return start_job(info, "torchnas.NcpPredictor.save", GradMode::kDisabled,
                             [state, path, which]() -> PromiseJob::Finish {
                               const auto& chosen = which == "best" ? state->best : which == "last" ? state->last : module_state(*state->model);
                               save_predictor_checkpoint(path, state->model, chosen, state->norm);
                               return {};
                             });
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    auto path = read_string(info[0], "path");
    auto state = state_;
    return start_job(info, "torchnas.NcpPredictor.load", GradMode::kDisabled,
                     [state, path]() -> PromiseJob::Finish {
                       state->norm = load_predictor_checkpoint(path, state->model, state->where);
                       return {};
                     });
  }

  Napi::Value Normalization(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_idle(env, "read the normalisation");
    if (!state_->norm.input_mean.defined()) return env.Undefined();
    return guarded(env, [&]() -> Napi::Value {
      auto as_float = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32); };
      auto o = Napi::Object::New(env);
      o.Set("inputMean", typed_copy<float, float>(env, as_float(state_->norm.input_mean)));
      o.Set("inputStd", typed_copy<float, float>(env, as_float(state_->norm.input_std)));
      o.Set("outputMean", typed_copy<float, float>(env, as_float(state_->norm.output_mean)));
      o.Set("outputStd", typed_copy<float, float>(env, as_float(state_->norm.output_std)));
      return o;
    });
  }
  Napi::Value OutputDim(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(state_->model->output_dim()));
  }
};

}  // namespace

void register_ncp(Napi::Env env, Napi::Object exports) {
  NcpPredictorWrap::Register(env, exports);
  register_ncp_schedules(env, exports);
  register_multi_resolution_net(env, exports);
}

}  // namespace torchnas::napi
