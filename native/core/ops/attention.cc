#include "attention.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../errors.h"
#include "dropout.h"
#include "simd_clones.h"


namespace torchnas {

namespace {

// Eight floats in one GCC vector (AVX2 register; a pair of SSE registers on the baseline clone). The kernels
// below are written on these with every trip count fixed at compile time (NV vectors per score row, DV per
// head row, R query rows at a time), so the accumulators stay in registers as in a GEMM micro-kernel.
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef uint32_t u8 __attribute__((vector_size(32)));

#define TORCHNAS_UNROLL _Pragma("GCC unroll 16")

__attribute__((always_inline)) inline v8 load8(const float* p) {
  v8 x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
__attribute__((always_inline)) inline void store8(float* p, v8 x) { std::memcpy(p, &x, sizeof x); }
__attribute__((always_inline)) inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }
__attribute__((always_inline)) inline float hsum(v8 x) {  // fixed order: ((0+4)+(2+6)) + ((1+5)+(3+7))
  const float a = x[0] + x[4], b = x[2] + x[6], c = x[1] + x[5], d = x[3] + x[7];
  return (a + b) + (c + d);
}
__attribute__((always_inline)) inline float hmax(v8 x) {
  float m = x[0];
  for (int i = 1; i < 8; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// e^x for x <= 0 (softmax after subtracting the row maximum): Cody–Waite reduction x = n·ln2 + r and Cephes'
// degree-6 polynomial for e^r (about 1 ulp), 2^n from the exponent bits. Below −87.3 the result would be
// subnormal: 0 instead. NaN stays NaN.
__attribute__((always_inline)) inline v8 exp_nonpositive(v8 x) {
  const v8 lo = splat(-87.3f), zero = splat(0.f);
  v8 xc = x < lo ? lo : x;
  xc = xc > zero ? zero : xc;
  const v8 magic = splat(12582912.f);  // 1.5·2^23: adding and subtracting it rounds to the nearest integer
  v8 fx = xc * 1.44269504088896341f + magic;
  fx -= magic;
  v8 r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  v8 y = splat(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.f;
  const i8 bits = (__builtin_convertvector(fx, i8) + 127) << 23;
  const v8 e = y * (v8)bits;
  const v8 zeroed = x < lo ? zero : e;
  return x != x ? x : zeroed;
}

struct Shape {
  int64_t g = 0, b = 0, bq = 0, lq = 0, lk = 0, h = 0, d = 0;
  float temperature = 1.f;  // √d_k in float: q / temperature, as ATen's q / √d_k computes it
  int64_t width() const { return h * d; }  // one token's row in q, k, v and out: H heads of d
};

// Index of probability (b, head, g, i, 0) in the [B, H, G·Lq, Lk] tensor the dropout mask covers (the tensor
// ATen's path drops), so both paths mask the same elements.
inline int64_t prob_index(const Shape& s, int64_t b, int64_t hd, int64_t g, int64_t i) {
  return (((b * s.h + hd) * s.g + g) * s.lq + i) * s.lk;
}

// out[r][·] = Σ_{d < 8·DV} a_r[d] / div · bt[d][·] over NV vectors: scores (a = queries, bt = keysᵀ) and the
// gradient of the probabilities (a = output gradient, bt = valuesᵀ, div = 1).
template <int R, int NV, int DV>
__attribute__((always_inline)) inline void rows_times_t(const float* const* a, float div, const float* bt, v8 (&out)[R][NV]) {
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) out[r][j] = splat(0.f);
  for (int d = 0; d < 8 * DV; ++d) {
    v8 col[NV];
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) col[j] = load8(bt + (d * NV + j) * 8);
    TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
      const float c = a[r][d] / div;
      TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) out[r][j] += c * col[j];
    }
  }
}

// out[r][·] = Σ_{j < lk} w[r][j] · m_j[·] over DV vectors (m_j = m + j·stride): the weighted sum of values and
// the gradient of the queries (w = score gradient, m = keys).
template <int R, int NV, int DV>
__attribute__((always_inline)) inline void weights_times_rows(const float (&w)[R][8 * NV], int64_t lk, const float* m, int64_t stride,
                                                               v8 (&out)[R][DV]) {
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) out[r][e] = splat(0.f);
  for (int64_t j = 0; j < lk; ++j) {
    v8 row[DV];
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) row[e] = load8(m + j * stride + e * 8);
    TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
      const float c = w[r][j];
      TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) out[r][e] += c * row[e];
    }
  }
}

