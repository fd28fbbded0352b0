// The JS Tensor handle: owns a torch::Tensor, copies to/from TypedArrays, reports its bytes to V8.
#pragma once
#include <napi.h>
#include <torch/types.h>

namespace torchnas::napi {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports);
  // A new JS Tensor owning `t`.
  static Napi::Object Wrap(Napi::Env env, torch::Tensor t);
  // The tensor behind a JS value; throws INVALID_ARGUMENT / TENSOR_DISPOSED naming `what`.
  static torch::Tensor Read(const Napi::Value& v, const std::string& what);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

 private:
  void set(Napi::Env env, torch::Tensor t);
  void release(Napi::Env env);
  const torch::Tensor& alive(Napi::Env env) const;
  // A getter installed on the prototype that checks `this` itself: node-addon-api's InstanceAccessor
  // answers a foreign `this` with a plain Error, not a TorchnasError.
  template <Napi::Value (TensorWrap::*Getter)(const Napi::CallbackInfo&)>
  static Napi::Value CheckedGetter(const Napi::CallbackInfo& info);

  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Nbytes(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  torch::Tensor tensor_;
  int64_t reported_bytes_ = 0;
};

std::string dtype_name(torch::ScalarType t);

}  // namespace torchnas::napi
