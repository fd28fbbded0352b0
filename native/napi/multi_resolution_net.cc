// MultiResolutionNet (the NAS-Bench-MR supernet) as a JS class whose jobs return Promises, and
// countMultiResolutionOps: thop-2020 counts of many codes, each built on the meta device (spec ncp.md §4).
#include <napi.h>
#include <torch/nn/functional/loss.h>

#include <atomic>
#include <cmath>
#include <memory>

#include "../core/errors.h"
#include "../core/nets/multi_resolution_net.h"
#include "../core/runtime.h"
#include "../core/serialize.h"
#include "async_job.h"
#include "module_wrap.h"
#include "../core/train/classifier_trainer.h"
#include "common.h"
#include "ncp.h"
#include "tensor.h"

namespace torchnas::napi {

std::vector<double> read_numbers(const Napi::Value& v, const std::string& what) {
  std::vector<double> out;
  if (v.IsArray()) {
    auto a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(read_number(a.Get(i), what + "[" + std::to_string(i) + "]"));
    return out;
  }
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    const size_t n = t.ElementLength();
    auto* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    auto copy = [&](auto* p) { for (size_t i = 0; i < n; ++i) out.push_back(static_cast<double>(p[i])); };
    switch (t.TypedArrayType()) {
      case napi_float64_array: copy(reinterpret_cast<double*>(base)); break;
      case napi_float32_array: copy(reinterpret_cast<float*>(base)); break;
      case napi_int32_array: copy(reinterpret_cast<int32_t*>(base)); break;
      case napi_uint32_array: copy(reinterpret_cast<uint32_t*>(base)); break;
      case napi_int16_array: copy(reinterpret_cast<int16_t*>(base)); break;
      case napi_uint16_array: copy(reinterpret_cast<uint16_t*>(base)); break;
      case napi_int8_array: copy(reinterpret_cast<int8_t*>(base)); break;
      case napi_uint8_array: copy(reinterpret_cast<uint8_t*>(base)); break;
      default: throw_invalid(v.Env(), what + " must be a number array or a numeric TypedArray (not BigInt)");
    }
    return out;
  }
  throw_invalid(v.Env(), what + " must be an array of numbers or a TypedArray");
}

