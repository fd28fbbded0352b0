// Single-precision GEMM routed to oneDNN's sgemm where the LibTorch in use ships it, and a Linear layer on it.
//
// Why: ATen sends float32 matmuls to the BLAS it was built with. Debian's LibTorch uses OpenBLAS 0.3.21, whose
// newest x86 kernel is AVX2 (HASWELL): on a CPU with full-width AVX-512 it runs at half the machine's peak.
// The same LibTorch also links oneDNN (libdnnl, for its convolutions), whose JIT sgemm uses AVX-512: measured on
// NAR's shapes (19,840 × 128 × 128 … 512, 1 and 2 threads) 0.3–0.54× OpenBLAS's time. Nothing new is installed:
// both libraries are part of the LibTorch both sides of a benchmark load; we call the faster of the two.
//
// Which GEMM runs is fixed per process, not timed per shape: oneDNN when its `dnnl_sgemm` is found in the loaded
// libraries (looked up, never loaded: the Debian build links libdnnl.so.2; a LibTorch with oneDNN linked in
// statically and hidden has none), ATen otherwise, or when TORCHNAS_KERNELS=sgemm=aten forces it. A fixed
// choice keeps runs bitwise reproducible across processes on one machine (the two agree only to float rounding).
#pragma once
#include <torch/types.h>

#include <string>

namespace torchnas {

// "onednn" or "aten": the GEMM that fast_linear and sgemm use in this process now.
std::string sgemm_backend();

// C = op(A) · op(B) for float32 CPU matrices, row-major with unit column stride (a transposed view is passed as
// the stored matrix with trans = true); C [m, n] is overwritten (written, never read).
void sgemm(bool trans_a, bool trans_b, const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& c);

// y = x · wᵀ + b over the last dimension of x (any leading dimensions), as torch::nn::functional::linear, with
// both products of the backward on the same GEMM. `b` may be undefined. Autograd-aware in x, w and b. Tensors
// that are not CPU float32 take at::linear.
torch::Tensor fast_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace torchnas