// acc_j[·] += Σ_r w[r][j] · x_r[·] for j < lk (acc [8·NV][8·DV], x_r DV vectors): the gradients of values
// (w = dropped probabilities, x = output gradient) and keys (w = score gradient, x = scaled queries).
template <int R, int NV, int DV>
__attribute__((always_inline)) inline void rank_update(const float (&w)[R][8 * NV], int64_t lk, const v8 (&x)[R][DV], float* acc) {
  for (int64_t j = 0; j < lk; ++j) {
    v8 a[DV];
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) a[e] = load8(acc + (j * DV + e) * 8);
    TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
      const float c = w[r][j];
      TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) a[e] += c * x[r][e];
    }
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) store8(acc + (j * DV + e) * 8, a[e]);
  }
}

// Softmax of each of R score rows (the first lk of 8·NV columns; the rest come out 0), in place.
template <int R, int NV>
__attribute__((always_inline)) inline void softmax_rows(v8 (&sc)[R][NV], int64_t lk) {
  i8 valid[NV];  // all ones in the columns < lk
  TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) {
    const i8 idx = i8{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<int32_t>(8 * j);
    valid[j] = idx < static_cast<int32_t>(lk);
  }
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    const v8 neg = splat(-std::numeric_limits<float>::infinity());
    v8 m = neg;
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) {
      const v8 x = valid[j] ? sc[r][j] : neg;
      m = ((x > m) | (x != x)) ? x : m;  // bitwise | on the lane masks (|| on vectors is GCC-only)
    }
    const float mx = hmax(m);
    v8 sum = splat(0.f);
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) {
      const v8 e = exp_nonpositive(sc[r][j] - mx);
      sc[r][j] = valid[j] ? e : splat(0.f);
      sum += sc[r][j];
    }
    const float inv = 1.f / hsum(sum);
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) sc[r][j] *= inv;
  }
}

// apply_dropout_mask(row, row, at, at + lk, m) inlined on a padded row of 8·NV (ops/dropout.h's hash, the same
// kept elements and factors: x · (kept ? scale : 0)); columns past lk hold zeros and stay zero.
template <int NV>
__attribute__((always_inline)) inline void mask_row(float* row, int64_t at, int64_t lk, const DropoutMask& m) {
  const uint64_t first = static_cast<uint64_t>(at), last = static_cast<uint64_t>(at + lk - 1);
  if ((first >> 32) != (last >> 32)) {  // the row straddles a multiple of 2^32, where the hash's inner key changes
    apply_dropout_mask(row, row, at, at + lk, m);
    return;
  }
  const uint32_t inner = m.inner ^ dropout_mix32(m.high ^ static_cast<uint32_t>(first >> 32));
  const uint32_t base = static_cast<uint32_t>(first);
  const v8 scale = splat(m.scale), zero = splat(0.f);
  TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) {
    const u8 idx = u8{0, 1, 2, 3, 4, 5, 6, 7} + (base + 8u * static_cast<uint32_t>(j));
    const u8 h = dropout_mix32<u8>(dropout_mix32<u8>(idx ^ inner) ^ m.outer);
    const v8 factor = h < m.threshold ? scale : zero;
    store8(row + 8 * j, load8(row + 8 * j) * factor);
  }
}

// Forward of one (batch, head) block: R query rows at a time, scores → softmax (saved to `probs`, rows of 8·NV
// when not null) → dropout → weighted sum of values, written into `out`'s merged-heads rows.
template <int R, int NV, int DV>
__attribute__((always_inline)) inline void forward_rows(const Shape& s, int64_t b, int64_t hd, int64_t g, int64_t i0, const float* q,
                                                        const float* kt, const float* v, float* out, float* probs,
                                                        const DropoutMask* mask) {
  const int64_t w = s.width();
  const float* qr[R];
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) qr[r] = q + ((g * s.bq + (s.bq == 1 ? 0 : b)) * s.lq + i0 + r) * w + hd * s.d;
  v8 sc[R][NV];
  rows_times_t<R, NV, DV>(qr, s.temperature, kt, sc);
  softmax_rows<R, NV>(sc, s.lk);
  float pw[R][8 * NV];
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) store8(&pw[r][8 * j], sc[r][j]);
    if (probs != nullptr) std::memcpy(probs + (((b * s.h + hd) * s.g + g) * s.lq + i0 + r) * 8 * NV, pw[r], sizeof pw[r]);
    if (mask != nullptr) mask_row<NV>(pw[r], prob_index(s, b, hd, g, i0 + r), s.lk, *mask);
  }
  v8 o[R][DV];
  weights_times_rows<R, NV, DV>(pw, s.lk, v + b * s.lk * w + hd * s.d, w, o);
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    float* dst = out + ((g * s.b + b) * s.lq + i0 + r) * w + hd * s.d;
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) store8(dst + 8 * e, o[r][e]);
  }
}

