// Dropout whose mask is a counter-based hash of (element index, a key drawn from the caller's generator).
//
// Why: ATen's CPU dropout draws one 64-bit Mersenne-Twister number per element in a serial loop and makes
// three passes (bernoulli_, div_, mul) plus a saved float mask; in NAR's ranker (30 decoder and 6 encoder
// sublayers, ~3·10⁸ dropped elements per training step) that was ~10 % of a step. Here one key is drawn from
// the generator per call, the keep decision for element i is hash(i, key) < (1 − p)·2³², the forward is one
// vectorised pass and the backward recomputes the same mask from the key (nothing saved but the key), so the
// result depends only on the generator's state and the element's position: not on thread count or chunking.
// Same distribution as torch.nn.Dropout (keep with probability 1 − p, kept values scaled by 1/(1 − p)), a
// different random stream. CPU float32 only; anything else takes ATen's bernoulli mask (same generator).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace torchnas {

// Training-mode dropout of x with drop probability p in [0, 1); autograd-aware.
torch::Tensor hashed_dropout(const torch::Tensor& x, double p, at::Generator& gen);

// lowbias32 (Chris Wellons' hash-prospector): a 32-bit bijection with low avalanche bias. Element i of a mask is
// kept when dropout_mix32(dropout_mix32(uint32(i) ^ inner') ^ outer) < threshold, where
// inner' = inner ^ dropout_mix32(high ^ uint32(i >> 32)).
// A template so that kernels hashing eight lanes at once (GCC vectors of uint32_t, ops/attention.cc) share it.
template <class U = uint32_t>
inline U dropout_mix32(U x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct DropoutMask {
  uint32_t inner = 0, outer = 0, high = 0;  // from the 64-bit key; `high` separates indices past 2^32
  uint32_t threshold = 0;                   // keep when hash < threshold
  float scale = 1.f;                        // 1 / (1 − p) in float, as ATen's mask.div_(1 − p) computes it
};

// The mask itself, for kernels that fuse dropout into a larger loop (ops/attention.h): a key drawn from the
// generator exactly as hashed_dropout draws it, and `out[j] = in[j] · (element begin + j kept ? 1/(1 − p) : 0)`
// for j in [0, end − begin), the element index counted in the tensor the mask covers. `out` may equal `in`.
// hashed_dropout(x) equals applying this over [0, x.numel()) with one drawn key.
uint64_t draw_dropout_key(at::Generator& gen);
DropoutMask dropout_mask(uint64_t key, double p);
void apply_dropout_mask(float* out, const float* in, int64_t begin, int64_t end, const DropoutMask& m);

}  // namespace torchnas
