// TE-NAS bindings for the DARTS cell network (specs/tenas.md §1.4): the mixed-op supernet or a genotype
// network, with its NTK condition number, linear-region count, MACs and parameter counts. Mirrors the
// NB201 binding (tenas.cc), with separate α for normal and reduction cells.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>

#include "../core/errors.h"
#include "../core/measure/ntk.h"
#include "../core/nets/darts_network.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "cell_network_wrap.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

// An [E, 8] α from a Float32Array of E·8 numbers (E = 14 for 4 steps).
torch::Tensor read_darts_alpha(const Napi::Value& v, int64_t edges, const std::string& what) {
  const std::string expected = std::to_string(edges * kDartsOps) + " numbers (" + std::to_string(edges) + " edges × 8 ops)";
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_invalid(v.Env(), what + " must be a Float32Array of " + expected);
  }
  auto arr = v.As<Napi::Float32Array>();
  if (static_cast<int64_t>(arr.ElementLength()) != edges * kDartsOps) {
    throw make_error(v.Env(), "SHAPE_MISMATCH", what + " must hold " + expected + ", got " + std::to_string(arr.ElementLength()));
  }
  auto t = torch::empty({edges, kDartsOps}, torch::kFloat32);
  std::memcpy(t.data_ptr<float>(), arr.Data(), sizeof(float) * edges * kDartsOps);
  return t;
}

// Per-edge op choice: an array of E entries, each null (absent edge), an op index, or an array of op indices.
std::vector<std::vector<int>> read_edge_ops(const Napi::Value& v, int64_t edges, const std::string& what) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != static_cast<uint32_t>(edges)) {
    throw_invalid(v.Env(), what + " must be an array of " + std::to_string(edges) + " entries (null, an op index or an array of op indices)");
  }
  auto arr = v.As<Napi::Array>();
  std::vector<std::vector<int>> out(edges);
  auto read_op = [&](const Napi::Value& x, const std::string& where) {
    auto op = read_int(x, where);
    if (op < 0 || op >= kDartsOps) throw_invalid(v.Env(), where + " must be an op index in 0..7");
    return static_cast<int>(op);
  };
  for (uint32_t e = 0; e < arr.Length(); ++e) {
    const std::string where = what + "[" + std::to_string(e) + "]";
    Napi::Value entry = arr.Get(e);
    if (entry.IsNull() || entry.IsUndefined()) continue;
    if (entry.IsArray()) {
      auto ops = entry.As<Napi::Array>();
      for (uint32_t k = 0; k < ops.Length(); ++k) out[e].push_back(read_op(ops.Get(k), where + "[" + std::to_string(k) + "]"));
    } else {
      out[e].push_back(read_op(entry, where));
    }
  }
  return out;
}

Napi::Float32Array alpha_array(Napi::Env env, const torch::Tensor& alpha) {
  auto a = alpha.contiguous();
  auto arr = Napi::Float32Array::New(env, a.numel());
  std::memcpy(arr.Data(), a.data_ptr<float>(), sizeof(float) * a.numel());
  return arr;
}

class DartsWrap : public CellNetworkWrap<DartsWrap, DartsNetwork> {
 public:
  static constexpr const char* kClassName = "DartsNetwork";

  static void Register(Napi::Env env, Napi::Object exports) {
    auto methods = common_methods();
    methods.push_back(InstanceMethod("ntk", &DartsWrap::Ntk));
    methods.push_back(InstanceMethod("linearRegions", &DartsWrap::LinearRegions));
    methods.push_back(InstanceMethod("setAlpha", &DartsWrap::SetAlpha));
    methods.push_back(InstanceMethod("alpha", &DartsWrap::Alpha));
    exports.Set(kClassName, define(env, methods));
  }

