// Shared N-API plumbing: per-environment addon data, error translation (C++/LibTorch exception ->
// JS TorchnasError with a code), argument readers that name the offending field.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace torchnas::napi {

struct AddonData {
  Napi::FunctionReference error_class;  // TorchnasError, handed over by src/native.ts
  Napi::FunctionReference tensor_class;
  Napi::FunctionReference cancel_token_class;
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

}  // namespace torchnas::napi
