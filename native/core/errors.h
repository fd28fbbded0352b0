// The core's error type: a message a user can act on plus a stable code that the N-API layer
// turns into a JS TorchnasError. The core never includes N-API.
#pragma once
#include <stdexcept>
#include <string>

namespace torchnas {

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
