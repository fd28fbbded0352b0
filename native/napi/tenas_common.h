// Pieces shared by the TE-NAS network bindings (tenas.cc: NB201, tenas_darts.cc: DARTS): seeded
// construction, the paper-intended init, the linear-region sampling loop and the JS result objects.
#pragma once
#include <napi.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/measure/linear_regions.h"
#include "../core/measure/ntk.h"
#include "../core/ops/cell_ops.h"

namespace torchnas::napi {

// Seeded construction draws from the global generator: one lock for every TE-NAS network family.
inline std::mutex& tenas_construct_mutex() {
  static std::mutex m;
  return m;
}

// The paper's intended init (§2), offered as an option: kaiming-normal with ReLU gain, biases 0, BN 1/0.
inline void kaiming_init(torch::nn::Module& module, bool fan_out) {
  torch::NoGradGuard no_grad;
  auto mode = fan_out ? torch::nn::init::FanModeType(torch::kFanOut) : torch::nn::init::FanModeType(torch::kFanIn);
  for (auto& item : module.named_parameters(true)) {
    const auto& name = item.key();
    auto& p = item.value();
    bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    if (is_weight && p.dim() >= 2) torch::nn::init::kaiming_normal_(p, 0.0, mode, torch::kReLU);
    else if (is_weight) p.fill_(1.0);
    else p.zero_();
  }
}

struct RegionCount {
  int64_t regions;
  int64_t samples;
  int64_t features;
};

// §3: forward `batch` samples at a time (BN in train mode sees one sample batch, as the original's
// 1000-sample loader batches), collect the post-ReLU sign patterns, count distinct rows.
inline RegionCount count_linear_regions(const std::function<void(const torch::Tensor&, const Trace&)>& forward,
                                        const torch::Tensor& x, int64_t batch) {
  const int64_t n = x.size(0);
  if (n < 1) fail("INVALID_ARGUMENT", "linear regions need at least one input sample");
  std::vector<torch::Tensor> per_batch;
  for (int64_t start = 0; start < n; start += batch) {
    std::vector<torch::Tensor> relus;
    Trace trace{&relus};
    forward(x.slice(0, start, std::min(n, start + batch)), trace);
    std::vector<torch::Tensor> flat;
    for (auto& r : relus) flat.push_back(r.reshape({r.size(0), -1}).gt(0));
    if (flat.empty()) fail("INVALID_ARGUMENT", "the network recorded no ReLU outputs");
    per_batch.push_back(torch::cat(flat, 1));
  }
  auto signs = torch::cat(per_batch, 0);
  return {count_distinct_rows(signs), n, signs.size(1)};
}

inline Napi::Value region_count_value(Napi::Env env, const RegionCount& r) {
  auto o = Napi::Object::New(env);
  o.Set("regions", static_cast<double>(r.regions));
  o.Set("samples", static_cast<double>(r.samples));
  o.Set("features", static_cast<double>(r.features));
  return o;
}

inline Napi::Value ntk_result_value(Napi::Env env, const NtkResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("kappa", r.condition_number);
  o.Set("lambdaMax", r.lambda_max);
  o.Set("lambdaMin", r.lambda_min);
  o.Set("columns", static_cast<double>(r.jacobian_columns));
  o.Set("fallback", r.fallback_used);
  return o;
}

}  // namespace torchnas::napi
