#include "batch_norm_train.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "../errors.h"
#include "kernel_choice.h"
#include "simd_clones.h"

namespace torchnas {

namespace {

// Elements per block of whole channels: the block's per-element sums and coefficients (a few arrays of this
// length) stay in L1/L2 while the batch streams through. A plane larger than this is a block of one channel.
constexpr int64_t kBlockElems = 4096;

struct Layout {
  int64_t n, c, s;   // batch, channels, H·W
  int64_t per;       // channels per block
  int64_t blocks;
  int64_t cs() const { return c * s; }
  int64_t first(int64_t b) const { return b * per; }
  int64_t count(int64_t b) const { return std::min(per, c - b * per); }
};

Layout layout_of(const torch::Tensor& x) {
  Layout l{x.size(0), x.size(1), x.size(2) * x.size(3), 1, 0};
  l.per = std::max<int64_t>(1, std::min<int64_t>(l.c, kBlockElems / std::max<int64_t>(1, l.s)));
  // At least one block per intra-op thread where there are channels enough (the blocking does not change the
  // result: every channel's sums run in the same order whatever block it is in).
  const int64_t threads = at::get_num_threads();
  if (threads > 1) l.per = std::max<int64_t>(1, std::min(l.per, (l.c + threads - 1) / threads));
  l.blocks = (l.c + l.per - 1) / l.per;
  return l;
}

// The elementwise loops (vectorised per simd_clones.h).
TORCHNAS_CLONES void add_to(float* acc, const float* x, int64_t len) {
  for (int64_t i = 0; i < len; ++i) acc[i] += x[i];
}

TORCHNAS_CLONES void add_squared_deviation(float* acc, const float* x, const float* mean, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const float d = x[i] - mean[i];
    acc[i] += d * d;
  }
}

TORCHNAS_CLONES void normalize(float* y, const float* x, const float* a, const float* b, int64_t len, BnActivation act) {
  if (act == BnActivation::kNone) {
    for (int64_t i = 0; i < len; ++i) y[i] = x[i] * a[i] + b[i];
  } else if (act == BnActivation::kRelu) {
    for (int64_t i = 0; i < len; ++i) {
      const float v = x[i] * a[i] + b[i];
      y[i] = v < 0.f ? 0.f : v;  // NaN stays NaN, as torch::relu
    }
  } else {
    for (int64_t i = 0; i < len; ++i) {
      float v = x[i] * a[i] + b[i];
      v = v < 0.f ? 0.f : v;
      y[i] = v > 6.f ? 6.f : v;
    }
  }
}

// The gradient reaching the batch norm's output is dy where the activation passed it (PyTorch's masks:
// ReLU y > 0, ReLU6 0 < y < 6). One loop per activation, so each vectorises on its own.
TORCHNAS_CLONES void gradient_sums(float* s1, float* s2, const float* dy, const float* y, const float* x, const float* mean, int64_t len, BnActivation act) {
  if (act == BnActivation::kNone) {
    for (int64_t i = 0; i < len; ++i) {
      s1[i] += dy[i];
      s2[i] += dy[i] * (x[i] - mean[i]);
    }
  } else if (act == BnActivation::kRelu) {
    for (int64_t i = 0; i < len; ++i) {
      const float g = y[i] > 0.f ? dy[i] : 0.f;
      s1[i] += g;
      s2[i] += g * (x[i] - mean[i]);
    }
  } else {
    for (int64_t i = 0; i < len; ++i) {
      const float g = (y[i] > 0.f) & (y[i] < 6.f) ? dy[i] : 0.f;
      s1[i] += g;
      s2[i] += g * (x[i] - mean[i]);
    }
  }
}

TORCHNAS_CLONES void input_gradient(float* dx, const float* dy, const float* y, const float* x, const float* k1, const float* kx, const float* k0,
                                    int64_t len, BnActivation act) {
  if (act == BnActivation::kNone) {
    for (int64_t i = 0; i < len; ++i) dx[i] = k1[i] * dy[i] + kx[i] * x[i] + k0[i];
  } else if (act == BnActivation::kRelu) {
    for (int64_t i = 0; i < len; ++i) dx[i] = k1[i] * (y[i] > 0.f ? dy[i] : 0.f) + kx[i] * x[i] + k0[i];
  } else {
    for (int64_t i = 0; i < len; ++i) dx[i] = k1[i] * ((y[i] > 0.f) & (y[i] < 6.f) ? dy[i] : 0.f) + kx[i] * x[i] + k0[i];
  }
}

// Per-channel double totals of a block's per-element sums.
void channel_totals(const std::vector<float>& acc, int64_t channels, int64_t s, double* out) {
  for (int64_t ch = 0; ch < channels; ++ch) {
    double t = 0;
    for (int64_t i = 0; i < s; ++i) t += acc[ch * s + i];
    out[ch] = t;
  }
}

void expand(std::vector<float>& to, const double* per_channel, int64_t channels, int64_t s) {
  for (int64_t ch = 0; ch < channels; ++ch) std::fill(to.begin() + ch * s, to.begin() + (ch + 1) * s, static_cast<float>(per_channel[ch]));
}

// Batch mean and biased variance per channel (two passes: mean, then squared deviations).
void batch_statistics(const torch::Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const auto l = layout_of(x);
  const float* xp = x.data_ptr<float>();
  const double m = static_cast<double>(l.n * l.s);
  mean.assign(l.c, 0);
  var.assign(l.c, 0);
  at::parallel_for(0, l.blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t c0 = l.first(b), nc = l.count(b), len = nc * l.s, off = c0 * l.s;
      std::vector<float> acc(len, 0.f), mean_e(len);
      for (int64_t i = 0; i < l.n; ++i) add_to(acc.data(), xp + i * l.cs() + off, len);
      channel_totals(acc, nc, l.s, mean.data() + c0);
      for (int64_t ch = 0; ch < nc; ++ch) mean[c0 + ch] /= m;
      expand(mean_e, mean.data() + c0, nc, l.s);
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t i = 0; i < l.n; ++i) add_squared_deviation(acc.data(), xp + i * l.cs() + off, mean_e.data(), len);
      channel_totals(acc, nc, l.s, var.data() + c0);
      for (int64_t ch = 0; ch < nc; ++ch) var[c0 + ch] /= m;
    }
  });
}

