#include "nar_ranker.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <string>

#include "../errors.h"
#include "../ops/attention.h"
#include "../ops/dropout.h"
#include "../ops/gemm.h"
#include "../ops/kernel_choice.h"

namespace torchnas {

namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)); }
torch::nn::LayerNorm layer_norm(int64_t d) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-6)); }

// The fixed sinusoid table: even dims sin(pos / 10000^(2i/d)), odd dims cos (computed in double).
torch::Tensor sinusoid_table(int64_t n_position, int64_t d) {
  auto t = torch::empty({n_position, d}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (int64_t pos = 0; pos < n_position; ++pos) {
    for (int64_t j = 0; j < d; ++j) {
      const double angle = static_cast<double>(pos) / std::pow(10000.0, 2.0 * static_cast<double>(j / 2) / static_cast<double>(d));
      a[pos][j] = (j % 2 == 0) ? std::sin(angle) : std::cos(angle);
    }
  }
  return t.to(torch::kFloat32);
}

// Every Linear of the ranker runs on ops/gemm.h (oneDNN's sgemm where LibTorch ships it): the same
// y = x·wᵀ + b as the module's forward, on the module's own parameters.
torch::Tensor lin(const torch::nn::Linear& m, const torch::Tensor& x) { return fast_linear(x, m->weight, m->bias); }

}  // namespace

