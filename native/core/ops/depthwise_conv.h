// Depthwise 2-D convolution (groups = input channels = output channels, no bias, square kernel, dilation 1)
// with its own weight-gradient kernel.
//
// Why: oneDNN 2.6 (LibTorch 1.13's, and what PyTorch uses for the same conv) computes the weight gradient of a
// 5×5 or 7×7 depthwise conv on CPU 10–18× slower than the forward (measured, one thread, the DenseNAS small32
// shapes: 7×7 at 16×16 ≈ 15 ms against a 0.9 ms forward), which made it a third of a DenseNAS weight step.
// The forward and the input gradient stay ATen's (at::conv2d, at::convolution_backward); only the weight
// gradient has a second exact implementation, a direct channels-last loop, and which of the two runs is decided
// per shape by measurement (kernel_choice.h, kind "depthwise_weight_grad", candidates "aten" and "direct").
// The two agree to float rounding (different summation order).
#pragma once
#include <torch/torch.h>

namespace torchnas {

// y = conv2d(x, weight, stride, padding, groups = C): x [N, C, H, W], weight [C, 1, k, k].
torch::Tensor depthwise_conv2d(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride, int64_t padding);

// The weight gradient alone, by the direct kernel (float32 CPU tensors, any layout): Σ over the batch and
// the output positions of g[n, c, oy, ox] · x[n, c, oy·s + ky − p, ox·s + kx − p] (zero outside). [C, 1, k, k].
torch::Tensor depthwise_weight_grad_direct(const torch::Tensor& x, const torch::Tensor& grad_output, int64_t kernel, int64_t stride,
                                           int64_t padding);

}  // namespace torchnas
