// Shared N-API plumbing: per-environment addon data, error translation (C++/LibTorch exception ->
// JS TorchnasError with a code), argument readers that name the offending field.
#pragma once
#include <napi.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace torchnas::napi {

struct AddonData {
  Napi::FunctionReference error_class;  // TorchnasError, handed over by src/native.ts
  Napi::FunctionReference tensor_class;
  // Every class defined through define_checked_class, by name (foreign-`this` checks).
  std::unordered_map<std::string, Napi::FunctionReference> classes;
};

AddonData& addon_data(Napi::Env env);

struct CapturedError {
  std::string code;
  std::string message;
};

// Must be called inside a catch block: classifies the in-flight exception.
CapturedError capture_current_exception();

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message);

// Runs f and turns any C++ exception into a thrown JS TorchnasError.
template <typename F>
auto guarded(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    auto c = capture_current_exception();
    throw make_error(env, c.code, c.message);
  }
}

// Argument readers: they throw INVALID_ARGUMENT naming `what` and the expected type.
std::string read_string(const Napi::Value& v, const std::string& what);
double read_number(const Napi::Value& v, const std::string& what);
int64_t read_int(const Napi::Value& v, const std::string& what);
// An integer within [lo, hi]; every count or size that comes from users is bounded before it is used
// to allocate (INVALID_ARGUMENT naming `what` and the range).
int64_t read_int_in(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi);
bool read_bool(const Napi::Value& v, const std::string& what);
Napi::Object read_object(const Napi::Value& v, const std::string& what);
// Optional member of an options object: the default when absent/undefined.
double option_number(const Napi::Object& o, const char* key, double fallback, const std::string& owner);
int64_t option_int(const Napi::Object& o, const char* key, int64_t fallback, const std::string& owner);
int64_t option_int_in(const Napi::Object& o, const char* key, int64_t fallback, const std::string& owner, int64_t lo,
                      int64_t hi);
std::string option_string(const Napi::Object& o, const char* key, const std::string& fallback, const std::string& owner);

[[noreturn]] void throw_invalid(Napi::Env env, const std::string& message);

// The wrapped T behind `v`, or INVALID_ARGUMENT with `what` when `v` is not a live instance of the class
// registered as T::kClassName (a foreign object, a prototype, Object.create(prototype), ...).
template <typename T>
T* unwrap_instance(const Napi::Value& v, const std::string& what) {
  Napi::Env env = v.Env();
  auto& classes = addon_data(env).classes;
  auto it = classes.find(T::kClassName);
  if (it == classes.end() || !v.IsObject() || !v.As<Napi::Object>().InstanceOf(it->second.Value())) throw_invalid(env, what);
  void* raw = nullptr;
  if (napi_unwrap(env, v, &raw) != napi_ok || raw == nullptr) throw_invalid(env, what);
  return T::Unwrap(v.As<Napi::Object>());
}

// A getter installed on the prototype that checks `this` itself: node-addon-api's InstanceAccessor
// unwraps a foreign `this` blindly and answers with a plain Error, not a TorchnasError.
template <typename T, auto Member>
Napi::Value checked_getter(const Napi::CallbackInfo& info) {
  T* self = unwrap_instance<T>(info.This(), std::string("a ") + T::kClassName + " getter was called on something that is not a " + T::kClassName);
  return (self->*Member)(info);
}
template <typename T, auto Member>
Napi::PropertyDescriptor getter(const char* name) {
  return Napi::PropertyDescriptor::Accessor<&checked_getter<T, Member>>(name);
}

// DefineClass for T (methods only; V8 checks their receiver) plus checked getters on the prototype;
// registers the class for unwrap_instance.
template <typename T>
Napi::Function define_checked_class(Napi::Env env, const std::vector<Napi::ClassPropertyDescriptor<T>>& methods,
                                    const std::vector<Napi::PropertyDescriptor>& getters) {
  Napi::Function ctor = T::DefineClass(env, T::kClassName, methods);
  addon_data(env).classes[T::kClassName] = Napi::Persistent(ctor);
  if (!getters.empty()) ctor.Get("prototype").As<Napi::Object>().DefineProperties(getters);
  return ctor;
}

}  // namespace torchnas::napi