std::vector<int64_t> read_integers(const Napi::Value& v, const std::string& what) {
  std::vector<int64_t> out;
  for (double d : read_numbers(v, what)) {
    if (std::floor(d) != d || !std::isfinite(d)) throw_invalid(v.Env(), what + " must hold integers, got " + std::to_string(d));
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

namespace {

// { embedding: 27 ints } or { setting: { inputChannel: [c0, c1], modules: [{branches, blocks, channels}], lastChannel } }.
MultiResolutionSetting read_setting(const Napi::Object& options, const std::string& options_name) {
  if (!options.Get("embedding").IsUndefined()) {
    return setting_from_embedding(read_integers(options.Get("embedding"), options_name + ".embedding"));
  }
  const std::string owner = options_name + ".setting";
  auto o = read_object(options.Get("setting"), owner + " (or " + options_name + ".embedding)");
  MultiResolutionSetting s;
  auto ic = read_integers(o.Get("inputChannel"), owner + ".inputChannel");
  if (ic.size() != 2) throw_invalid(o.Env(), owner + ".inputChannel must hold 2 integers");
  s.input_channel = {ic[0], ic[1]};
  s.last_channel = read_int(o.Get("lastChannel"), owner + ".lastChannel");
  if (!o.Get("modules").IsArray()) throw_invalid(o.Env(), owner + ".modules must be an array of {branches, blocks, channels}");
  auto modules = o.Get("modules").As<Napi::Array>();
  for (uint32_t i = 0; i < modules.Length(); ++i) {
    const std::string where = owner + ".modules[" + std::to_string(i) + "]";
    auto m = read_object(modules.Get(i), where);
    s.modules.push_back({read_int(m.Get("branches"), where + ".branches"), read_integers(m.Get("blocks"), where + ".blocks"),
                         read_integers(m.Get("channels"), where + ".channels")});
  }
  validate_setting(s);
  return s;
}

struct MultiResolutionNetState {
  std::shared_ptr<MultiResolutionNet> net;
  torch::Device where{torch::kCPU};
  torch::nn::Module& module() { return **net; }
  torch::Device device() const { return where; }
};

class MultiResolutionNetWrap : public ModuleWrap<MultiResolutionNetWrap, MultiResolutionNetState> {
 public:
  static constexpr const char* kClassName = "MultiResolutionNet";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = module_methods({/*save_load=*/true, /*parameters=*/true});
    methods.push_back(InstanceMethod("forward", &MultiResolutionNetWrap::Forward));
    methods.push_back(InstanceMethod("trainSteps", &MultiResolutionNetWrap::TrainSteps));
    methods.push_back(InstanceMethod("countOps", &MultiResolutionNetWrap::CountOps));
    exports.Set(kClassName, define(env, methods,
                                   {getter<MultiResolutionNetWrap, &MultiResolutionNetWrap::Head>("head"),
                                    getter<MultiResolutionNetWrap, &MultiResolutionNetWrap::NumClasses>("numClasses")}));
  }

  explicit MultiResolutionNetWrap(const Napi::CallbackInfo& info) : ModuleWrap(info) {
    Napi::Env env = info.Env();
    auto o = read_object(info[0], "MultiResolutionNet options");
    const auto device_spec = option_string(o, "device", "cpu", "options");
    const auto seed = option_int(o, "seed", 0, "options");
    if (seed < 0) throw_invalid(env, "options.seed must be >= 0");
    const auto classes = option_int(o, "numClasses", 19, "options");  // the original's defaults (§3.3)
    if (classes < 1 || classes > 100000) throw_invalid(env, "options.numClasses must be in 1..100000");
    bind(env, guarded(env, [&] {
           auto s = std::make_shared<MultiResolutionNetState>();
           s->where = parse_device(device_spec);
           MultiResolutionNetOptions options;
           options.setting = read_setting(o, "options");
           options.num_classes = classes;
           options.head = parse_head(option_string(o, "head", "segmentation", "options"));
           s->net = std::make_shared<MultiResolutionNet>(options, s->where, static_cast<uint64_t>(seed));
           return s;
         }));
  }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto x = TensorWrap::Read(info[0], "input");
    auto state = state_;
    return start_job(
        info, "torchnas.MultiResolutionNet.forward", GradMode::kInference,
        [state, x]() -> PromiseJob::Finish {
          auto& net = *state->net;
          net->eval();
          auto y = net->forward(x.to(state->where, torch::kFloat32)).cpu();
          return [y](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, y); };
        },
        {info[0]});
  }

  // SGD steps with cross-entropy on one batch: labels [N] (classification) or [N, H/4, W/4] (segmentation),
  // through the core's training loop (a NaN/inf loss ends the steps with a NaN entry, weights untouched).
  Napi::Value TrainSteps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto x = TensorWrap::Read(info[0], "input");
    auto labels = TensorWrap::Read(info[1], "labels");
    auto steps = read_int(info[2], "steps");
    if (steps < 0 || steps > 100000000) throw_invalid(env, "steps must be in 0..1e8");
    auto o = info[3].IsUndefined() ? Napi::Object::New(env) : read_object(info[3], "options");
    SgdSettings sgd;
    sgd.lr = option_number(o, "lr", 0.01, "options");
    sgd.momentum = option_number(o, "momentum", 0.9, "options");
    sgd.weight_decay = option_number(o, "weightDecay", 0.0, "options");
    auto state = state_;
    return start_job(
        info, "torchnas.MultiResolutionNet.trainSteps", GradMode::kEnabled,
        [state, x, labels, steps, sgd]() -> PromiseJob::Finish {
          auto& model = *state->net;
          auto loop = sgd_loop(model->parameters(), sgd);
          auto input = x.to(state->where, torch::kFloat32);
          auto target = labels.to(state->where, torch::kInt64);
          model->train();
          auto losses = train_steps_on_batch(*loop, steps, [&] {
            auto logits = model->forward(input);
            if (model->options().head == MultiResolutionHead::kClassification) logits = logits.flatten(1);
            return torch::nn::functional::cross_entropy(logits, target);
          });
          return [losses](Napi::Env e) -> Napi::Value {
            auto arr = Napi::Float64Array::New(e, losses.size());
            for (size_t i = 0; i < losses.size(); ++i) arr[i] = losses[i];
            return arr;
          };
        },
        {info[0], info[1]});
  }

  // thop-2020 counts of one forward of the built module (spec §4), at [batch, 3, height, width].
  Napi::Value CountOps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "options");
    const int64_t h = option_int(o, "height", 128, "options"), w = option_int(o, "width", 128, "options");
    const int64_t batch = option_int(o, "batch", 1, "options");
    if (h < 1 || h > 8192 || w < 1 || w > 8192 || batch < 1 || batch > 4096) {
      throw_invalid(env, "options.height and options.width must be in 1..8192 and options.batch in 1..4096");
    }
    auto state = state_;
    return start_job(info, "torchnas.MultiResolutionNet.countOps", GradMode::kDisabled,
                     [state, h, w, batch]() -> PromiseJob::Finish {
                       auto c = (*state->net)->count_ops(h, w, batch);
                       return [c](Napi::Env e) -> Napi::Value {
                         auto r = Napi::Object::New(e);
                         r.Set("ops", static_cast<double>(c.ops));
                         r.Set("params", static_cast<double>(c.params));
                         return r;
                       };
                     });
  }

  Napi::Value Head(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    return Napi::String::New(info.Env(), head_name((*state_->net)->options().head));
  }
  Napi::Value NumClasses(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>((*state_->net)->options().num_classes));
  }
};

