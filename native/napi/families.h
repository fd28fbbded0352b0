// One registration function per exposed family; addon.cc calls them all.
#pragma once
#include <napi.h>

namespace torchnas::napi {
void register_runtime(Napi::Env env, Napi::Object exports);
void register_tensor(Napi::Env env, Napi::Object exports);
void register_serialize(Napi::Env env, Napi::Object exports);
void register_small_cnn(Napi::Env env, Napi::Object exports);
void register_ncp(Napi::Env env, Napi::Object exports);  // NCP predictor, MultiResolutionNet, counts
void register_cancel_token(Napi::Env env, Napi::Object exports);
void register_tenas(Napi::Env env, Napi::Object exports);
void register_tenas_darts(Napi::Env env, Napi::Object exports);
void register_densenas(Napi::Env env, Napi::Object exports);  // DenseSuperNet
void register_distributed(Napi::Env env, Napi::Object exports);  // Distributed (c10d process group)
void register_nar(Napi::Env env, Napi::Object exports);       // NarRanker, narNoamSchedule
}  // namespace torchnas::napi