// y = act((x − mean)·invstd·γ + β) given the batch's own mean and invstd; backward is batch norm's in training
// mode (the statistics' dependence on x included), so mean and invstd must be x's.
struct BnActFunction : public torch::autograd::Function<BnActFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& mean, const torch::Tensor& invstd, BnActivation act) {
    const auto l = layout_of(x);
    auto y = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const double* mp = mean.data_ptr<double>();
    const double* ip = invstd.data_ptr<double>();
    const auto w = weight.numel() ? weight.detach().to(torch::kFloat64).contiguous() : torch::Tensor();
    const auto bb = bias.numel() ? bias.detach().to(torch::kFloat64).contiguous() : torch::Tensor();
    const double* wp = w.defined() ? w.data_ptr<double>() : nullptr;
    const double* bp = bb.defined() ? bb.data_ptr<double>() : nullptr;
    at::parallel_for(0, l.blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t c0 = l.first(b), nc = l.count(b), len = nc * l.s, off = c0 * l.s;
        std::vector<double> a(nc), shift(nc);
        for (int64_t ch = 0; ch < nc; ++ch) {
          a[ch] = ip[c0 + ch] * (wp ? wp[c0 + ch] : 1.0);
          shift[ch] = (bp ? bp[c0 + ch] : 0.0) - mp[c0 + ch] * a[ch];
        }
        std::vector<float> a_e(len), b_e(len);
        expand(a_e, a.data(), nc, l.s);
        expand(b_e, shift.data(), nc, l.s);
        for (int64_t i = 0; i < l.n; ++i) normalize(yp + i * l.cs() + off, xp + i * l.cs() + off, a_e.data(), b_e.data(), len, act);
      }
    });
    ctx->save_for_backward({x, act == BnActivation::kNone ? torch::Tensor() : y, weight, mean, invstd});
    ctx->saved_data["act"] = static_cast<int64_t>(act);
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& y = saved[1];
    const auto& weight = saved[2];
    const auto& mean = saved[3];
    const auto& invstd = saved[4];
    const auto act = static_cast<BnActivation>(ctx->saved_data["act"].toInt());
    const auto dy = grads[0].contiguous();
    const auto l = layout_of(x);
    const double m = static_cast<double>(l.n * l.s);
    const bool affine = weight.numel() > 0;  // empty weight and bias: a non-affine norm
    const bool want_x = ctx->needs_input_grad(0), want_w = affine && ctx->needs_input_grad(1), want_b = affine && ctx->needs_input_grad(2);
    torch::Tensor dx = want_x ? torch::empty_like(x) : torch::Tensor();
    std::vector<double> sum_g(l.c), sum_gx(l.c);  // Σ g and Σ g·(x − mean) per channel
    const float* xp = x.data_ptr<float>();
    const float* yp = act == BnActivation::kNone ? nullptr : y.data_ptr<float>();
    const float* dyp = dy.data_ptr<float>();
    float* dxp = want_x ? dx.data_ptr<float>() : nullptr;
    const double* mp = mean.data_ptr<double>();
    const double* ip = invstd.data_ptr<double>();
    const auto w = affine ? weight.detach().to(torch::kFloat64).contiguous() : torch::Tensor();
    const double* wp = affine ? w.data_ptr<double>() : nullptr;
    at::parallel_for(0, l.blocks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t c0 = l.first(b), nc = l.count(b), len = nc * l.s, off = c0 * l.s;
        std::vector<float> mean_e(len), s1(len, 0.f), s2(len, 0.f);
        expand(mean_e, mp + c0, nc, l.s);
        for (int64_t i = 0; i < l.n; ++i) {
          gradient_sums(s1.data(), s2.data(), dyp + i * l.cs() + off, yp ? yp + i * l.cs() + off : nullptr, xp + i * l.cs() + off, mean_e.data(), len, act);
        }
        channel_totals(s1, nc, l.s, sum_g.data() + c0);
        channel_totals(s2, nc, l.s, sum_gx.data() + c0);
        if (!dxp) continue;
        // dx = γ·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M) = k1·g + kx·x + k0, x̂ = (x − mean)·invstd.
        std::vector<double> k1(nc), kx(nc), k0(nc);
        for (int64_t ch = 0; ch < nc; ++ch) {
          const int64_t c = c0 + ch;
          const double inv = ip[c];
          k1[ch] = (wp ? wp[c] : 1.0) * inv;
          kx[ch] = -k1[ch] * inv * inv * sum_gx[c] / m;
          k0[ch] = -k1[ch] * sum_g[c] / m - kx[ch] * mp[c];
        }
        std::vector<float> k1_e(len), kx_e(len), k0_e(len);
        expand(k1_e, k1.data(), nc, l.s);
        expand(kx_e, kx.data(), nc, l.s);
        expand(k0_e, k0.data(), nc, l.s);
        for (int64_t i = 0; i < l.n; ++i) {
          input_gradient(dxp + i * l.cs() + off, dyp + i * l.cs() + off, yp ? yp + i * l.cs() + off : nullptr, xp + i * l.cs() + off, k1_e.data(),
                         kx_e.data(), k0_e.data(), len, act);
        }
      }
    });
    torch::Tensor dw, db;
    if (want_w) {
      auto t = torch::empty({l.c}, torch::kFloat64);
      auto* tp = t.data_ptr<double>();
      for (int64_t c = 0; c < l.c; ++c) tp[c] = sum_gx[c] * ip[c];  // Σ g·x̂
      dw = t.to(weight.scalar_type());
    }
    if (want_b) db = torch::tensor(sum_g, torch::kFloat64).to(x.scalar_type());
    return {dx, dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

torch::Tensor activate(const torch::Tensor& y, BnActivation activation) {
  switch (activation) {
    case BnActivation::kNone: return y;
    case BnActivation::kRelu: return torch::relu(y);
    case BnActivation::kRelu6: return torch::hardtanh(y, 0.0, 6.0);
  }
  return y;
}

}  // namespace

