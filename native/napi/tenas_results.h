// JS result objects of the TE-NAS measures, shared by the NB201 and DARTS bindings.
#pragma once
#include <napi.h>

#include "../core/measure/linear_regions.h"
#include "../core/measure/ntk.h"
#include "tensor.h"

namespace torchnas::napi {

inline Napi::Value region_count_value(Napi::Env env, const RegionCount& r) {
  auto o = Napi::Object::New(env);
  o.Set("regions", static_cast<double>(r.regions));
  o.Set("samples", static_cast<double>(r.samples));
  o.Set("features", static_cast<double>(r.features));
  return o;
}

// `with_kernel`: also return Θ as a float64 tensor (to compare the batched and loop paths).
inline Napi::Value ntk_result_value(Napi::Env env, const NtkResult& r, bool with_kernel = false) {
  auto o = Napi::Object::New(env);
  o.Set("kappa", r.condition_number);
  o.Set("lambdaMax", r.lambda_max);
  o.Set("lambdaMin", r.lambda_min);
  o.Set("columns", static_cast<double>(r.jacobian_columns));
  o.Set("fallback", r.fallback_used);
  o.Set("path", r.path);
  if (!r.loop_reason.empty()) o.Set("loopReason", r.loop_reason);
  if (r.path == "batched") o.Set("vjpChunk", static_cast<double>(r.vjp_chunk));
  if (with_kernel && r.kernel.defined()) o.Set("kernel", TensorWrap::Wrap(env, r.kernel.cpu().contiguous()));
  return o;
}

}  // namespace torchnas::napi
