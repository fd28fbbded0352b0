// The predictor's fast training path: a hand-derived forward/backward over one flat parameter buffer.
//
// Why: the predictor is a 27-input MLP trained on batches of 128, 3200 steps. Through autograd each step
// is ~100 small ATen ops (forward, their backward nodes, zero_grad, torch's Adam with ~8 ops for each of
// the 22 parameters), and dispatch and per-op allocation cost more than the arithmetic. Here a step is 6
// GEMMs (the heads' hidden layers as one, since they share their input) plus fused loops for BatchNorm,
// activation, dropout, the small output layers and the loss, writing straight into the flat gradient that
// the fused Adam (fused_adam.h) consumes in one pass.
//
// The math is forward()'s in train mode; results agree with autograd to float rounding (test/ncp tests
// every parameter's gradient). Draws from the generator (dropout) happen through the same ATen call, in the
// same order, so a run consumes the generator exactly as the autograd path does.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../errors.h"
#include "mlp_predictor.h"

namespace torchnas {

struct MlpPredictorImpl::FastPath {
  torch::Tensor flat;
  // Offsets (in floats) into `flat`.
  int64_t in_w = 0, in_b = 0, trunk_w = 0, trunk_b = 0, trunk_nw = 0, trunk_nb = 0;
  int64_t hid_w = 0, hid_b = 0, hid_nw = 0, hid_nb = 0;  // all heads side by side
  std::vector<int64_t> out_w, out_b, out_col;            // per head; out_col: the head's first output column
  // Scratch of the last step, [rows × width] row-major; grown as needed, never shrunk.
  std::vector<float> xhat0, xn, xhat1, act1_d, d1, xhath, acth_d, dh, out, dout, dh_grad, d1_grad, dxn;
  std::vector<float> invstd0, invstd1, invstdh, mask, mean_f;
  std::vector<float> eval_trunk, eval_heads, eval_scratch, eval_scale, eval_shift;  // eval_forward_fast's
  std::vector<double> mean, var;
  std::vector<uint32_t> random_words;
  bool own_bernoulli = false;  // draw_bernoulli reproduces this LibTorch's bernoulli_ (checked once)
};

namespace {

float* at_offset(torch::Tensor& t, int64_t offset) { return t.data_ptr<float>() + offset; }

torch::Tensor blob(float* p, at::IntArrayRef sizes) { return at::from_blob(p, sizes, at::TensorOptions().dtype(at::kFloat)); }

// out [rows, cols] = a · b, through LibTorch's GEMM (the BLAS), written into caller-owned memory.
void gemm(float* out, int64_t rows, int64_t cols, const torch::Tensor& a, const torch::Tensor& b) {
  auto o = blob(out, {rows, cols});
  at::mm_out(o, a, b);
}

void ensure(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

// In place: z[i, :] += bias (the Linear's bias, added in front of its BatchNorm).
void add_bias(float* __restrict z, const float* __restrict bias, int64_t n, int64_t c) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) z[i * c + j] += bias[j];
  }
}

// Train-mode BatchNorm over the c columns of z [n, c]: writes x̂ = (z − μ)·invstd and y = γ·x̂ + β, and the
// batch mean and biased variance (accumulated in double, as ATen does for float) for the running stats.
// Written as branch-free loops over restrict pointers so they vectorize.
void batch_norm_forward(const float* __restrict z, int64_t n, int64_t c, const float* __restrict gamma, const float* __restrict beta,
                        double eps, float* __restrict xhat, float* __restrict y, float* __restrict invstd, std::vector<double>& mean_v,
                        std::vector<double>& var_v, std::vector<float>& mean_f) {
  mean_v.assign(static_cast<size_t>(c), 0.0);
  var_v.assign(static_cast<size_t>(c), 0.0);
  mean_f.resize(static_cast<size_t>(c));
  double* __restrict mean = mean_v.data();
  double* __restrict var = var_v.data();
  float* __restrict mf = mean_f.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) mean[j] += static_cast<double>(z[i * c + j]);
  }
  for (int64_t j = 0; j < c; ++j) {
    mean[j] /= static_cast<double>(n);
    mf[j] = static_cast<float>(mean[j]);
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const double d = static_cast<double>(z[i * c + j]) - mean[j];
      var[j] += d * d;
    }
  }
  for (int64_t j = 0; j < c; ++j) {
    var[j] /= static_cast<double>(n);
    invstd[j] = static_cast<float>(1.0 / std::sqrt(var[j] + eps));
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const float x = (z[i * c + j] - mf[j]) * invstd[j];
      xhat[i * c + j] = x;
      y[i * c + j] = x * gamma[j] + beta[j];
    }
  }
}

