// The core's error type: a message a user can act on plus a stable code that the N-API layer
// turns into a JS TorchnasError. The core never includes N-API.
#pragma once
#include <stdexcept>
#include <string>

namespace torchnas {

// Every code the native side may emit; src/core/errors.ts's TorchnasErrorCode holds the same names
// (test/core/native-errors.test.ts keeps the two equal). make_error turns any other code into INTERNAL.
inline constexpr const char* kErrorCodes[] = {
    "INVALID_ARGUMENT", "INVALID_CODE", "SHAPE_MISMATCH", "DTYPE_UNSUPPORTED", "DEVICE_UNAVAILABLE",
    "FILE_NOT_FOUND",   "FILE_CORRUPT", "CONFIG_INVALID", "TENSOR_DISPOSED",   "DISPOSED",
    "BUSY",             "CANCELLED",    "TORCH_ERROR",    "OUT_OF_MEMORY",     "NON_FINITE_LOSS",
    "INTERNAL",         "DISTRIBUTED_UNAVAILABLE", "DISTRIBUTED_ERROR", "DISTRIBUTED_TIMEOUT",
};

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void fail(const char* code, const std::string& message) {
  throw Error(code, message);
}

}  // namespace torchnas
