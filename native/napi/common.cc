#include "common.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <new>
#include <stdexcept>

#include "../core/errors.h"

namespace torchnas::napi {

AddonData& addon_data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return *data;
}

namespace {

// c10 messages carry "Exception raised from ..." context lines; keep what a user can act on.
std::string clean_c10_message(const std::string& msg) {
  std::string out;
  size_t start = 0;
  while (start <= msg.size()) {
    size_t end = msg.find('\n', start);
    std::string line = msg.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.rfind("Exception raised from", 0) != 0 && !line.empty()) {
      if (!out.empty()) out += " ";
      out += line;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out.empty() ? msg : out;
}

// Fallback for a plain c10::Error (TORCH_CHECK): its message is all there is.
std::string classify_c10(const std::string& msg) {
  auto has = [&](const char* s) { return msg.find(s) != std::string::npos; };
  // DefaultCPUAllocator: "can't allocate memory" (1.13) / "not enough memory" (2.x); CUDA: "out of memory".
  if (has("out of memory") || has("can't allocate memory") || has("not enough memory")) return "OUT_OF_MEMORY";
  if (has("shape") || has("size mismatch") || has("must match the size") || has("Sizes of tensors") ||
      has("cannot be multiplied") || (has("Expected") && has("dimension"))) {
    return "SHAPE_MISMATCH";
  }
  if (has("no CUDA GPUs") || has("CUDA driver") || has("not compiled with CUDA") || has("Torch not compiled with CUDA")) {
    return "DEVICE_UNAVAILABLE";
  }
  return "TORCH_ERROR";
}

CapturedError from_c10(const char* code, const c10::Error& e, const std::string& note = "") {
  return {code, "LibTorch: " + clean_c10_message(e.what_without_backtrace()) + note};
}

bool known_code(const std::string& code) {
  for (const char* c : torchnas::kErrorCodes) {
    if (code == c) return true;
  }
  return false;
}

}  // namespace

// LibTorch's typed exceptions first (all present in c10/util/Exception.h of 1.13 and 2.x), the message
// text only for a plain c10::Error.
CapturedError capture_current_exception() {
  try {
    throw;
  } catch (const torchnas::Error& e) {
    return {e.code(), e.what()};
  } catch (const c10::OutOfMemoryError& e) {
    return from_c10("OUT_OF_MEMORY", e);
  } catch (const c10::IndexError& e) {
    // maybe_wrap_dim's "Dimension out of range": an input with the wrong number of dimensions.
    const std::string msg = e.what_without_backtrace();
    return from_c10(msg.find("Dimension out of range") != std::string::npos ? "SHAPE_MISMATCH" : "INVALID_ARGUMENT", e);
  } catch (const c10::ValueError& e) {
    return from_c10("INVALID_ARGUMENT", e);
  } catch (const c10::TypeError& e) {
    return from_c10("DTYPE_UNSUPPORTED", e);
  } catch (const c10::NotImplementedError& e) {
    return from_c10("TORCH_ERROR", e, " (LibTorch has no implementation of this operation for these inputs' dtype or device)");
  } catch (const c10::LinAlgError& e) {
    return from_c10("TORCH_ERROR", e, " (a linear-algebra failure, e.g. a singular matrix)");
  } catch (const c10::Error& e) {
    std::string msg = clean_c10_message(e.what_without_backtrace());
    return {classify_c10(msg), "LibTorch: " + msg};
  } catch (const std::bad_alloc&) {
    return {"OUT_OF_MEMORY", "out of memory in native code"};
  } catch (const std::length_error& e) {
    return {"OUT_OF_MEMORY", std::string("a native buffer larger than memory allows (") + e.what() + ")"};
  } catch (const std::exception& e) {
    return {"INTERNAL", std::string("native error: ") + e.what()};
  } catch (...) {
    return {"INTERNAL", "unknown native exception"};
  }
}

Napi::Error make_error(Napi::Env env, const std::string& code_in, const std::string& message_in) {
  const bool known = known_code(code_in);
  const std::string code = known ? code_in : "INTERNAL";
  const std::string message = known ? message_in : message_in + " [unlisted code " + code_in + "]";
  auto& data = addon_data(env);
  if (!data.error_class.IsEmpty()) {
    try {
      Napi::Value err = data.error_class.New({Napi::String::New(env, message), Napi::String::New(env, code)});
      if (err.IsObject()) return Napi::Error(env, err);
    } catch (const Napi::Error&) {
      // A class whose constructor throws: fall through to a plain Error that still carries the code.
    }
  }
  auto err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void throw_invalid(Napi::Env env, const std::string& message) { throw make_error(env, "INVALID_ARGUMENT", message); }

std::string read_string(const Napi::Value& v, const std::string& what) {
  if (!v.IsString()) throw_invalid(v.Env(), what + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double read_number(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw_invalid(v.Env(), what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_invalid(v.Env(), what + " must be finite, got " + std::to_string(d));
  return d;
}

int64_t read_int(const Napi::Value& v, const std::string& what) {
  double d = read_number(v, what);
  if (std::floor(d) != d || std::fabs(d) > 9007199254740991.0) throw_invalid(v.Env(), what + " must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

int64_t read_int_in(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  const int64_t n = read_int(v, what);
  if (n < lo || n > hi) {
    throw_invalid(v.Env(), what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                               std::to_string(n));
  }
  return n;
}

bool read_bool(const Napi::Value& v, const std::string& what) {
  if (!v.IsBoolean()) throw_invalid(v.Env(), what + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Object read_object(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) throw_invalid(v.Env(), what + " must be an object");
  return v.As<Napi::Object>();
}

double option_number(const Napi::Object& o, const char* key, double fallback, const std::string& owner) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : read_number(v, owner + "." + key);
}

int64_t option_int(const Napi::Object& o, const char* key, int64_t fallback, const std::string& owner) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : read_int(v, owner + "." + key);
}

int64_t option_int_in(const Napi::Object& o, const char* key, int64_t fallback, const std::string& owner, int64_t lo,
                      int64_t hi) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : read_int_in(v, owner + "." + key, lo, hi);
}

std::string option_string(const Napi::Object& o, const char* key, const std::string& fallback, const std::string& owner) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : read_string(v, owner + "." + key);
}

}  // namespace torchnas::napi