// PyTorch's running-stat update (momentum 0.1 form, unbiased variance) for the columns [c0, c0 + count).
void update_running(torch::nn::BatchNorm1d& bn, const std::vector<double>& mean, const std::vector<double>& var, int64_t c0,
                    int64_t count, int64_t n) {
  const auto& o = bn->options;
  if (!o.track_running_stats()) return;
  const double momentum = o.momentum().value_or(0.1);
  float* rm = bn->running_mean.data_ptr<float>();
  float* rv = bn->running_var.data_ptr<float>();
  const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
  for (int64_t j = 0; j < count; ++j) {
    rm[j] = static_cast<float>(momentum * mean[c0 + j] + (1 - momentum) * rm[j]);
    rv[j] = static_cast<float>(momentum * var[c0 + j] * unbias + (1 - momentum) * rv[j]);
  }
  *bn->num_batches_tracked.data_ptr<int64_t>() += 1;
}

// A Linear layer's bias gradient: the column sums of its output gradient dy [n, c], written (not added) to db.
void bias_backward(const float* __restrict dy, int64_t n, int64_t c, float* __restrict db) {
  std::memset(db, 0, sizeof(float) * static_cast<size_t>(c));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) db[j] += dy[i * c + j];
  }
}

// Train-mode BatchNorm backward: dγ = Σ dy·x̂, dβ = Σ dy, dz = γ·invstd/n · (n·dy − dβ − x̂·dγ), in place
// in dy (which becomes dz). dγ/dβ are written (not added).
void batch_norm_backward(float* __restrict dy, const float* __restrict xhat, const float* __restrict gamma, const float* __restrict invstd,
                         int64_t n, int64_t c, float* __restrict dgamma, float* __restrict dbeta, std::vector<double>& sum_dy_v,
                         std::vector<double>& sum_dy_xhat_v) {
  sum_dy_v.assign(static_cast<size_t>(c), 0.0);
  sum_dy_xhat_v.assign(static_cast<size_t>(c), 0.0);
  double* __restrict sum_dy = sum_dy_v.data();
  double* __restrict sum_dy_xhat = sum_dy_xhat_v.data();
  for (int64_t i = 0; i < n; ++i) {
    const float* d = dy + i * c;
    const float* x = xhat + i * c;
    for (int64_t j = 0; j < c; ++j) {
      sum_dy[j] += d[j];
      sum_dy_xhat[j] += static_cast<double>(d[j]) * x[j];
    }
  }
  for (int64_t j = 0; j < c; ++j) {
    dgamma[j] = static_cast<float>(sum_dy_xhat[j]);
    dbeta[j] = static_cast<float>(sum_dy[j]);
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    float* d = dy + i * c;
    const float* x = xhat + i * c;
    for (int64_t j = 0; j < c; ++j) {
      const float mean_dy = static_cast<float>(sum_dy[j] * inv_n), mean_dy_xhat = static_cast<float>(sum_dy_xhat[j] * inv_n);
      d[j] = gamma[j] * invstd[j] * (d[j] - mean_dy - x[j] * mean_dy_xhat);
    }
  }
}

// Σ a[j]·b[j] in 8 interleaved partial sums: a float reduction the compiler may then vectorize.
float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int q = 0; q < 8; ++q) acc[q] += a[j + q] * b[j + q];
  }
  float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

