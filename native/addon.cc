// Registers the exposed families, nothing else. Safe to run once per environment
// (jest loads the addon once per test file).
#include <napi.h>

#include "napi/common.h"
#include "napi/families.h"

namespace {

// src/native.ts hands over TorchnasError so native failures arrive as that class.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  // A constructor: a function with a prototype object (arrow functions and methods have none).
  if (!info[0].IsFunction() || !info[0].As<Napi::Function>().Get("prototype").IsObject()) {
    torchnas::napi::throw_invalid(info.Env(), "setErrorClass expects a constructor");
  }
  torchnas::napi::addon_data(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace torchnas::napi;
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  register_runtime(env, exports);
  register_tensor(env, exports);
  register_serialize(env, exports);
  register_cancel_token(env, exports);
  register_small_cnn(env, exports);
  register_ncp(env, exports);
  register_nar(env, exports);
  register_tenas(env, exports);
  register_tenas_darts(env, exports);
  register_densenas(env, exports);
  register_distributed(env, exports);
  exports.Set("version", Napi::String::New(env, TORCHNAS_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(torchnas, Init)
