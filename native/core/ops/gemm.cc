#include "gemm.h"

#include <torch/autograd.h>
#include <torch/nn/functional/linear.h>

#include <dlfcn.h>

#include <cstdint>
#include <string>

#include "../errors.h"
#include "kernel_choice.h"

namespace torchnas {

namespace {

// oneDNN's C API (dnnl.h, stable since oneDNN 1.0): row-major C = alpha · op(A) · op(B) + beta · C.
// Declared here rather than included: Debian ships the library with LibTorch but not its headers.
using DnnlSgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

DnnlSgemm dnnl_sgemm_fn() {
  static const DnnlSgemm fn = []() -> DnnlSgemm {
    // Only a library already loaded (RTLD_NOLOAD): the addon is dlopen'ed locally, so its dependencies are not
    // in the global scope and are looked up by soname.
    for (const char* soname : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so", "libtorch_cpu.so"}) {
      void* h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
      if (!h) continue;
      void* sym = dlsym(h, "dnnl_sgemm");
      if (sym) return reinterpret_cast<DnnlSgemm>(sym);
    }
    return nullptr;
  }();
  return fn;
}

bool use_onednn() { return dnnl_sgemm_fn() != nullptr && !kernel_forced_to("sgemm", "aten"); }

void check_matrix(const torch::Tensor& t, const char* what) {
  if (t.dim() != 2 || !t.device().is_cpu() || t.scalar_type() != torch::kFloat32 || t.stride(1) != 1 ||
      t.stride(0) < std::max<int64_t>(1, t.size(1))) {
    fail("INTERNAL", std::string("sgemm: ") + what + " must be a row-major CPU float32 matrix");
  }
}

void onednn_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const torch::Tensor& a, const torch::Tensor& b,
                  torch::Tensor& c) {
  const int status = dnnl_sgemm_fn()(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a.data_ptr<float>(), a.stride(0),
                                     b.data_ptr<float>(), b.stride(0), 0.f, c.data_ptr<float>(), c.stride(0));
  if (status != 0) {
    fail("INTERNAL", "oneDNN's sgemm failed (status " + std::to_string(status) + ") on " + std::to_string(m) + " × " +
                         std::to_string(k) + " × " + std::to_string(n));
  }
}

// y [..., out] = x [..., in] · wᵀ (+ b); x2 (x as a contiguous [M, in] matrix) is what the backward keeps.
torch::Tensor linear_forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, torch::Tensor& x2) {
  const int64_t in = w.size(1), out = w.size(0);
  int64_t rows = 1;  // not reshape(-1, in): with in = 0 the -1 would be ambiguous
  for (int64_t d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  x2 = x.reshape({rows, in}).contiguous();
  auto y = torch::empty({x2.size(0), out}, x.options());
  sgemm(false, true, x2, w, y);
  if (b.defined()) y.add_(b);
  auto shape = x.sizes().vec();
  shape.back() = out;
  return y.view(shape);
}

// With a bias (x, w, b) and without (x, w): LibTorch 1.13's custom functions cannot take an undefined tensor.
template <bool Bias>
struct FastLinearFunction : public torch::autograd::Function<FastLinearFunction<Bias>> {
  template <class... B>
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const B&... b) {
    auto wc = w.contiguous();
    torch::Tensor x2;
    auto y = linear_forward(x, wc, Bias ? torch::Tensor(b...) : torch::Tensor(), x2);
    ctx->save_for_backward({x2, wc});
    ctx->saved_data["shape"] = x.sizes().vec();
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x2 = saved[0];
    const auto& w = saved[1];
    const int64_t out = w.size(0);
    auto g = grads[0].reshape({-1, out}).contiguous();
    torch::autograd::tensor_list result(Bias ? 3 : 2);
    if (ctx->needs_input_grad(0)) {
      auto dx = torch::empty_like(x2);
      sgemm(false, false, g, w, dx);  // [M, out] · [out, in]
      result[0] = dx.view(ctx->saved_data["shape"].toIntVector());
    }
    if (ctx->needs_input_grad(1)) {
      auto dw = torch::empty_like(w);
      sgemm(true, false, g, x2, dw);  // [M, out]ᵀ · [M, in]
      result[1] = dw;
    }
    if (Bias && ctx->needs_input_grad(2)) result[2] = g.sum(0);
    return result;
  }
};

}  // namespace

std::string sgemm_backend() { return use_onednn() ? "onednn" : "aten"; }

void sgemm(bool trans_a, bool trans_b, const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& c) {
  check_matrix(a, "A");
  check_matrix(b, "B");
  check_matrix(c, "C");
  const int64_t m = trans_a ? a.size(1) : a.size(0), k = trans_a ? a.size(0) : a.size(1);
  const int64_t kb = trans_b ? b.size(1) : b.size(0), n = trans_b ? b.size(0) : b.size(1);
  if (k != kb || c.size(0) != m || c.size(1) != n) {
    fail("SHAPE_MISMATCH", "sgemm: op(A) is " + std::to_string(m) + " × " + std::to_string(k) + ", op(B) " +
                               std::to_string(kb) + " × " + std::to_string(n) + ", C " + std::to_string(c.size(0)) +
                               " × " + std::to_string(c.size(1)));
  }
  if (m == 0 || n == 0) return;
  if (k == 0) {
    c.zero_();
    return;
  }
  if (use_onednn()) {
    onednn_sgemm(trans_a, trans_b, m, n, k, a, b, c);
  } else {
    at::mm_out(c, trans_a ? a.t() : a, trans_b ? b.t() : b);
  }
}

torch::Tensor fast_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const bool cpu_float = x.device().is_cpu() && w.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                         w.scalar_type() == torch::kFloat32 &&
                         (!b.defined() || (b.device().is_cpu() && b.scalar_type() == torch::kFloat32));
  // ATen's linear for other devices and types, and whenever oneDNN is not used (the same OpenBLAS call then).
  if (!cpu_float || !use_onednn()) return torch::nn::functional::linear(x, w, b);
  if (w.dim() != 2 || x.dim() < 1 || x.size(-1) != w.size(1) || (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0)))) {
    fail("SHAPE_MISMATCH", "linear: input's last dimension must equal the weight's columns (" +
                               std::to_string(w.dim() == 2 ? w.size(1) : -1) + "), bias one per output row");
  }
  const bool needs_grad =
      torch::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  if (needs_grad) return b.defined() ? FastLinearFunction<true>::apply(x, w, b) : FastLinearFunction<false>::apply(x, w);
  torch::Tensor x2;
  return linear_forward(x, w.contiguous(), b, x2);
}

}  // namespace torchnas
