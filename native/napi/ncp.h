// The NCP / NAS-Bench-MR family's N-API parts: register_ncp (families.h) registers both files' exports.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace torchnas::napi {

// MultiResolutionNet and countMultiResolutionOps (multi_resolution_net.cc).
void register_multi_resolution_net(Napi::Env env, Napi::Object exports);

// A JS number array or any numeric TypedArray, copied; INVALID_ARGUMENT naming `what` otherwise.
std::vector<double> read_numbers(const Napi::Value& v, const std::string& what);
std::vector<int64_t> read_integers(const Napi::Value& v, const std::string& what);

}  // namespace torchnas::napi