// ---- Dropout masks ----
// ATen's CPU bernoulli_(p) (LibTorch 1.13 without MKL) draws per element, in order, random64() = two
// outputs of the generator's MT19937 (first one high), and keeps u = (r mod 2^53)·2^−53 < p. Called per
// element through TensorIterator that costs ~20 ns a value, a quarter of a training step; the same draws in
// two tight passes over the engine's state (twist + temper, then compare) cost a few ns. Whether this
// LibTorch draws that way (an MKL build does not) is checked once (bernoulli_matches_aten); if not, ATen's
// own bernoulli_ is used.
constexpr int kMtN = 624, kMtM = 397;
constexpr uint32_t kMtMatrixA = 0x9908b0dfU, kMtUpper = 0x80000000U, kMtLower = 0x7fffffffU;

inline uint32_t mt_twist(uint32_t u, uint32_t v) { return (((u & kMtUpper) | (v & kMtLower)) >> 1) ^ ((v & 1U) ? kMtMatrixA : 0U); }

void mt_next_state(std::array<uint32_t, kMtN>& s) {
  for (int j = 0; j < kMtN - kMtM; ++j) s[j] = s[j + kMtM] ^ mt_twist(s[j], s[j + 1]);
  for (int j = kMtN - kMtM; j < kMtN - 1; ++j) s[j] = s[j + kMtM - kMtN] ^ mt_twist(s[j], s[j + 1]);
  s[kMtN - 1] = s[kMtM - 1] ^ mt_twist(s[kMtN - 1], s[0]);
}

// `count` Bernoulli(p) draws from `generator` as ATen's bernoulli_ makes them, written as `one` or 0.
void draw_bernoulli(at::Generator& generator, double p, float one, float* out, int64_t count, std::vector<uint32_t>& words) {
  auto* g = at::check_generator<at::CPUGeneratorImpl>(generator);
  std::lock_guard<std::mutex> lock(g->mutex_);
  at::mt19937 engine = g->engine();
  at::mt19937_data_pod d = engine.data();
  const int64_t total = 2 * count;
  if (static_cast<int64_t>(words.size()) < total) words.resize(static_cast<size_t>(total));
  // mt19937::operator() decrements left_ and twists when it reaches 0, then returns state_[next_++].
  for (int64_t done = 0; done < total;) {
    if (d.left_ == 1) {
      mt_next_state(d.state_);
      d.left_ = kMtN + 1;
      d.next_ = 0;
    }
    const int64_t take = std::min<int64_t>(d.left_ - 1, total - done);
    const uint32_t* __restrict src = d.state_.data() + d.next_;
    uint32_t* __restrict dst = words.data() + done;
    for (int64_t i = 0; i < take; ++i) {
      uint32_t y = src[i];
      y ^= (y >> 11);
      y ^= (y << 7) & 0x9d2c5680U;
      y ^= (y << 15) & 0xefc60000U;
      y ^= (y >> 18);
      dst[i] = y;
    }
    d.next_ += static_cast<uint32_t>(take);
    d.left_ -= static_cast<int>(take);
    done += take;
  }
  engine.set_data(d);
  g->set_engine(engine);
  // u = x·2^−53 with x = r mod 2^53 (exact in double), so u < p ⟺ x < ⌈p·2^53⌉ (p·2^53 is exact too): an
  // integer compare on the two words, x's high 21 bits in the first.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(p * 9007199254740992.0));
  const uint32_t t_hi = static_cast<uint32_t>(threshold >> 32), t_lo = static_cast<uint32_t>(threshold);
  const uint32_t* __restrict w = words.data();
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t hi = w[2 * i] & 0x1fffffU, lo = w[2 * i + 1];
    out[i] = (hi < t_hi || (hi == t_hi && lo < t_lo)) ? one : 0.0f;
  }
}

// Whether draw_bernoulli gives this LibTorch's bernoulli_ values and leaves the generator where it does.
bool bernoulli_matches_aten() {
  auto a = at::make_generator<at::CPUGeneratorImpl>(20231203), b = at::make_generator<at::CPUGeneratorImpl>(20231203);
  const int64_t n = 1000;  // 2000 engine outputs: crosses several twists
  auto expected = torch::empty({n}, torch::kFloat32).bernoulli_(0.3, a);
  std::vector<float> got(n);
  std::vector<uint32_t> words;
  draw_bernoulli(b, 0.3, 1.0f, got.data(), n, words);
  if (std::memcmp(expected.data_ptr<float>(), got.data(), sizeof(float) * n) != 0) return false;
  return torch::empty({4}, torch::kInt64).random_(a).equal(torch::empty({4}, torch::kInt64).random_(b));
}

