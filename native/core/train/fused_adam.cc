#include "fused_adam.h"

#include <torch/autograd.h>

#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

#include "../errors.h"

namespace torchnas {

namespace {

struct AdamStep {
  float l2;           // Adam's weight decay (added to the gradient); 0 for AdamW
  float decay;        // AdamW's p·(1 − lr·wd) factor; 1 for Adam
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float bias_correction2_sqrt, eps;
  float neg_step_size;  // −lr / (1 − β1ᵗ)
};

// The scalars are cast to float as ATen does for float tensors; the expression order follows ATen's
// kernels (add: a + α·b, addcmul: a + v·b·c, addcdiv: a + v·b/c) so rounding stays close to torch's.
void adam_sweep(float* p, const float* g, float* m, float* v, int64_t n, const AdamStep& s) {
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * s.decay;
    const float gi = g[i] + s.l2 * pi;
    const float mi = m[i] * s.beta1 + s.one_minus_beta1 * gi;
    const float vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
    p[i] = pi + s.neg_step_size * mi / denom;
  }
}

// The optimizer's state map: keyed by the printed TensorImpl address in LibTorch 1.x, by the address itself in 2.x.
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;

// (A template, so that the branch for the other LibTorch is discarded.)
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream s;  // what 1.x's c10::guts::to_string does
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

template <typename Options>
void fused_step(std::vector<torch::optim::OptimizerParamGroup>& groups, StateMap& states, bool decoupled) {
  for (auto& group : groups) {
    auto& o = static_cast<Options&>(group.options());
    if (o.amsgrad()) fail("INVALID_ARGUMENT", "the fused Adam does not implement amsgrad");
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& grad = p.grad();
      if (p.scalar_type() != torch::kFloat32 || !p.is_cpu() || !p.is_contiguous() || grad.scalar_type() != torch::kFloat32 ||
          !grad.is_cpu() || !grad.is_contiguous() || grad.numel() != p.numel()) {
        fail("INTERNAL", "the fused Adam needs contiguous float32 CPU parameters and gradients");
      }
      const auto key = state_key<StateMap>(p);
      auto found = states.find(key);
      if (found == states.end()) {  // torch's lazy initialisation, same state type
        auto state = std::make_unique<torch::optim::AdamParamState>();
        state->step(0);
        state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(state)).first;
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*found->second);
      state.step(state.step() + 1);
      const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      AdamStep s;
      s.l2 = decoupled ? 0.0f : static_cast<float>(o.weight_decay());
      s.decay = decoupled && o.weight_decay() != 0 ? static_cast<float>(1 - o.lr() * o.weight_decay()) : 1.0f;
      s.beta1 = static_cast<float>(beta1);
      s.one_minus_beta1 = static_cast<float>(1 - beta1);
      s.beta2 = static_cast<float>(beta2);
      s.one_minus_beta2 = static_cast<float>(1 - beta2);
      s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      s.eps = static_cast<float>(o.eps());
      s.neg_step_size = static_cast<float>(-(o.lr() / bias_correction1));
      auto& m = state.exp_avg();
      auto& v = state.exp_avg_sq();
      if (!m.is_contiguous() || !v.is_contiguous() || m.numel() != p.numel() || v.numel() != p.numel()) {
        fail("INTERNAL", "the fused Adam's moments do not match their parameter");
      }
      adam_sweep(p.data_ptr<float>(), grad.data_ptr<float>(), m.data_ptr<float>(), v.data_ptr<float>(), p.numel(), s);
    }
  }
}

torch::Tensor closure_loss(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  at::AutoGradMode enable(true);
  return closure();
}

}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  auto loss = closure_loss(closure);
  torch::NoGradGuard no_grad;
  fused_step<torch::optim::AdamOptions>(param_groups_, state_, /*decoupled=*/false);
  return loss;
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  auto loss = closure_loss(closure);
  torch::NoGradGuard no_grad;
  fused_step<torch::optim::AdamWOptions>(param_groups_, state_, /*decoupled=*/true);
  return loss;
}

}  // namespace torchnas
