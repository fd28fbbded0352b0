// Multi-head scaled dot-product attention as one fused CPU kernel (forward and backward), for NAR's ranker.
//
// Why: the ranker attends over 31 tokens with 4 heads of 32 (NB201) — 61 attention blocks per training step at
// batch 128 (6 encoder, 25 decoder self, 30 decoder cross). ATen runs each as head split copies, two batched
// matmuls of 512 tiny matrices (one OpenBLAS call each, ~16 GFLOPS at these shapes), a softmax pass, a dropout
// pass and a merge copy, and the backward as many again; that was ~20 % of a step. Here each (batch, head)
// block is computed in one pass in cache: scores, softmax, dropout (ops/dropout.h's hashed mask, the same
// element indices and key as dropout on the [B, H, G·Lq, Lk] probability tensor), and the weighted sum, written
// straight into the merged-heads layout the output projection reads. The backward recomputes the dropout mask
// from the key and saves only the probabilities (as ATen's softmax does).
//
// Same mathematics as the composition softmax((q / √d_k) · kᵀ) → dropout → · v (the ranker's ATen path, kept
// as `TORCHNAS_KERNELS=attention=aten` and for non-CPU or non-float32 tensors): equal to float rounding.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace torchnas {

// q [G, Bq, Lq, H·d_k] with Bq = 1 (one query broadcast over the batch) or B; k [B, Lk, H·d_k];
// v [B, Lk, H·d_v] (d_v = d_k). Returns [G, B, Lq, H·d_v]: for every g, b and head h, softmax(q_gbh k_bhᵀ / √d_k) v_bh with
// dropout p on the probabilities when `gen` is given and p > 0. Autograd-aware in q, k and v.
torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                              double p, at::Generator* gen);

// The same mathematics composed of ATen ops (head split, two batched matmuls, softmax, ops/dropout.h's
// hashed_dropout on the [B, H, G·Lq, Lk] probabilities, head merge): any device, type and shape, and the
// reference the fused kernel is tested against. Same arguments, same key drawn at the same point, same result
// to float rounding.
torch::Tensor aten_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                             double p, at::Generator* gen);

// True when fused_attention can run these tensors (CPU, float32, d_k = d_v ∈ {16, 32, 64}, at most 32 keys);
// the caller falls back to ATen otherwise.
bool fused_attention_supported(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads);

}  // namespace torchnas