// out[0, count) = op(in[0, count)) through an ATen kernel, in slices below ATen's parallel grain (32768
// elements) so it stays on this thread: an OpenMP region per call would wake LibTorch's pool between the
// BLAS's GEMMs, and with both pools' threads spin-waiting on a loaded machine a step slowed down ~100×.
template <typename Op>
void elementwise_serial(float* out, const float* in, int64_t count, Op op) {
  constexpr int64_t kSlice = 16384;
  for (int64_t start = 0; start < count; start += kSlice) {
    const int64_t len = std::min(kSlice, count - start);
    auto o = blob(out + start, {len});
    op(o, blob(const_cast<float*>(in) + start, {len}));
  }
}

// In place: y ← act(y), and act'(pre-activation) into `derivative` (which may serve as scratch first).
// sigmoid and tanh go through ATen's vectorized CPU kernels (SIMD exp); the rest are plain loops.
void activate_forward(Activation kind, float* y, float* derivative, int64_t count) {
  switch (kind) {
    case Activation::kSwish: {
      elementwise_serial(derivative, y, count, [](torch::Tensor& out, const torch::Tensor& in) { at::sigmoid_out(out, in); });
      for (int64_t i = 0; i < count; ++i) {
        const float u = y[i], si = derivative[i];
        y[i] = u * si;
        derivative[i] = si * (1.0f + u * (1.0f - si));
      }
      break;
    }
    case Activation::kReLU:  // threshold_backward: zero where the input is <= 0
      for (int64_t i = 0; i < count; ++i) {
        derivative[i] = y[i] > 0 ? 1.0f : 0.0f;
        y[i] = y[i] > 0 ? y[i] : 0.0f;
      }
      break;
    case Activation::kReLU6:  // hardtanh_backward: zero where the input is <= 0 or >= 6
      for (int64_t i = 0; i < count; ++i) {
        derivative[i] = y[i] > 0 && y[i] < 6 ? 1.0f : 0.0f;
        y[i] = std::min(std::max(y[i], 0.0f), 6.0f);
      }
      break;
    case Activation::kTanh: {
      elementwise_serial(y, y, count, [](torch::Tensor& out, const torch::Tensor& in) { at::tanh_out(out, in); });
      for (int64_t i = 0; i < count; ++i) derivative[i] = 1.0f - y[i] * y[i];
      break;
    }
  }
}

}  // namespace