template <int NV, int DV>
constexpr int rows_per_pass() {
  return (NV > DV ? NV : DV) <= 4 ? 4 : 2;
}

template <int NV, int DV>
__attribute__((always_inline)) inline void forward_block(const Shape& s, int64_t b, int64_t hd, const float* q, const float* k, const float* v, float* out,
                                   float* probs, const DropoutMask* mask, float* scratch) {
  constexpr int R = rows_per_pass<NV, DV>();
  float* kt = scratch;  // [8·DV][8·NV]: this block's keys, transposed, zero past lk
  std::memset(kt, 0, sizeof(float) * 64 * NV * DV);
  for (int64_t j = 0; j < s.lk; ++j) {
    const float* kj = k + (b * s.lk + j) * s.width() + hd * s.d;
    for (int d = 0; d < 8 * DV; ++d) kt[d * 8 * NV + j] = kj[d];
  }
  for (int64_t g = 0; g < s.g; ++g) {
    int64_t i = 0;
    for (; i + R <= s.lq; i += R) forward_rows<R, NV, DV>(s, b, hd, g, i, q, kt, v, out, probs, mask);
    for (; i < s.lq; ++i) forward_rows<1, NV, DV>(s, b, hd, g, i, q, kt, v, out, probs, mask);
  }
}

// Backward of R query rows of one (batch, head) block; dval and dkey are the block's [8·NV][8·DV] accumulators.
template <int R, int NV, int DV>
__attribute__((always_inline)) inline void backward_rows(const Shape& s, int64_t b, int64_t hd, int64_t g, int64_t i0, const float* q,
                                                         const float* k, const float* vt, const float* probs,
                                                         const DropoutMask* mask, const float* gout, float* dq, float* dkey,
                                                         float* dval) {
  const int64_t w = s.width();
  float p[R][8 * NV], pd[R][8 * NV], ds[R][8 * NV];
  const float* go[R];
  v8 gov[R][DV], qs[R][DV];
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    std::memcpy(p[r], probs + (((b * s.h + hd) * s.g + g) * s.lq + i0 + r) * 8 * NV, sizeof p[r]);
    std::memcpy(pd[r], p[r], sizeof p[r]);
    if (mask != nullptr) mask_row<NV>(pd[r], prob_index(s, b, hd, g, i0 + r), s.lk, *mask);
    go[r] = gout + ((g * s.b + b) * s.lq + i0 + r) * w + hd * s.d;
    const float* qi = q + ((g * s.bq + (s.bq == 1 ? 0 : b)) * s.lq + i0 + r) * w + hd * s.d;
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) {
      gov[r][e] = load8(go[r] + 8 * e);
      qs[r][e] = load8(qi + 8 * e) / s.temperature;
    }
  }
  rank_update<R, NV, DV>(pd, s.lk, gov, dval);  // d(values) += dropped probabilitiesᵀ · d(out)
  v8 dp[R][NV];
  rows_times_t<R, NV, DV>(go, 1.f, vt, dp);  // d(dropped probabilities) = d(out) · valuesᵀ
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) store8(&ds[r][8 * j], dp[r][j]);
    if (mask != nullptr) mask_row<NV>(ds[r], prob_index(s, b, hd, g, i0 + r), s.lk, *mask);
    // softmax backward, as ATen: p · (dp − Σ dp·p); past lk p = 0, so ds = 0 there
    v8 dot = splat(0.f);
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) dot += load8(&ds[r][8 * j]) * load8(&p[r][8 * j]);
    const float dt = hsum(dot);
    TORCHNAS_UNROLL for (int j = 0; j < NV; ++j) store8(&ds[r][8 * j], load8(&p[r][8 * j]) * (load8(&ds[r][8 * j]) - dt));
  }
  rank_update<R, NV, DV>(ds, s.lk, qs, dkey);  // d(keys) += dsᵀ · (q / T)
  v8 dqs[R][DV];
  weights_times_rows<R, NV, DV>(ds, s.lk, k + b * s.lk * w + hd * s.d, w, dqs);  // d(q / T) = ds · keys
  TORCHNAS_UNROLL for (int r = 0; r < R; ++r) {
    float* dqi = dq + ((s.bq == 1 ? b * s.g + g : g * s.b + b) * s.lq + i0 + r) * w + hd * s.d;
    TORCHNAS_UNROLL for (int e = 0; e < DV; ++e) store8(dqi + 8 * e, dqs[r][e] / s.temperature);
  }
}