  explicit DartsWrap(const Napi::CallbackInfo& info) : CellNetworkWrap(info) {
    Napi::Env env = info.Env();
    auto o = info[0].IsUndefined() ? Napi::Object::New(env) : read_object(info[0], "DartsNetwork options");
    DartsOptions opt;
    opt.channels = option_int(o, "channels", 16, "options");
    opt.cells_per_stage = option_int(o, "cellsPerStage", 5, "options");
    opt.steps = option_int(o, "steps", 4, "options");
    opt.multiplier = option_int(o, "multiplier", 4, "options");
    opt.stem_multiplier = option_int(o, "stemMultiplier", 3, "options");
    opt.num_classes = option_int(o, "numClasses", 10, "options");
    opt.in_channels = option_int(o, "inChannels", 3, "options");
    opt.depth = option_int(o, "depth", -1, "options");
    Napi::Value use_stem = o.Get("useStem");
    opt.use_stem = use_stem.IsUndefined() ? true : read_bool(use_stem, "options.useStem");
    if (opt.steps < 1 || opt.steps > 8) throw_invalid(env, "options.steps must be in 1..8");
    const int64_t edges = darts_edge_count(opt.steps);
    // A genotype network: both cells' per-edge op choices (e.g. two kept edges per node, one op each).
    Napi::Value normal_ops = o.Get("normalOps"), reduce_ops = o.Get("reduceOps");
    if (normal_ops.IsUndefined() != reduce_ops.IsUndefined()) throw_invalid(env, "options.normalOps and options.reduceOps go together");
    if (!normal_ops.IsUndefined()) {
      opt.normal_edge_ops = read_edge_ops(normal_ops, edges, "options.normalOps");
      opt.reduce_edge_ops = read_edge_ops(reduce_ops, edges, "options.reduceOps");
    }
    construct(env, o, [&] { return DartsNetwork(opt); });
  }

 private:
  int64_t edges() const { return state_->net->edge_count(); }
  // Reads options.alphaNormal / options.alphaReduce (either may be absent: that α stays as it is).
  void read_alphas(const Napi::Object& o, torch::Tensor& normal, torch::Tensor& reduce) const {
    if (!o.Get("alphaNormal").IsUndefined()) normal = read_darts_alpha(o.Get("alphaNormal"), edges(), "options.alphaNormal");
    if (!o.Get("alphaReduce").IsUndefined()) reduce = read_darts_alpha(o.Get("alphaReduce"), edges(), "options.alphaReduce");
  }

  // α of either cell type applied on the job's thread (an undefined one keeps that cell type's α).
  static std::function<void(State&)> alpha_setter(const torch::Tensor& normal, const torch::Tensor& reduce) {
    return [normal, reduce](State& s) { s.net->set_alpha(normal, reduce); };
  }

  Napi::Value Ntk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_alive(env);
    NtkSettings settings;
    torch::Tensor normal, reduce;
    bool with_kernel = false;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      settings = read_ntk_settings(env, o);
      with_kernel = read_return_kernel(o);
      read_alphas(o, normal, reduce);
    }
    return start_ntk(info, "torchnas.DartsNetwork.ntk", settings, alpha_setter(normal, reduce), 1, with_kernel);
  }

  Napi::Value LinearRegions(const Napi::CallbackInfo& info) {
    require_alive(info.Env());
    int64_t batch = 1000;
    CancelFlag cancel;
    torch::Tensor normal, reduce;
    if (!info[1].IsUndefined()) {
      auto o = read_object(info[1], "options");
      batch = option_int(o, "batchSize", batch, "options");
      cancel = read_cancel_token(o.Get("cancel"));
      read_alphas(o, normal, reduce);
    }
    return start_linear_regions(info, "torchnas.DartsNetwork.linearRegions", batch, alpha_setter(normal, reduce), cancel);
  }

  // setAlpha(normal?, reduce?): an undefined argument keeps that cell type's α.
  Napi::Value SetAlpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_alive(env);
    torch::Tensor normal, reduce;
    if (!info[0].IsUndefined()) normal = read_darts_alpha(info[0], edges(), "alphaNormal");
    if (!info[1].IsUndefined()) reduce = read_darts_alpha(info[1], edges(), "alphaReduce");
    require_idle(env, "change alpha");
    while_held(env, [&] { state_->net->set_alpha(normal, reduce); });
    return env.Undefined();
  }

  Napi::Value Alpha(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& s = idle_state(env, "read alpha");
    auto o = Napi::Object::New(env);
    o.Set("normal", alpha_array(env, s.net->alpha_normal()));
    o.Set("reduce", alpha_array(env, s.net->alpha_reduce()));
    return o;
  }
};

}  // namespace

void register_tenas_darts(Napi::Env env, Napi::Object exports) { DartsWrap::Register(env, exports); }

}  // namespace torchnas::napi