torch::Tensor MlpPredictorImpl::flatten_parameters() {
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters()) {
    if (!p.is_cpu() || p.scalar_type() != torch::kFloat32) fail("INVALID_ARGUMENT", "the fast training path needs a float32 CPU predictor");
  }
  // A second call keeps the buffer (the optimizer holds it) and re-binds the parameters to it.
  auto f = fast_ ? fast_ : std::make_shared<FastPath>();
  // The layout: (parameter, its offset) in buffer order.
  std::vector<std::pair<torch::Tensor*, int64_t*>> order = {{&input_norm_->weight, &f->in_w}, {&input_norm_->bias, &f->in_b},
                                                             {&trunk_->weight, &f->trunk_w},    {&trunk_->bias, &f->trunk_b},
                                                             {&trunk_norm_->weight, &f->trunk_nw}, {&trunk_norm_->bias, &f->trunk_nb}};
  const size_t groups = heads_.size();
  f->out_w.resize(groups);
  f->out_b.resize(groups);
  f->out_col.resize(groups);
  std::vector<int64_t> unused(4 * groups);  // offsets of heads 1.. within the side-by-side blocks
  auto side_by_side = [&](auto member, int64_t* first, size_t block) {
    for (size_t g = 0; g < groups; ++g) order.push_back({&member(heads_[g]), g == 0 ? first : &unused[block * groups + g]});
  };
  side_by_side([](Head& h) -> torch::Tensor& { return h.hidden->weight; }, &f->hid_w, 0);
  side_by_side([](Head& h) -> torch::Tensor& { return h.hidden->bias; }, &f->hid_b, 1);
  side_by_side([](Head& h) -> torch::Tensor& { return h.norm->weight; }, &f->hid_nw, 2);
  side_by_side([](Head& h) -> torch::Tensor& { return h.norm->bias; }, &f->hid_nb, 3);
  for (size_t g = 0; g < groups; ++g) order.push_back({&heads_[g].out->weight, &f->out_w[g]});
  for (size_t g = 0; g < groups; ++g) order.push_back({&heads_[g].out->bias, &f->out_b[g]});
  int64_t total = 0;
  for (auto& [param, offset] : order) {
    *offset = total;
    total += param->numel();
  }
  if (total != static_cast<int64_t>([&] {
        int64_t n = 0;
        for (const auto& p : parameters()) n += p.numel();
        return n;
      }())) {
    fail("INTERNAL", "the flat layout misses predictor parameters");
  }
  if (!f->flat.defined()) f->flat = torch::empty({total}, torch::kFloat32);
  if (f->flat.numel() != total) fail("INTERNAL", "the predictor's parameter count changed");
  for (auto& [param, offset] : order) {
    auto view = f->flat.narrow(0, *offset, param->numel()).view(param->sizes());
    view.copy_(*param);
    param->set_(view);
  }
  f->own_bernoulli = bernoulli_matches_aten();
  int64_t col = 0;
  for (size_t g = 0; g < groups; ++g) {
    f->out_col[g] = col;
    col += options_.groups[g];
  }
  fast_ = f;
  return f->flat;
}

const torch::Tensor& MlpPredictorImpl::flat_parameters() const {
  static const torch::Tensor undefined;
  return fast_ ? fast_->flat : undefined;
}

