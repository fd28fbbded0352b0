// The NCP / NAS-Bench-MR family's N-API parts: register_ncp (families.h) registers the exports of ncp.cc,
// ncp_settings.cc and multi_resolution_net.cc.
#pragma once
#include <napi.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "../core/train/ncp_propagation.h"
#include "../core/train/predictor_trainer.h"

namespace torchnas::napi {

// MultiResolutionNet and countMultiResolutionOps (multi_resolution_net.cc).
void register_multi_resolution_net(Napi::Env env, Napi::Object exports);

// A JS number array or any numeric TypedArray, copied; INVALID_ARGUMENT naming `what` otherwise.
std::vector<double> read_numbers(const Napi::Value& v, const std::string& what);
std::vector<int64_t> read_integers(const Napi::Value& v, const std::string& what);

// ncp_settings.cc: the option objects of NcpPredictor.train / .propagate (names in src/methods/ncp/binding.ts);
// the normalisation fields of NcpSettings are left for the caller to fill.
torch::Tensor float_vector(const Napi::Value& v, const std::string& what);
PredictorTrainSettings read_train_settings(const Napi::Object& o, Napi::Env env);
NcpSettings read_ncp_settings(const Napi::Object& o, Napi::Env env);
void register_ncp_schedules(Napi::Env env, Napi::Object exports);  // oneCycleSchedule

}  // namespace torchnas::napi
