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

}  // namespace torchnas