double MlpPredictorImpl::train_step_gradients(const torch::Tensor& x_in, const torch::Tensor& y_in, LossKind loss_kind, torch::Tensor& grad) {
  if (!fast_) fail("INTERNAL", "train_step_gradients needs flatten_parameters() first");
  auto& f = *fast_;
  torch::NoGradGuard no_grad;
  const auto& o = options_;
  const int64_t n = x_in.size(0), D = o.input_dim, S = o.shared_layer, H = o.separated_layer;
  const int64_t G = static_cast<int64_t>(heads_.size()), HT = G * H, K = output_dim();
  if (x_in.dim() != 2 || x_in.size(1) != D || y_in.dim() != 2 || y_in.size(0) != n || y_in.size(1) != K) {
    fail("SHAPE_MISMATCH", "a fast training step needs [N, " + std::to_string(D) + "] codes and [N, " + std::to_string(K) + "] targets");
  }
  if (n < 2) fail("INVALID_ARGUMENT", "train-mode BatchNorm needs at least 2 rows in a batch");
  auto x = x_in.to(torch::kFloat32).contiguous();
  auto y = y_in.to(torch::kFloat32).contiguous();
  if (!x.is_cpu()) fail("INVALID_ARGUMENT", "the fast training path runs on the CPU");
  if (!grad.defined() || grad.numel() != f.flat.numel()) grad = torch::zeros_like(f.flat);
  auto& W = f.flat;
  float* w = W.data_ptr<float>();
  float* g = grad.data_ptr<float>();
  for (auto* v : {&f.xhat0, &f.xn, &f.dxn}) ensure(*v, n * D);
  for (auto* v : {&f.xhat1, &f.act1_d, &f.d1, &f.d1_grad}) ensure(*v, n * S);
  for (auto* v : {&f.xhath, &f.acth_d, &f.dh, &f.dh_grad}) ensure(*v, n * HT);
  for (auto* v : {&f.out, &f.dout}) ensure(*v, n * K);
  ensure(f.invstd0, D);
  ensure(f.invstd1, S);
  ensure(f.invstdh, HT);

  // ---- forward ----
  // Input BatchNorm.
  batch_norm_forward(x.data_ptr<float>(), n, D, w + f.in_w, w + f.in_b, input_norm_->options.eps(), f.xhat0.data(), f.xn.data(),
                     f.invstd0.data(), f.mean, f.var, f.mean_f);
  update_running(input_norm_, f.mean, f.var, 0, D, n);
  // Trunk: Linear (bias folded into the BatchNorm's input), BatchNorm, activation, dropout.
  gemm(f.d1_grad.data(), n, S, blob(f.xn.data(), {n, D}), blob(w + f.trunk_w, {S, D}).t());  // d1_grad as scratch z1
  add_bias(f.d1_grad.data(), w + f.trunk_b, n, S);
  batch_norm_forward(f.d1_grad.data(), n, S, w + f.trunk_nw, w + f.trunk_nb, trunk_norm_->options.eps(), f.xhat1.data(), f.d1.data(),
                     f.invstd1.data(), f.mean, f.var, f.mean_f);
  update_running(trunk_norm_, f.mean, f.var, 0, S, n);
  activate_forward(o.activation, f.d1.data(), f.act1_d.data(), n * S);
  // forward()'s dropout noise, bernoulli(1 − p) / (1 − p), drawn the same way (see draw_bernoulli).
  auto noise_of = [&](int64_t cols, double p) -> const float* {
    ensure(f.mask, n * cols);
    if (f.own_bernoulli) {
      draw_bernoulli(generator_, 1 - p, 1.0f / static_cast<float>(1 - p), f.mask.data(), n * cols, f.random_words);
    } else {
      auto noise = dropout_noise({n, cols}, x.options(), p);
      std::memcpy(f.mask.data(), noise.data_ptr<float>(), sizeof(float) * static_cast<size_t>(n * cols));
    }
    return f.mask.data();
  };
  if (o.trunk_dropout > 0) {
    const float* m = noise_of(S, o.trunk_dropout);
    for (int64_t i = 0; i < n * S; ++i) {
      f.d1[i] *= m[i];
      f.act1_d[i] *= m[i];  // the mask's factor belongs to the backward too
    }
  }
  // Heads: their hidden Linear layers as one GEMM over the shared input, one BatchNorm over all their
  // columns (γ/β sit side by side; running stats are per head), activation, per-head dropout.
  gemm(f.dh_grad.data(), n, HT, blob(f.d1.data(), {n, S}), blob(w + f.hid_w, {HT, S}).t());  // dh_grad as scratch zh
  add_bias(f.dh_grad.data(), w + f.hid_b, n, HT);
  batch_norm_forward(f.dh_grad.data(), n, HT, w + f.hid_nw, w + f.hid_nb, heads_[0].norm->options.eps(), f.xhath.data(), f.dh.data(),
                     f.invstdh.data(), f.mean, f.var, f.mean_f);
  for (int64_t h = 0; h < G; ++h) {
    if (heads_[h].norm->options.eps() != heads_[0].norm->options.eps()) fail("INTERNAL", "the heads' BatchNorm eps differ");
    update_running(heads_[h].norm, f.mean, f.var, h * H, H, n);
  }
  activate_forward(o.activation, f.dh.data(), f.acth_d.data(), n * HT);
  for (int64_t h = 0; h < G; ++h) {  // masks drawn head by head, as forward() draws them
    const double p = heads_[h].dropout;
    if (p == 0) continue;
    const float* m = noise_of(H, p);
    for (int64_t i = 0; i < n; ++i) {
      float* d = f.dh.data() + i * HT + h * H;
      float* a = f.acth_d.data() + i * HT + h * H;
      for (int64_t j = 0; j < H; ++j) {
        d[j] *= m[i * H + j];
        a[j] *= m[i * H + j];
      }
    }
  }
  // Output layers (k outputs per head: a few dot products per row, below any GEMM's break-even).
  for (int64_t h = 0; h < G; ++h) {
    const int64_t k = o.groups[h], c0 = f.out_col[h];
    const float* ow = w + f.out_w[h];
    const float* ob = w + f.out_b[h];
    for (int64_t i = 0; i < n; ++i) {
      const float* d = f.dh.data() + i * HT + h * H;
      for (int64_t r = 0; r < k; ++r) f.out[i * K + c0 + r] = dot(d, ow + r * H, H) + ob[r];
    }
  }
  // Loss (mean over n × K) and its gradient.
  const float* t = y.data_ptr<float>();
  const float scale = 1.0f / static_cast<float>(n * K);
  double loss = 0;
  for (int64_t i = 0; i < n * K; ++i) {
    const float diff = f.out[i] - t[i], ad = std::fabs(diff);
    const float sign = diff > 0 ? 1.0f : diff < 0 ? -1.0f : 0.0f;
    switch (loss_kind) {
      case LossKind::kSmoothL1:  // beta 1
        loss += ad < 1 ? 0.5 * static_cast<double>(diff) * diff : static_cast<double>(ad) - 0.5;
        f.dout[i] = (ad < 1 ? diff : sign) * scale;
        break;
      case LossKind::kMse:
        loss += static_cast<double>(diff) * diff;
        f.dout[i] = 2 * diff * scale;
        break;
      case LossKind::kL1:
        loss += ad;
        f.dout[i] = sign * scale;
        break;
    }
  }
  loss /= static_cast<double>(n * K);

  // ---- backward ----
  // Output layers: dW, db, and the gradient w.r.t. the heads' dropout outputs.
  for (int64_t h = 0; h < G; ++h) {
    const int64_t k = o.groups[h], c0 = f.out_col[h];
    const float* ow = w + f.out_w[h];
    float* gw = g + f.out_w[h];
    float* gb = g + f.out_b[h];
    std::memset(gw, 0, sizeof(float) * static_cast<size_t>(k * H));
    std::memset(gb, 0, sizeof(float) * static_cast<size_t>(k));
    for (int64_t i = 0; i < n; ++i) {
      const float* d = f.dh.data() + i * HT + h * H;
      float* dd = f.dh_grad.data() + i * HT + h * H;
      for (int64_t j = 0; j < H; ++j) dd[j] = 0;
      for (int64_t r = 0; r < k; ++r) {
        const float go = f.dout[i * K + c0 + r];
        gb[r] += go;
        for (int64_t j = 0; j < H; ++j) {
          gw[r * H + j] += go * d[j];
          dd[j] += go * ow[r * H + j];
        }
      }
    }
  }
  // Heads: through dropout and activation (their factors are in acth_d), BatchNorm, then the fused Linear.
  for (int64_t i = 0; i < n * HT; ++i) f.dh_grad[i] *= f.acth_d[i];
  batch_norm_backward(f.dh_grad.data(), f.xhath.data(), w + f.hid_nw, f.invstdh.data(), n, HT, g + f.hid_nw, g + f.hid_nb, f.mean, f.var);
  bias_backward(f.dh_grad.data(), n, HT, g + f.hid_b);
  gemm(g + f.hid_w, HT, S, blob(f.dh_grad.data(), {n, HT}).t(), blob(f.d1.data(), {n, S}));
  gemm(f.d1_grad.data(), n, S, blob(f.dh_grad.data(), {n, HT}), blob(w + f.hid_w, {HT, S}));
  // Trunk.
  for (int64_t i = 0; i < n * S; ++i) f.d1_grad[i] *= f.act1_d[i];
  batch_norm_backward(f.d1_grad.data(), f.xhat1.data(), w + f.trunk_nw, f.invstd1.data(), n, S, g + f.trunk_nw, g + f.trunk_nb, f.mean, f.var);
  bias_backward(f.d1_grad.data(), n, S, g + f.trunk_b);
  gemm(g + f.trunk_w, S, D, blob(f.d1_grad.data(), {n, S}).t(), blob(f.xn.data(), {n, D}));
  gemm(f.dxn.data(), n, D, blob(f.d1_grad.data(), {n, S}), blob(w + f.trunk_w, {S, D}));
  // Input BatchNorm: only its γ/β gradients are needed (the codes are data).
  batch_norm_backward(f.dxn.data(), f.xhat0.data(), w + f.in_w, f.invstd0.data(), n, D, g + f.in_w, g + f.in_b, f.mean, f.var);
  return loss;
}

