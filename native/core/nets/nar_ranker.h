// NAR's ranker (spec nar.md §4.1): a post-norm Transformer encoder–decoder over feature-tensor tokens.
// The encoder reads the architecture's tokens; the decoder runs once per tier with that tier's embedding
// (the bucket mean, batch 1) as its target sequence, cross-attending to the B encoder outputs; the tier
// passes' outputs are summed and fed to the tier head, the encoder output to the score head.
//
// Fast form with the same math: the 5 tier passes run as one batch [T, B, P, D] (T = tiers); the
// cross-attention keys/values of `enc` are projected once per decoder layer and shared by the tiers; a
// pass whose query is still batch 1 (the first decoder layer's self-attention) runs at batch T only;
// dropout does no work in eval mode. Dropout (ops/dropout.h: a hashed mask) draws its key from a caller's generator
// (the run's), never the global one.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <tuple>

namespace torchnas {

struct NarRankerOptions {
  int64_t n_patch = 31;       // tokens (NB201 31, NB101 19)
  int64_t patch_len = 16;     // values per token, d_patch² (NB201 16, NB101 49)
  int64_t d_model = 128;      // = d_patch_vec = d_word_vec
  int64_t d_inner = 512;      // FFN hidden
  int64_t n_layers = 6;       // encoder and decoder each
  int64_t n_head = 4;
  int64_t d_k = 32;           // = d_v
  int64_t d_v = 32;
  double dropout = 0.1;
  int64_t d_tier_inner = 256;   // tier head hidden (d_tier_prj_inner)
  int64_t d_score_inner = 1024; // score head hidden (d_val_acc_prj_inner)
  int64_t n_tier = 5;
  int64_t n_position = 200;
  bool scale_prj = true;        // tier logits × d_model^-0.5
  void validate() const;        // INVALID_ARGUMENT naming the bad field
};

// Multi-head attention sublayer: Q/K/V/O projections without bias, softmax(QKᵀ/√d_k), dropout on the
// probabilities and on the output, residual add, LayerNorm(eps 1e-6).
class NarAttentionImpl : public torch::nn::Module {
 public:
  NarAttentionImpl(int64_t d_model, int64_t n_head, int64_t d_k, int64_t d_v);
  torch::nn::Linear w_qs{nullptr}, w_ks{nullptr}, w_vs{nullptr}, fc{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  int64_t n_head, d_k, d_v;
};
TORCH_MODULE(NarAttention);

// Position-wise FFN sublayer: Linear(bias) → ReLU → Linear(bias) → dropout → residual → LayerNorm.
class NarFeedForwardImpl : public torch::nn::Module {
 public:
  NarFeedForwardImpl(int64_t d_model, int64_t d_inner);
  torch::nn::Linear w_1{nullptr}, w_2{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(NarFeedForward);

class NarEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit NarEncoderLayerImpl(const NarRankerOptions& o);
  NarAttention slf_attn{nullptr};
  NarFeedForward pos_ffn{nullptr};
};
TORCH_MODULE(NarEncoderLayer);

class NarDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit NarDecoderLayerImpl(const NarRankerOptions& o);
  NarAttention slf_attn{nullptr}, enc_attn{nullptr};
  NarFeedForward pos_ffn{nullptr};
};
TORCH_MODULE(NarDecoderLayer);

struct NarForward {
  torch::Tensor tier_logits;  // [B, n_tier]
  torch::Tensor enc;          // [B, P, D]
  torch::Tensor score;        // [B, 1] (val_acc_pred)
};

class NarRankerImpl : public torch::nn::Module {
 public:
  // Xavier-uniform for every parameter with ≥ 2 dims, PyTorch's default uniform for biases, LayerNorm 1/0;
  // all draws from a CPU generator seeded with `seed`.
  NarRankerImpl(const NarRankerOptions& options, uint64_t seed);

  // src [B, C, d, d] (or [B, P, patch_len]), trg [T, P, D] tier embeddings. gen: dropout's generator in
  // training mode (required then).
  NarForward forward(const torch::Tensor& src, const torch::Tensor& trg, at::Generator* gen = nullptr);
  // Encoder only → [B, P, D].
  torch::Tensor encode(const torch::Tensor& src, at::Generator* gen = nullptr);
  // Score head on encoder outputs → [B, 1].
  torch::Tensor score(const torch::Tensor& enc);
  // Decoder passes for every tier, summed, then the tier head → [B, n_tier].
  torch::Tensor tier_logits(const torch::Tensor& enc, const torch::Tensor& trg, at::Generator* gen = nullptr);

  const NarRankerOptions& options() const { return options_; }

  torch::nn::Linear src_prj{nullptr}, trg_prj{nullptr};
  torch::nn::LayerNorm enc_norm{nullptr}, dec_norm{nullptr};
  torch::nn::ModuleList enc_layers{nullptr}, dec_layers{nullptr};
  torch::nn::Linear score_fc1{nullptr}, score_fc2{nullptr}, tier_fc1{nullptr}, tier_fc2{nullptr};

 private:
  torch::Tensor drop(const torch::Tensor& x, at::Generator* gen);
  // softmax(q kᵀ / √d_k) → dropout → · v (ops/attention.h): q [G, Bq, Lq, H·d_k], k and v [B, Lk, H·d].
  torch::Tensor attend(NarAttentionImpl& a, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       at::Generator* gen);
  // Self-attention sublayer on x [N, P, D].
  torch::Tensor self_attention(NarAttentionImpl& a, const torch::Tensor& x, at::Generator* gen);
  // Cross-attention: queries y [T, Bq, P, D] (Bq = 1 or B), keys/values from enc [B, P, D] → [T, B, P, D].
  torch::Tensor cross_attention(NarAttentionImpl& a, const torch::Tensor& y, const torch::Tensor& enc, at::Generator* gen);
  torch::Tensor feed_forward(NarFeedForwardImpl& f, const torch::Tensor& x, at::Generator* gen);

  NarRankerOptions options_;
  torch::Tensor pos_table_;  // [n_position, D] buffer
};
TORCH_MODULE(NarRanker);

}  // namespace torchnas