void NarRankerOptions::validate() const {
  auto check = [](int64_t v, int64_t lo, int64_t hi, const char* name) {
    if (v < lo || v > hi) fail("INVALID_ARGUMENT", std::string("ranker option ") + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
  };
  check(n_patch, 1, 4096, "nPatch");
  check(patch_len, 1, 65536, "patchLen");
  check(d_model, 1, 8192, "dModel");
  check(d_inner, 1, 65536, "dInner");
  check(n_layers, 0, 64, "nLayers");
  check(n_head, 1, 256, "nHead");
  check(d_k, 1, 4096, "dK");
  check(d_v, 1, 4096, "dV");
  check(d_tier_inner, 1, 65536, "dTierInner");
  check(d_score_inner, 1, 65536, "dScoreInner");
  check(n_tier, 2, 64, "nTier");
  check(n_position, n_patch, 1 << 20, "nPosition (>= nPatch)");
  if (!(dropout >= 0 && dropout < 1)) fail("INVALID_ARGUMENT", "ranker option dropout must be in [0, 1), got " + std::to_string(dropout));
}

NarAttentionImpl::NarAttentionImpl(int64_t d_model, int64_t heads, int64_t dk, int64_t dv) : n_head(heads), d_k(dk), d_v(dv) {
  w_qs = register_module("w_qs", linear(d_model, heads * dk, false));
  w_ks = register_module("w_ks", linear(d_model, heads * dk, false));
  w_vs = register_module("w_vs", linear(d_model, heads * dv, false));
  fc = register_module("fc", linear(heads * dv, d_model, false));
  layer_norm = register_module("layer_norm", torchnas::layer_norm(d_model));
}

NarFeedForwardImpl::NarFeedForwardImpl(int64_t d_model, int64_t d_inner) {
  w_1 = register_module("w_1", linear(d_model, d_inner, true));
  w_2 = register_module("w_2", linear(d_inner, d_model, true));
  layer_norm = register_module("layer_norm", torchnas::layer_norm(d_model));
}

NarEncoderLayerImpl::NarEncoderLayerImpl(const NarRankerOptions& o) {
  slf_attn = register_module("slf_attn", NarAttention(o.d_model, o.n_head, o.d_k, o.d_v));
  pos_ffn = register_module("pos_ffn", NarFeedForward(o.d_model, o.d_inner));
}

NarDecoderLayerImpl::NarDecoderLayerImpl(const NarRankerOptions& o) {
  slf_attn = register_module("slf_attn", NarAttention(o.d_model, o.n_head, o.d_k, o.d_v));
  enc_attn = register_module("enc_attn", NarAttention(o.d_model, o.n_head, o.d_k, o.d_v));
  pos_ffn = register_module("pos_ffn", NarFeedForward(o.d_model, o.d_inner));
}

NarRankerImpl::NarRankerImpl(const NarRankerOptions& o, uint64_t seed) : options_(o) {
  o.validate();
  src_prj = register_module("src_prj", linear(o.patch_len, o.d_model, true));
  trg_prj = register_module("trg_prj", linear(o.d_model, o.d_model, true));
  enc_norm = register_module("enc_norm", layer_norm(o.d_model));
  enc_layers = register_module("enc_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.n_layers; ++i) enc_layers->push_back(NarEncoderLayer(o));
  dec_norm = register_module("dec_norm", layer_norm(o.d_model));
  dec_layers = register_module("dec_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.n_layers; ++i) dec_layers->push_back(NarDecoderLayer(o));
  const int64_t flat = o.n_patch * o.d_model;
  score_fc1 = register_module("score_fc1", linear(flat, o.d_score_inner, true));
  score_fc2 = register_module("score_fc2", linear(o.d_score_inner, 1, true));
  tier_fc1 = register_module("tier_fc1", linear(flat, o.d_tier_inner, false));
  tier_fc2 = register_module("tier_fc2", linear(o.d_tier_inner, o.n_tier, true));
  pos_table_ = register_buffer("pos_table", sinusoid_table(o.n_position, o.d_model));

  // Initialisation from our own generator, in named_parameters order: Xavier-uniform (gain 1) for
  // matrices, U(±1/√fan_in) for Linear biases (PyTorch's default), LayerNorm weight 1 / bias 0.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  torch::Tensor last_weight;
  for (auto& item : named_parameters(true)) {
    auto& p = item.value();
    const std::string& name = item.key();
    const bool is_norm = name.find("layer_norm") != std::string::npos || name.rfind("enc_norm", 0) == 0 || name.rfind("dec_norm", 0) == 0;
    if (p.dim() >= 2) {
      const double fan_out = static_cast<double>(p.size(0)), fan_in = static_cast<double>(p.size(1));
      const double bound = std::sqrt(6.0 / (fan_in + fan_out));
      p.uniform_(-bound, bound, gen);
      last_weight = p;
    } else if (is_norm) {
      if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) p.fill_(1.0);
      else p.zero_();
    } else {
      // A Linear bias follows its weight in named_parameters order.
      const double bound = 1.0 / std::sqrt(static_cast<double>(last_weight.size(1)));
      p.uniform_(-bound, bound, gen);
    }
  }
}

torch::Tensor NarRankerImpl::drop(const torch::Tensor& x, at::Generator* gen) {
  const double p = options_.dropout;
  if (!is_training() || p == 0) return x;
  if (!gen) fail("INTERNAL", "the ranker's training-mode forward needs a generator for dropout");
  return hashed_dropout(x, p, *gen);
}

// softmax(q kᵀ / √d_k) → dropout → · v: the fused kernel (ops/attention.h) unless TORCHNAS_KERNELS forces
// attention=aten or the tensors are outside it (not CPU float32, other head widths or token counts); both draw
// the dropout's key at the same point of the generator's stream and mask the same element indices, so they agree
// to float rounding.
torch::Tensor NarRankerImpl::attend(NarAttentionImpl& a, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    at::Generator* gen) {
  const double p = is_training() ? options_.dropout : 0.0;
  if (p > 0 && !gen) fail("INTERNAL", "the ranker's training-mode forward needs a generator for dropout");
  at::Generator* g = p > 0 ? gen : nullptr;
  if (fused_attention_supported(q, k, v, a.n_head) && !kernel_forced_to("attention", "aten")) {
    return fused_attention(q, k, v, a.n_head, p, g);
  }
  return aten_attention(q, k, v, a.n_head, p, g);
}

torch::Tensor NarRankerImpl::self_attention(NarAttentionImpl& a, const torch::Tensor& x, at::Generator* gen) {
  // q, k, v in this order (not as call arguments, whose order is unspecified): autograd sums their gradients
  // into x in the order the nodes were made, so the order fixes the rounding.
  auto q = lin(a.w_qs, x), k = lin(a.w_ks, x), v = lin(a.w_vs, x);
  auto out = attend(a, q.unsqueeze(0), k, v, gen).squeeze(0);  // [N, P, H·d_v]
  out = drop(lin(a.fc, out), gen);
  return a.layer_norm(out + x);
}

torch::Tensor NarRankerImpl::cross_attention(NarAttentionImpl& a, const torch::Tensor& y, const torch::Tensor& enc, at::Generator* gen) {
  // y [T, Bq, P, D]; enc [B, P, D]. Keys/values once per layer, shared by the T tier passes, whose queries are
  // the attention's T groups → [T, B, P, H·d_v].
  auto q = lin(a.w_qs, y), k = lin(a.w_ks, enc), v = lin(a.w_vs, enc);  // in this order, as in self_attention
  auto out = attend(a, q, k, v, gen);
  out = drop(lin(a.fc, out), gen);
  return a.layer_norm(out + y);  // the residual broadcasts a batch-1 query over B
}

torch::Tensor NarRankerImpl::feed_forward(NarFeedForwardImpl& f, const torch::Tensor& x, at::Generator* gen) {
  auto out = drop(lin(f.w_2, torch::relu(lin(f.w_1, x))), gen);
  return f.layer_norm(out + x);
}

torch::Tensor NarRankerImpl::encode(const torch::Tensor& src, at::Generator* gen) {
  const auto& o = options_;
  const int64_t b = src.size(0);
  if (src.numel() != b * o.n_patch * o.patch_len) {
    fail("SHAPE_MISMATCH", "ranker input must hold B × " + std::to_string(o.n_patch) + " × " + std::to_string(o.patch_len) +
                               " values (B = " + std::to_string(b) + "), got " + std::to_string(src.numel()));
  }
  auto x = lin(src_prj, src.reshape({b, o.n_patch, o.patch_len}));
  x = drop(x, gen) + pos_table_.narrow(0, 0, o.n_patch);
  x = enc_norm(x);
  for (const auto& m : *enc_layers) {
    auto& layer = *m->as<NarEncoderLayerImpl>();
    x = self_attention(*layer.slf_attn, x, gen);
    x = feed_forward(*layer.pos_ffn, x, gen);
  }
  return x;
}

torch::Tensor NarRankerImpl::score(const torch::Tensor& enc) {
  return lin(score_fc2, torch::relu(lin(score_fc1, enc.flatten(1))));
}

torch::Tensor NarRankerImpl::tier_logits(const torch::Tensor& enc, const torch::Tensor& trg, at::Generator* gen) {
  const auto& o = options_;
  if (trg.dim() != 3 || trg.size(1) != o.n_patch || trg.size(2) != o.d_model) {
    fail("SHAPE_MISMATCH", "tier embeddings must be [T, " + std::to_string(o.n_patch) + ", " + std::to_string(o.d_model) + "]");
  }
  const int64_t t = trg.size(0), b = enc.size(0);
  auto y = lin(trg_prj, trg);
  y = drop(y, gen) + pos_table_.narrow(0, 0, o.n_patch);
  y = dec_norm(y).unsqueeze(1);  // [T, 1, P, D]
  for (const auto& m : *dec_layers) {
    auto& layer = *m->as<NarDecoderLayerImpl>();
    const int64_t bq = y.size(1);
    y = self_attention(*layer.slf_attn, y.reshape({t * bq, o.n_patch, o.d_model}), gen).view({t, bq, o.n_patch, o.d_model});
    y = cross_attention(*layer.enc_attn, y, enc, gen);
    y = feed_forward(*layer.pos_ffn, y, gen);
  }
  if (y.size(1) != b) y = y.expand({t, b, o.n_patch, o.d_model});  // no decoder layers: the query stays batch 1
  auto summed = y.sum(0);  // the T tier passes summed → [B, P, D]
  auto logits = lin(tier_fc2, torch::relu(lin(tier_fc1, summed.flatten(1))));
  if (o.scale_prj) logits = logits * std::pow(static_cast<double>(o.d_model), -0.5);
  return logits;
}

NarForward NarRankerImpl::forward(const torch::Tensor& src, const torch::Tensor& trg, at::Generator* gen) {
  NarForward f;
  f.enc = encode(src, gen);
  f.score = score(f.enc);
  f.tier_logits = tier_logits(f.enc, trg, gen);
  return f;
}

}  // namespace torchnas