// countMultiResolutionOps(embeddings (B×27, flat), {head, numClasses, height, width}, onProgress?)
//   → Promise<{ops: Float64Array, params: Float64Array}>
Napi::Value CountMultiResolutionOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto flat = read_integers(info[0], "embeddings");
  if (flat.empty() || flat.size() % 27 != 0) throw_invalid(env, "embeddings must hold B × 27 integers, got " + std::to_string(flat.size()));
  auto o = info[1].IsUndefined() ? Napi::Object::New(env) : read_object(info[1], "options");
  auto head = guarded(env, [&] { return parse_head(option_string(o, "head", "classification", "options")); });
  const int64_t classes = option_int(o, "numClasses", 50, "options");  // the benchmark's convention (§4)
  const int64_t h = option_int(o, "height", 128, "options"), w = option_int(o, "width", 128, "options");
  if (h < 1 || h > 8192 || w < 1 || w > 8192) throw_invalid(env, "options.height and options.width must be in 1..8192");
  if (classes < 1 || classes > 100000) throw_invalid(env, "options.numClasses must be in 1..100000");
  ProgressSink progress(env, info[2], "torchnas.countMultiResolutionOps");
  return PromiseJob::Start(
      env, "torchnas.countMultiResolutionOps", GradMode::kDisabled,
      [flat, head, classes, h, w, progress]() -> PromiseJob::Finish {
        const size_t count = flat.size() / 27;
        std::vector<double> ops(count), params(count);
        for (size_t i = 0; i < count; ++i) {
          MultiResolutionNetOptions options;
          try {
            options.setting = setting_from_embedding(std::vector<int64_t>(flat.begin() + 27 * i, flat.begin() + 27 * (i + 1)));
          } catch (const Error& e) {
            throw Error(e.code(), "embedding " + std::to_string(i) + ": " + e.what());
          }
          options.num_classes = classes;
          options.head = head;
          auto c = count_multi_resolution_ops(options, h, w);
          ops[i] = static_cast<double>(c.ops);
          params[i] = static_cast<double>(c.params);
          if ((i + 1) % 100 == 0 || i + 1 == count) progress.report({static_cast<double>(i + 1), static_cast<double>(count)});
        }
        return [ops, params](Napi::Env e) -> Napi::Value {
          auto r = Napi::Object::New(e);
          auto a = Napi::Float64Array::New(e, ops.size()), b = Napi::Float64Array::New(e, params.size());
          for (size_t i = 0; i < ops.size(); ++i) a[i] = ops[i], b[i] = params[i];
          r.Set("ops", a);
          r.Set("params", b);
          return r;
        };
      },
      {}, {}, progress);
}

}  // namespace

void register_multi_resolution_net(Napi::Env env, Napi::Object exports) {
  MultiResolutionNetWrap::Register(env, exports);
  exports.Set("countMultiResolutionOps", Napi::Function::New(env, CountMultiResolutionOps, "countMultiResolutionOps"));
}

}  // namespace torchnas::napi