namespace {

// Eval-mode BatchNorm in place on the columns [c0, c0 + count) of y [n, ld]: (y − running mean)·invstd·γ + β.
void batch_norm_eval(float* __restrict y, int64_t n, int64_t ld, int64_t c0, int64_t count, torch::nn::BatchNorm1d& bn,
                     const float* __restrict gamma, const float* __restrict beta, std::vector<float>& scale_v, std::vector<float>& shift_v) {
  const float* rm = bn->running_mean.data_ptr<float>();
  const float* rv = bn->running_var.data_ptr<float>();
  const double eps = bn->options.eps();
  scale_v.resize(static_cast<size_t>(count));
  shift_v.resize(static_cast<size_t>(count));
  float* __restrict scale = scale_v.data();
  float* __restrict shift = shift_v.data();
  for (int64_t j = 0; j < count; ++j) {  // ATen's eval form: y·(invstd·γ) + (β − mean·invstd·γ)
    const double a = 1.0 / std::sqrt(static_cast<double>(rv[j]) + eps) * gamma[j];
    scale[j] = static_cast<float>(a);
    shift[j] = static_cast<float>(beta[j] - rm[j] * a);
  }
  for (int64_t i = 0; i < n; ++i) {
    float* row = y + i * ld + c0;
    for (int64_t j = 0; j < count; ++j) row[j] = row[j] * scale[j] + shift[j];
  }
}

}  // namespace