// Backward of one (batch, head) block. dq rows are this block's own (Bq = B) or a per-batch partial
// [B, G, Lq, H·d] summed by the caller (Bq = 1); dk and dv rows belong to this block alone.
template <int NV, int DV>
__attribute__((always_inline)) inline void backward_block(const Shape& s, int64_t b, int64_t hd, const float* q, const float* k, const float* v,
                                    const float* probs, const DropoutMask* mask, const float* gout, float* dq, float* dkey,
                                    float* dval, float* scratch) {
  constexpr int R = rows_per_pass<NV, DV>();
  const int64_t w = s.width();
  float* vt = scratch;               // [8·DV][8·NV]: values, transposed, zero past lk
  float* dv_acc = vt + 64 * NV * DV;  // [8·NV][8·DV]
  float* dk_acc = dv_acc + 64 * NV * DV;
  std::memset(scratch, 0, sizeof(float) * 3 * 64 * NV * DV);
  for (int64_t j = 0; j < s.lk; ++j) {
    const float* vj = v + (b * s.lk + j) * w + hd * s.d;
    for (int e = 0; e < 8 * DV; ++e) vt[e * 8 * NV + j] = vj[e];
  }
  for (int64_t g = 0; g < s.g; ++g) {
    int64_t i = 0;
    for (; i + R <= s.lq; i += R) backward_rows<R, NV, DV>(s, b, hd, g, i, q, k, vt, probs, mask, gout, dq, dk_acc, dv_acc);
    for (; i < s.lq; ++i) backward_rows<1, NV, DV>(s, b, hd, g, i, q, k, vt, probs, mask, gout, dq, dk_acc, dv_acc);
  }
  for (int64_t j = 0; j < s.lk; ++j) {
    std::memcpy(dkey + (b * s.lk + j) * w + hd * s.d, dk_acc + j * 8 * DV, sizeof(float) * 8 * DV);
    std::memcpy(dval + (b * s.lk + j) * w + hd * s.d, dv_acc + j * 8 * DV, sizeof(float) * 8 * DV);
  }
}

// The kernels exist for d ∈ {16, 32, 64} (DV = d / 8) and Lk ≤ 32 (NV = ⌈Lk / 8⌉ ≤ 4): NB201's 32 and 31, NB101's
// 64 and 19; other shapes take ATen's path (each further size is another set of instantiations to compile).
bool shapes_supported(int64_t d, int64_t lk) { return (d == 16 || d == 32 || d == 64) && lk >= 1 && lk <= 32; }

Shape shape_of(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads) {
  if (q.dim() != 4 || k.dim() != 3 || v.dim() != 3) {
    fail("SHAPE_MISMATCH", "fused attention takes q [G, Bq, Lq, H·d], k [B, Lk, H·d], v [B, Lk, H·d]");
  }
  Shape s;
  s.g = q.size(0);
  s.bq = q.size(1);
  s.lq = q.size(2);
  s.b = k.size(0);
  s.lk = k.size(1);
  s.h = heads;
  if (heads <= 0 || q.size(3) % heads != 0 || k.size(2) != q.size(3) || v.size(2) != q.size(3)) {
    fail("SHAPE_MISMATCH", "fused attention: q, k and v must have the same width, divisible by the head count");
  }
  if (v.size(0) != s.b || v.size(1) != s.lk || !(s.bq == 1 || s.bq == s.b)) {
    fail("SHAPE_MISMATCH", "fused attention: k and v must agree in batch and length, q's batch must be 1 or theirs");
  }
  s.d = q.size(3) / heads;
  if (!shapes_supported(s.d, s.lk)) {
    fail("SHAPE_MISMATCH", "fused attention runs head widths 16, 32 or 64 over 1 to 32 keys, got " + std::to_string(s.d) +
                               " and " + std::to_string(s.lk));
  }
  s.temperature = static_cast<float>(std::sqrt(static_cast<double>(s.d)));
  return s;
}

int64_t padded(const Shape& s) { return (s.lk + 7) / 8 * 8; }