torch::Tensor batch_norm_act(torch::nn::BatchNorm2d& bn, const torch::Tensor& input, BnActivation activation) {
  const auto& o = bn->options;
  const bool fast = bn->is_training() && o.track_running_stats() && bn->running_mean.defined() && input.dim() == 4 && input.device().is_cpu() &&
                    input.scalar_type() == torch::kFloat32 && input.size(1) == o.num_features() &&
                    (!bn->weight.defined() || bn->weight.scalar_type() == torch::kFloat32) && bn->running_mean.scalar_type() == torch::kFloat32 &&
                    !kernel_forced_to("batch_norm_train", "aten");
  if (!fast) return activate(bn->forward(input), activation);
  const auto x = input.contiguous();
  const int64_t values = x.size(0) * x.size(2) * x.size(3);
  if (values < 2) fail("INVALID_ARGUMENT", "batch norm in training mode needs more than one value per channel, got input " + c10::str(x.sizes()));
  std::vector<double> mean, var;
  batch_statistics(x, mean, var);
  torch::Tensor mean_t = torch::tensor(mean, torch::kFloat64), invstd_t = torch::empty({x.size(1)}, torch::kFloat64);
  {
    auto* ip = invstd_t.data_ptr<double>();
    for (size_t c = 0; c < var.size(); ++c) ip[c] = 1.0 / std::sqrt(var[c] + o.eps());
  }
  {
    // The module's bookkeeping, as BatchNormImplBase::forward and ATen's batch_norm do it in training mode.
    torch::NoGradGuard no_grad;
    double momentum = 0;
    if (bn->num_batches_tracked.defined()) bn->num_batches_tracked.add_(1);
    if (o.momentum().has_value()) momentum = *o.momentum();
    else momentum = bn->num_batches_tracked.defined() ? 1.0 / bn->num_batches_tracked.item<double>() : 0.0;
    const double unbias = static_cast<double>(values) / static_cast<double>(values - 1);
    auto unbiased = torch::tensor(var, torch::kFloat64).mul_(unbias).to(torch::kFloat32);
    bn->running_mean.mul_(1 - momentum).add_(mean_t.to(torch::kFloat32), momentum);
    bn->running_var.mul_(1 - momentum).add_(unbiased, momentum);
  }
  // LibTorch 1.13's Function::apply cannot take undefined tensors: a non-affine norm passes empty ones.
  const auto none = torch::empty({0}, x.options());
  return BnActFunction::apply(x, bn->weight.defined() ? bn->weight : none, bn->bias.defined() ? bn->bias : none, mean_t, invstd_t, activation);
}

}  // namespace torchnas
