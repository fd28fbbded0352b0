#include "tensor.h"

#include <cstring>

#include "../core/errors.h"
#include "../core/runtime.h"
#include "async_job.h"
#include "common.h"

namespace torchnas::napi {

namespace {

// Marks constructor calls made from C++ (Wrap) rather than from JS (`new Tensor(data, shape)`).
int internal_construct_token = 0;

torch::ScalarType dtype_of(napi_typedarray_type t, Napi::Env env) {
  switch (t) {
    case napi_float32_array: return torch::kFloat32;
    case napi_float64_array: return torch::kFloat64;
    case napi_int32_array: return torch::kInt32;
    case napi_bigint64_array: return torch::kInt64;
    case napi_uint8_array: return torch::kUInt8;
    default: break;
  }
  const char* names[] = {"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
                         "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"};
  std::string name = (t >= 0 && t <= 10) ? names[t] : "this TypedArray";
  throw make_error(env, "DTYPE_UNSUPPORTED",
                   "unsupported data type " + name +
                       ": use Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array");
}

constexpr uint32_t kMaxDims = 64;

// Reads every dimension (this runs user code: array getters, proxies) before the data buffer is looked at.
std::vector<int64_t> read_shape(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsArray()) throw_invalid(env, "shape must be an array of non-negative integers");
  auto arr = v.As<Napi::Array>();
  const uint32_t dims = arr.Length();
  if (dims > kMaxDims) throw_invalid(env, "shape has " + std::to_string(dims) + " dimensions; at most 64 are supported");
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < dims; ++i) {
    const std::string what = "shape[" + std::to_string(i) + "]";
    int64_t d = read_int(arr.Get(i), what);
    if (d < 0) throw_invalid(env, what + " must be >= 0, got " + std::to_string(d));
    shape.push_back(d);
  }
  return shape;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The element count of `shape`, checked against the data's; no int64 overflow on the way.
void check_numel(Napi::Env env, const std::vector<int64_t>& shape, size_t length) {
  uint64_t product = 1;
  bool overflow = false;
  for (int64_t d : shape) {
    if (d != 0 && product > UINT64_MAX / static_cast<uint64_t>(d)) overflow = true;
    product = overflow ? product : product * static_cast<uint64_t>(d);
  }
  for (int64_t d : shape) if (d == 0) product = 0, overflow = false;
  if (overflow || product != length) {
    throw make_error(env, "SHAPE_MISMATCH", "shape " + shape_string(shape) + " holds " +
                                                (overflow ? std::string("more than 2^64") : std::to_string(product)) +
                                                " elements but the data has " + std::to_string(length));
  }
}

template <typename T, typename A>
Napi::Value copy_out(Napi::Env env, const torch::Tensor& t) {
  auto arr = A::New(env, static_cast<size_t>(t.numel()));
  if (t.numel() > 0) std::memcpy(arr.Data(), t.data_ptr<T>(), static_cast<size_t>(t.numel()) * sizeof(T));
  return arr;
}

}  // namespace

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt32: return "int32";
    case torch::kInt64: return "int64";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    case torch::kFloat16: return "float16";
    default: return c10::toString(t);
  }
}

template <Napi::Value (TensorWrap::*Getter)(const Napi::CallbackInfo&)>
Napi::Value TensorWrap::CheckedGetter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value self = info.This();
  if (!self.IsObject() || !self.As<Napi::Object>().InstanceOf(addon_data(env).tensor_class.Value())) {
    throw_invalid(env, "a Tensor getter was called on something that is not a Tensor");
  }
  return (Unwrap(self.As<Napi::Object>())->*Getter)(info);
}

void TensorWrap::Register(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "Tensor",
      {InstanceMethod("toArray", &TensorWrap::ToArray), InstanceMethod("to", &TensorWrap::To),
       InstanceMethod("dispose", &TensorWrap::Dispose)});
  addon_data(env).tensor_class = Napi::Persistent(ctor);
  ctor.Get("prototype").As<Napi::Object>().DefineProperties({
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Shape>>("shape"),
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Dtype>>("dtype"),
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Device>>("device"),
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Numel>>("numel"),
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Nbytes>>("nbytes"),
      Napi::PropertyDescriptor::Accessor<CheckedGetter<&TensorWrap::Disposed>>("disposed"),
  });
  exports.Set("Tensor", ctor);
}

