// TE-NAS bindings: the NB201 cell network (single architecture or mixed-op supernet) with its NTK
// condition number, linear-region count, MACs and parameter counts; a seeded LibTorch generator.
#include <napi.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "../core/errors.h"
#include "../core/measure/linear_regions.h"
#include "../core/measure/ntk.h"
#include "../core/nets/nb201_network.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "cell_network_wrap.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

torch::Tensor read_alpha(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_invalid(v.Env(), what + " must be a Float32Array of 30 numbers (6 edges × 5 ops)");
  }
  auto arr = v.As<Napi::Float32Array>();
  if (arr.ElementLength() != kNb201Edges * kNb201Ops) {
    throw make_error(v.Env(), "SHAPE_MISMATCH", what + " must hold 30 numbers (6 edges × 5 ops), got " + std::to_string(arr.ElementLength()));
  }
  auto t = torch::empty({kNb201Edges, kNb201Ops}, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), arr.Data(), sizeof(float) * kNb201Edges * kNb201Ops);
  return t;
}

class Nb201Wrap : public CellNetworkWrap<Nb201Wrap, Nb201Network> {
 public:
  static constexpr const char* kClassName = "Nb201Network";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = common_methods();
    methods.push_back(InstanceMethod("ntk", &Nb201Wrap::Ntk));
    methods.push_back(InstanceMethod("linearRegions", &Nb201Wrap::LinearRegions));
    methods.push_back(InstanceMethod("setAlpha", &Nb201Wrap::SetAlpha));
    methods.push_back(InstanceMethod("signPatterns", &Nb201Wrap::SignPatterns));
    exports.Set(kClassName, define(env, methods));
  }

  explicit Nb201Wrap(const Napi::CallbackInfo& info) : CellNetworkWrap(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "Nb201Network options");
    Nb201Options opt;
    opt.channels = option_int(o, "channels", 16, "options");
    opt.cells_per_stage = option_int(o, "cellsPerStage", 5, "options");
    opt.num_classes = option_int(o, "numClasses", 10, "options");
    opt.in_channels = option_int(o, "inChannels", 3, "options");
    opt.depth = option_int(o, "depth", -1, "options");
    Napi::Value use_stem = o.Get("useStem");
    opt.use_stem = use_stem.IsUndefined() ? true : read_bool(use_stem, "options.useStem");
    Napi::Value ops = o.Get("ops");  // single architecture: 6 op indices
    if (!ops.IsUndefined()) {
      if (!ops.IsArray() || ops.As<Napi::Array>().Length() != kNb201Edges) throw_invalid(env, "options.ops must be an array of 6 op indices");
      auto arr = ops.As<Napi::Array>();
      for (uint32_t e = 0; e < kNb201Edges; ++e) {
        auto op = read_int(arr.Get(e), "options.ops[" + std::to_string(e) + "]");
        if (op < 0 || op >= kNb201Ops) throw_invalid(env, "options.ops[" + std::to_string(e) + "] must be in 0..4");
        opt.edge_ops.push_back({static_cast<int>(op)});
      }
    }
    construct(env, o, [&] { return Nb201Network(opt); });
  }

 private:
  // α applied on the job's thread, just before the measure (undefined: the network's current α).
  static std::function<void(State&)> alpha_setter(const torch::Tensor& alpha) {
    if (!alpha.defined()) return {};
    return [alpha](State& s) { s.net->set_alpha(alpha); };
  }

  Napi::Value Ntk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    NtkSettings settings;
    torch::Tensor alpha;
    int64_t copies = 1;
    bool with_kernel = false;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      settings = read_ntk_settings(env, o);
      with_kernel = read_return_kernel(o);
      copies = option_int(o, "copies", 1, "options");
      if (copies < 1 || copies > 1024) throw_invalid(env, "options.copies must be in 1..1024");
      if (!o.Get("alpha").IsUndefined()) alpha = read_alpha(o.Get("alpha"), "options.alpha");
    }
    return start_ntk(info, "torchnas.Nb201Network.ntk", settings, alpha_setter(alpha), copies, with_kernel);
  }

  Napi::Value LinearRegions(const Napi::CallbackInfo& info) {
    int64_t batch = 1000;
    CancelFlag cancel;
    torch::Tensor alpha;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      batch = option_int(o, "batchSize", batch, "options");
      cancel = read_cancel_token(o.Get("cancel"));
      if (!o.Get("alpha").IsUndefined()) alpha = read_alpha(o.Get("alpha"), "options.alpha");
    }
    return start_linear_regions(info, "torchnas.Nb201Network.linearRegions", batch, alpha_setter(alpha), cancel);
  }

  Napi::Value SetAlpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto alpha = read_alpha(info[0], "alpha");
    require_idle(env, "change alpha");
    while_held(env, [&] { state_->net->set_alpha(alpha); });
    return env.Undefined();
  }

  // The ReLU sign patterns [n, D] (uint8) whose distinct rows linearRegions counts, for inspection and
  // tests; one forward of all inputs, on the job's thread.
  Napi::Value SignPatterns(const Napi::CallbackInfo& info) {
    auto inputs = TensorWrap::Read(info[0], "inputs");
    auto state = state_;
    return start_job(
        info, "torchnas.Nb201Network.signPatterns", GradMode::kDisabled,
        [state, inputs]() -> PromiseJob::Finish {
          auto signs = sign_patterns([&](const torch::Tensor& b, const Trace& t) { state->net->forward(b, t); },
                                     inputs.to(state->device_, state->dtype), std::max<int64_t>(1, inputs.size(0)))
                           .to(torch::kUInt8)
                           .cpu();
          return [signs](Napi::Env e) -> Napi::Value { return TensorWrap::Wrap(e, signs); };
        },
        {info[0]});
  }
};

