// saveTensors / loadTensors: named tensors in one LibTorch archive, written atomically.
#include <napi.h>

#include "../core/runtime.h"
#include "../core/serialize.h"
#include "async_job.h"
#include "common.h"
#include "families.h"
#include "tensor.h"

namespace torchnas::napi {

namespace {

Napi::Value SaveTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto path = read_string(info[0], "path");
  auto obj = read_object(info[1], "tensors");
  NamedTensors tensors;
  auto keys = obj.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    auto key = keys.Get(i).As<Napi::String>().Utf8Value();
    tensors.emplace_back(key, TensorWrap::Read(obj.Get(key), "tensors." + key));
  }
  return PromiseJob::Start(env, "torchnas.saveTensors", GradMode::kDisabled,
                           [path, tensors]() -> PromiseJob::Finish {
                             save_tensors(path, tensors);
                             return {};
                           },
                           {info[1]});
}

Napi::Value LoadTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto path = read_string(info[0], "path");
  auto spec = info.Length() > 1 && !info[1].IsUndefined() ? read_string(info[1], "device") : std::string("cpu");
  auto device = guarded(env, [&] { return parse_device(spec); });
  return PromiseJob::Start(env, "torchnas.loadTensors", GradMode::kDisabled, [path, device]() -> PromiseJob::Finish {
    auto tensors = load_tensors(path, device);
    return [tensors](Napi::Env e) -> Napi::Value {
      auto out = Napi::Object::New(e);
      for (const auto& [name, t] : tensors) out.Set(name, TensorWrap::Wrap(e, t));
      return out;
    };
  });
}

}  // namespace

void register_tensor(Napi::Env env, Napi::Object exports) { TensorWrap::Register(env, exports); }

void register_serialize(Napi::Env env, Napi::Object exports) {
  exports.Set("saveTensors", Napi::Function::New(env, SaveTensors, "saveTensors"));
  exports.Set("loadTensors", Napi::Function::New(env, LoadTensors, "loadTensors"));
}

}  // namespace torchnas::napi