Napi::Object TensorWrap::Wrap(Napi::Env env, torch::Tensor t) {
  Napi::Object obj = addon_data(env).tensor_class.New({Napi::External<int>::New(env, &internal_construct_token)});
  Unwrap(obj)->set(env, std::move(t));
  return obj;
}

torch::Tensor TensorWrap::Read(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(addon_data(env).tensor_class.Value())) {
    throw_invalid(env, what + " must be a Tensor");
  }
  return Unwrap(v.As<Napi::Object>())->alive(env);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1 && info[0].IsExternal() && info[0].As<Napi::External<int>>().Data() == &internal_construct_token) {
    return;  // filled in by Wrap
  }
  if (info.Length() < 2 || !info[0].IsTypedArray()) {
    throw_invalid(env, "new Tensor(data, shape): data must be a TypedArray and shape an array of integers");
  }
  // Shape first: its getters may run user code (even detach the data's buffer); from here on no user code
  // runs until the copy, so what is checked is what is copied.
  auto shape = read_shape(info[1]);
  auto ta = info[0].As<Napi::TypedArray>();
  auto dtype = dtype_of(ta.TypedArrayType(), env);
  auto buffer = ta.ArrayBuffer();
  const size_t length = ta.ElementLength(), offset = ta.ByteOffset(), bytes = ta.ByteLength();
  check_numel(env, shape, length);
  if (bytes > 0 && (buffer.Data() == nullptr || offset > buffer.ByteLength() || buffer.ByteLength() - offset < bytes)) {
    throw_invalid(env, "new Tensor(data, shape): the data's ArrayBuffer was detached or resized");
  }
  // Copy on the JS thread: the tensor never aliases a JS-owned buffer (DESIGN.md habits).
  auto t = guarded(env, [&] { return torch::empty(shape, torch::TensorOptions().dtype(dtype)); });
  if (bytes > 0) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(buffer.Data()) + offset, bytes);
  set(env, std::move(t));
}

void TensorWrap::set(Napi::Env env, torch::Tensor t) {
  release(env);
  tensor_ = std::move(t);
  reported_bytes_ = static_cast<int64_t>(tensor_.numel() * tensor_.element_size());
  if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, reported_bytes_);
}

void TensorWrap::release(Napi::Env env) {
  tensor_ = torch::Tensor();
  if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
  reported_bytes_ = 0;
}

void TensorWrap::Finalize(Napi::Env env) { release(env); }

const torch::Tensor& TensorWrap::alive(Napi::Env env) const {
  if (!tensor_.defined()) throw make_error(env, "TENSOR_DISPOSED", "this Tensor was disposed and can no longer be used");
  return tensor_;
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  const auto& t = alive(info.Env());
  auto arr = Napi::Array::New(info.Env(), static_cast<size_t>(t.dim()));
  for (int64_t i = 0; i < t.dim(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
  return arr;
}

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(alive(info.Env()).scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), device_string(alive(info.Env()).device()));
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(alive(info.Env()).numel()));
}

Napi::Value TensorWrap::Nbytes(const Napi::CallbackInfo& info) {
  const auto& t = alive(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(t.numel() * t.element_size()));
}

Napi::Value TensorWrap::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

Napi::Value TensorWrap::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto t = alive(env).detach().to(torch::kCPU).contiguous();
    switch (t.scalar_type()) {
      case torch::kFloat32: return copy_out<float, Napi::Float32Array>(env, t);
      case torch::kFloat64: return copy_out<double, Napi::Float64Array>(env, t);
      case torch::kInt32: return copy_out<int32_t, Napi::Int32Array>(env, t);
      case torch::kInt64: return copy_out<int64_t, Napi::TypedArrayOf<int64_t>>(env, t);
      case torch::kUInt8: return copy_out<uint8_t, Napi::Uint8Array>(env, t);
      case torch::kBool: return copy_out<uint8_t, Napi::Uint8Array>(env, t.to(torch::kUInt8));
      default: return copy_out<float, Napi::Float32Array>(env, t.to(torch::kFloat32));
    }
  });
}

Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto t = alive(env);
  auto spec = read_string(info[0], "device");
  torch::Device device = guarded(env, [&] { return parse_device(spec); });
  return PromiseJob::Start(
      env, "torchnas.Tensor.to", GradMode::kDisabled,
      [t, device]() -> PromiseJob::Finish {
        auto moved = t.to(device);
        return [moved](Napi::Env e) -> Napi::Value { return Wrap(e, moved); };
      },
      {info.This()});
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

}  // namespace torchnas::napi