// A seeded LibTorch CPU generator, so inputs drawn in TS match torch.Generator streams exactly.
class GeneratorWrap : public Napi::ObjectWrap<GeneratorWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    exports.Set("Generator", DefineClass(env, "Generator",
                                         {InstanceMethod("randn", &GeneratorWrap::Randn),
                                          InstanceMethod("randint", &GeneratorWrap::Randint),
                                          InstanceMethod("rand", &GeneratorWrap::Rand)}));
  }
  explicit GeneratorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorWrap>(info) {
    auto seed = read_int(info[0], "seed");
    if (seed < 0) throw_invalid(info.Env(), "seed must be >= 0");
    gen_ = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  }

 private:
  static std::vector<int64_t> shape_of(const Napi::Value& v) {
    if (!v.IsArray()) throw_invalid(v.Env(), "shape must be an array of integers");
    auto arr = v.As<Napi::Array>();
    std::vector<int64_t> shape;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      auto d = read_int(arr.Get(i), "shape[" + std::to_string(i) + "]");
      if (d < 0) throw_invalid(v.Env(), "shape entries must be >= 0");
      shape.push_back(d);
    }
    return shape;
  }
  Napi::Value Randn(const Napi::CallbackInfo& info) {
    auto shape = shape_of(info[0]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::randn(shape, gen_); }));
  }
  Napi::Value Rand(const Napi::CallbackInfo& info) {
    auto shape = shape_of(info[0]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::rand(shape, gen_); }));
  }
  Napi::Value Randint(const Napi::CallbackInfo& info) {
    auto low = read_int(info[0], "low");
    auto high = read_int(info[1], "high");
    if (high <= low) throw_invalid(info.Env(), "randint needs high > low");
    auto shape = shape_of(info[2]);
    return TensorWrap::Wrap(info.Env(), guarded(info.Env(), [&] { return torch::randint(low, high, shape, gen_); }));
  }
  at::Generator gen_;
};

}  // namespace

void register_tenas(Napi::Env env, Napi::Object exports) {
  Nb201Wrap::Register(env, exports);
  GeneratorWrap::Register(env, exports);
}

}  // namespace torchnas::napi