// Calls f.template operator()<NV, DV>() for this shape's vector counts. Always inlined, so the whole kernel
// lands in the caller's target clone.
template <int DV, class F>
__attribute__((always_inline)) inline void dispatch_nv(int64_t nv, const F& f) {
  switch (nv) {
    case 1: f.template operator()<1, DV>(); break;
    case 2: f.template operator()<2, DV>(); break;
    case 3: f.template operator()<3, DV>(); break;
    default: f.template operator()<4, DV>(); break;
  }
}

template <class F>
__attribute__((always_inline)) inline void dispatch(const Shape& s, const F& f) {
  const int64_t nv = (s.lk + 7) / 8, dv = s.d / 8;
  if (dv == 2) dispatch_nv<2>(nv, f);
  else if (dv == 4) dispatch_nv<4>(nv, f);
  else dispatch_nv<8>(nv, f);
}

constexpr int64_t kScratch = 3 * 64 * 4 * 8;  // floats: the largest block's transposed operand and two accumulators

// The (batch, head) blocks first..last-1. Not templates: GCC makes target_clones of plain functions only, and
// every kernel above is inlined into each clone (AVX-512, AVX2 + FMA, baseline), the shape dispatched inside.
struct ForwardItems {
  const Shape& s;
  int64_t first, last;
  const float *q, *k, *v;
  float *out, *probs;
  const DropoutMask* mask;
  float* scratch;
  template <int NV, int DV>
  __attribute__((always_inline)) inline void operator()() const {
    for (int64_t item = first; item < last; ++item) {
      forward_block<NV, DV>(s, item / s.h, item % s.h, q, k, v, out, probs, mask, scratch);
    }
  }
};

struct BackwardItems {
  const Shape& s;
  int64_t first, last;
  const float *q, *k, *v, *probs;
  const DropoutMask* mask;
  const float* gout;
  float *dq, *dk, *dv, *scratch;
  template <int NV, int DV>
  __attribute__((always_inline)) inline void operator()() const {
    for (int64_t item = first; item < last; ++item) {
      backward_block<NV, DV>(s, item / s.h, item % s.h, q, k, v, probs, mask, gout, dq, dk, dv, scratch);
    }
  }
};

TORCHNAS_CLONES void forward_items(const Shape& s, int64_t first, int64_t last, const float* q, const float* k, const float* v,
                                   float* out, float* probs, const DropoutMask* mask, float* scratch) {
  dispatch(s, ForwardItems{s, first, last, q, k, v, out, probs, mask, scratch});
}

TORCHNAS_CLONES void backward_items(const Shape& s, int64_t first, int64_t last, const float* q, const float* k, const float* v,
                                    const float* probs, const DropoutMask* mask, const float* gout, float* dq, float* dk,
                                    float* dv, float* scratch) {
  dispatch(s, BackwardItems{s, first, last, q, k, v, probs, mask, gout, dq, dk, dv, scratch});
}

// The forward on contiguous q, k, v → [G, B, Lq, H·d]; with `probs` not null it also returns the softmax output,
// rows padded to a multiple of 8 (zeros past Lk): the backward's only saved activation.
torch::Tensor run_forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads, double p,
                          uint64_t key, bool masked, torch::Tensor* probs) {
  const Shape s = shape_of(q, k, v, heads);
  auto out = torch::empty({s.g, s.b, s.lq, s.width()}, q.options());
  float* pp = nullptr;
  if (probs != nullptr) {
    *probs = torch::empty({s.b, s.h, s.g * s.lq, padded(s)}, q.options());
    pp = probs->data_ptr<float>();
  }
  const DropoutMask mask = dropout_mask(key, p);
  const DropoutMask* m = masked ? &mask : nullptr;
  const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, s.b * s.h, 1, [&](int64_t first, int64_t last) {
    std::vector<float> scratch(kScratch);
    forward_items(s, first, last, qp, kp, vp, op, pp, m, scratch.data());
  });
  return out;
}

