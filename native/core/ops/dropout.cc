#include "dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>
#include <mutex>

#include "../errors.h"
#include "simd_clones.h"

namespace torchnas {

namespace {

using MaskKey = DropoutMask;

// Two rounds with independent keys, so different keys give unrelated masks (one round of hash(i + key) would
// give shifted copies of one sequence). Elementwise in 32-bit integers: vectorises per simd_clones.h.
TORCHNAS_CLONES void apply_mask(float* out, const float* in, int64_t begin, int64_t end, MaskKey k) {
  const uint32_t inner = k.inner ^ dropout_mix32(k.high ^ static_cast<uint32_t>(static_cast<uint64_t>(begin) >> 32));
  const uint32_t base = static_cast<uint32_t>(begin);
  const int64_t len = end - begin;
  for (int64_t j = 0; j < len; ++j) {
    const uint32_t h = dropout_mix32(dropout_mix32((base + static_cast<uint32_t>(j)) ^ inner) ^ k.outer);
    out[j] = in[j] * (h < k.threshold ? k.scale : 0.f);  // x · mask, as ATen: NaN stays NaN
  }
}

// Runs apply_mask over [0, n) in chunks of 2^15 elements. A chunk starts at a multiple of 2^15, so it never
// straddles a multiple of 2^32 (where apply_mask's `inner` changes): one call per chunk is exact.
void masked_copy(float* out, const float* in, int64_t n, const MaskKey& k) {
  constexpr int64_t kGrain = 1 << 15;
  static_assert((int64_t(1) << 32) % kGrain == 0, "chunks must not straddle a multiple of 2^32");
  at::parallel_for(0, (n + kGrain - 1) / kGrain, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const int64_t b = c * kGrain;
      apply_mask(out + b, in + b, b, std::min(n, b + kGrain), k);
    }
  });
}

}  // namespace

MaskKey dropout_mask(uint64_t key, double p) {
  MaskKey k;
  k.inner = dropout_mix32(static_cast<uint32_t>(key));
  k.outer = dropout_mix32(static_cast<uint32_t>(key >> 32) ^ 0x9E3779B9U);
  k.high = dropout_mix32(k.inner ^ k.outer);
  const double keep = 1.0 - p;
  k.threshold = keep >= 1.0 ? 0xFFFFFFFFU : static_cast<uint32_t>(std::floor(keep * 4294967296.0));
  k.scale = 1.0f / static_cast<float>(keep);
  return k;
}

uint64_t draw_dropout_key(at::Generator& gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

void apply_dropout_mask(float* out, const float* in, int64_t begin, int64_t end, const DropoutMask& m) {
  constexpr int64_t kSpan = int64_t(1) << 32;  // apply_mask's `inner` changes at multiples of 2^32
  while (begin < end) {
    const int64_t stop = std::min(end, (begin / kSpan + 1) * kSpan);
    apply_mask(out, in, begin, stop, m);
    out += stop - begin;
    in += stop - begin;
    begin = stop;
  }
}

namespace {

struct HashedDropoutFunction : public torch::autograd::Function<HashedDropoutFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double p, int64_t key) {
    auto in = x.contiguous();
    auto out = torch::empty_like(in);
    masked_copy(out.data_ptr<float>(), in.data_ptr<float>(), in.numel(), dropout_mask(static_cast<uint64_t>(key), p));
    ctx->saved_data["p"] = p;
    ctx->saved_data["key"] = key;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto key = static_cast<uint64_t>(ctx->saved_data["key"].toInt());
    auto g = grads[0].contiguous();
    auto dx = torch::empty_like(g);
    masked_copy(dx.data_ptr<float>(), g.data_ptr<float>(), g.numel(), dropout_mask(key, p));
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor hashed_dropout(const torch::Tensor& x, double p, at::Generator& gen) {
  if (!(p >= 0 && p < 1)) fail("INVALID_ARGUMENT", "dropout probability must be in [0, 1), got " + std::to_string(p));
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32) {
    // Another device or dtype: the CPU path's mask (same key from the same CPU generator, same element indices),
    // built on the CPU and moved over, so a CUDA run drops exactly the elements a CPU run with the same seed drops.
    const uint64_t key = draw_dropout_key(gen);
    auto ones = torch::ones({x.numel()}, torch::kFloat32);
    auto mask = torch::empty_like(ones);
    masked_copy(mask.data_ptr<float>(), ones.data_ptr<float>(), ones.numel(), dropout_mask(key, p));
    return x * mask.view(x.sizes()).to(x.device(), x.scalar_type());
  }
  const uint64_t key = draw_dropout_key(gen);
  return HashedDropoutFunction::apply(x, p, static_cast<int64_t>(key));
}

}  // namespace torchnas