torch::Tensor MlpPredictorImpl::eval_forward_fast(const torch::Tensor& x_in) {
  if (!fast_) fail("INTERNAL", "eval_forward_fast needs flatten_parameters() first");
  auto& f = *fast_;
  torch::NoGradGuard no_grad;
  const auto& o = options_;
  const int64_t n = x_in.size(0), D = o.input_dim, S = o.shared_layer, H = o.separated_layer;
  const int64_t G = static_cast<int64_t>(heads_.size()), HT = G * H, K = output_dim();
  if (x_in.dim() != 2 || x_in.size(1) != D) fail("SHAPE_MISMATCH", "the predictor expects [N, " + std::to_string(D) + "] codes");
  auto xn = x_in.to(torch::kFloat32).contiguous().clone();
  float* w = f.flat.data_ptr<float>();
  ensure(f.eval_trunk, n * S);
  ensure(f.eval_heads, n * HT);
  ensure(f.eval_scratch, n * HT);
  auto out = torch::empty({n, K}, torch::kFloat32);
  float* po = out.data_ptr<float>();
  batch_norm_eval(xn.data_ptr<float>(), n, D, 0, D, input_norm_, w + f.in_w, w + f.in_b, f.eval_scale, f.eval_shift);
  gemm(f.eval_trunk.data(), n, S, xn, blob(w + f.trunk_w, {S, D}).t());
  add_bias(f.eval_trunk.data(), w + f.trunk_b, n, S);
  batch_norm_eval(f.eval_trunk.data(), n, S, 0, S, trunk_norm_, w + f.trunk_nw, w + f.trunk_nb, f.eval_scale, f.eval_shift);
  activate_forward(o.activation, f.eval_trunk.data(), f.eval_scratch.data(), n * S);
  gemm(f.eval_heads.data(), n, HT, blob(f.eval_trunk.data(), {n, S}), blob(w + f.hid_w, {HT, S}).t());
  add_bias(f.eval_heads.data(), w + f.hid_b, n, HT);
  for (int64_t h = 0; h < G; ++h) {
    batch_norm_eval(f.eval_heads.data(), n, HT, h * H, H, heads_[h].norm, w + f.hid_nw + h * H, w + f.hid_nb + h * H, f.eval_scale, f.eval_shift);
  }
  activate_forward(o.activation, f.eval_heads.data(), f.eval_scratch.data(), n * HT);
  for (int64_t h = 0; h < G; ++h) {
    const int64_t k = o.groups[h], c0 = f.out_col[h];
    for (int64_t i = 0; i < n; ++i) {
      const float* d = f.eval_heads.data() + i * HT + h * H;
      for (int64_t r = 0; r < k; ++r) po[i * K + c0 + r] = dot(d, w + f.out_w[h] + r * H, H) + w[f.out_b[h] + r];
    }
  }
  return out;
}

}  // namespace torchnas