struct FusedAttentionFunction : public torch::autograd::Function<FusedAttentionFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, int64_t heads, double p, int64_t key, bool masked) {
    auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    torch::Tensor probs;
    auto out = run_forward(q, k, v, heads, p, static_cast<uint64_t>(key), masked, &probs);
    ctx->save_for_backward({q, k, v, probs});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["p"] = p;
    ctx->saved_data["key"] = key;
    ctx->saved_data["masked"] = masked;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& q = saved[0];
    const auto& k = saved[1];
    const auto& v = saved[2];
    const auto& probs = saved[3];
    const Shape s = shape_of(q, k, v, ctx->saved_data["heads"].toInt());
    const bool masked = ctx->saved_data["masked"].toBool();
    const DropoutMask mask =
        dropout_mask(static_cast<uint64_t>(ctx->saved_data["key"].toInt()), ctx->saved_data["p"].toDouble());
    auto gout = grads[0].contiguous();
    // Bq = 1: every batch element adds to the one query's gradient; per-batch partials summed in a fixed order
    // keep the result independent of the thread count. Every other element is written exactly once.
    auto dq = s.bq == 1 ? torch::empty({s.b, s.g, s.lq, s.width()}, q.options()) : torch::empty_like(q);
    auto dk = torch::empty_like(k);
    auto dv = torch::empty_like(v);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float *pp = probs.data_ptr<float>(), *gp = gout.data_ptr<float>();
    float *dqp = dq.data_ptr<float>(), *dkp = dk.data_ptr<float>(), *dvp = dv.data_ptr<float>();
    const DropoutMask* m = masked ? &mask : nullptr;
    at::parallel_for(0, s.b * s.h, 1, [&](int64_t first, int64_t last) {
      std::vector<float> scratch(kScratch);
      backward_items(s, first, last, qp, kp, vp, pp, m, gp, dqp, dkp, dvp, scratch.data());
    });
    if (s.bq == 1) dq = dq.sum(0).unsqueeze(1);
    return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_attention_supported(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads) {
  for (const auto* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32) return false;
  }
  if (heads <= 0 || q.dim() < 1 || k.dim() != 3 || v.dim() != 3 || q.size(-1) % heads != 0) return false;
  if (k.size(-1) != q.size(-1) || v.size(-1) != q.size(-1)) return false;  // the kernels have d_v = d_k
  return shapes_supported(q.size(-1) / heads, k.size(1));
}

torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                              double p, at::Generator* gen) {
  if (!(p >= 0 && p < 1)) fail("INVALID_ARGUMENT", "dropout probability must be in [0, 1), got " + std::to_string(p));
  if (!fused_attention_supported(q, k, v, heads)) {
    fail("INVALID_ARGUMENT", "fused attention runs CPU float32 tensors with head widths 16, 32 or 64 over at most 32 keys");
  }
  const bool masked = gen != nullptr && p > 0;
  const uint64_t key = masked ? draw_dropout_key(*gen) : 0;
  const bool needs_grad =
      torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (needs_grad) {
    return FusedAttentionFunction::apply(q, k, v, heads, p, static_cast<int64_t>(key), masked);
  }
  return run_forward(q.contiguous(), k.contiguous(), v.contiguous(), heads, p, key, masked, nullptr);
}

torch::Tensor aten_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t heads,
                             double p, at::Generator* gen) {
  if (!(p >= 0 && p < 1)) fail("INVALID_ARGUMENT", "dropout probability must be in [0, 1), got " + std::to_string(p));
  if (q.dim() != 4 || k.dim() != 3 || v.dim() != 3 || heads <= 0 || q.size(3) % heads != 0 || v.size(2) % heads != 0) {
    fail("SHAPE_MISMATCH", "attention takes q [G, Bq, Lq, H·d_k], k [B, Lk, H·d_k], v [B, Lk, H·d_v]");
  }
  const int64_t g = q.size(0), bq = q.size(1), lq = q.size(2), b = k.size(0), lk = k.size(1);
  const int64_t dk = q.size(3) / heads, dv = v.size(2) / heads;
  // The queries of all G groups stacked along the row axis: [Bq, H, G·Lq, d_k] against [B, H, Lk, d_k].
  auto qh = q.reshape({g, bq, lq, heads, dk}).permute({1, 3, 0, 2, 4}).reshape({bq, heads, g * lq, dk});
  auto kh = k.reshape({b, lk, heads, dk}).transpose(1, 2);
  auto vh = v.reshape({b, lk, heads, dv}).transpose(1, 2);
  auto attn = torch::softmax(torch::matmul(qh / std::sqrt(static_cast<double>(dk)), kh.transpose(2, 3)), -1);
  if (gen != nullptr && p > 0) attn = hashed_dropout(attn, p, *gen);
  return torch::matmul(attn, vh)           // [B, H, G·Lq, d_v]
      .view({b, heads, g, lq, dv})
      .permute({2, 0, 3, 1, 4})            // [G, B, Lq, H, d_v]
      .reshape({g, b, lq, heads * dv});
}

}  // namespace torchnas
