#include "depthwise_conv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "../errors.h"
#include "kernel_choice.h"
#include "simd_clones.h"

namespace torchnas {

namespace {

// Channels per block: one AVX-512 vector, two AVX2 or four SSE2 ones; the accumulators of one block
// (k·k·16 floats, 3 KiB at 7×7) stay in L1.
constexpr int64_t kBlock = 16;

struct DwShape {
  int64_t n, h, w, oh, ow, k, s, p, cp;  // cp: channels padded to a multiple of kBlock
};

// acc[(ky·k + kx)·kBlock + i] += Σ g·x over the batch and output positions for channels block·kBlock + i.
// xt [N, H, W, cp] and gt [N, OH, OW, cp] are channels-last with the padding channels zero.
TORCHNAS_CLONES void dw_weight_grad_block(const float* xt, const float* gt, float* acc, int64_t block, const DwShape& d) {
  const int64_t off = block * kBlock;
  for (int64_t b = 0; b < d.n; ++b) {
    for (int64_t oy = 0; oy < d.oh; ++oy) {
      const int64_t iy0 = oy * d.s - d.p;
      const int64_t ky_lo = std::max<int64_t>(0, -iy0), ky_hi = std::min<int64_t>(d.k, d.h - iy0);
      for (int64_t ox = 0; ox < d.ow; ++ox) {
        const int64_t ix0 = ox * d.s - d.p;
        const int64_t kx_lo = std::max<int64_t>(0, -ix0), kx_hi = std::min<int64_t>(d.k, d.w - ix0);
        const float* g = gt + ((b * d.oh + oy) * d.ow + ox) * d.cp + off;
        float gv[kBlock];
        for (int64_t i = 0; i < kBlock; ++i) gv[i] = g[i];
        for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
          const float* xrow = xt + ((b * d.h + iy0 + ky) * d.w + ix0) * d.cp + off;
          float* arow = acc + ky * d.k * kBlock;
          for (int64_t kx = kx_lo; kx < kx_hi; ++kx) {
            const float* xv = xrow + kx * d.cp;
            float* a = arow + kx * kBlock;
            for (int64_t i = 0; i < kBlock; ++i) a[i] += gv[i] * xv[i];
          }
        }
      }
    }
  }
}

// [N, C, H, W] → [N, H, W, cp], channels beyond C zero.
torch::Tensor channels_last_padded(const torch::Tensor& t, int64_t cp) {
  auto out = torch::zeros({t.size(0), t.size(2), t.size(3), cp}, t.options().dtype(torch::kFloat32));
  out.narrow(3, 0, t.size(1)).copy_(t.permute({0, 2, 3, 1}));
  return out;
}

// ATen's gradients of the depthwise conv, those `mask` asks for: (input, weight, bias).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> aten_backward(const torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& weight,
                                                                      int64_t stride, int64_t padding, std::array<bool, 3> mask) {
  return at::convolution_backward(g, x, weight, c10::nullopt, {stride, stride}, {padding, padding}, {1, 1}, false, {0, 0}, weight.size(0), mask);
}

torch::Tensor weight_grad_aten(const torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& weight, int64_t stride, int64_t padding) {
  return std::get<1>(aten_backward(x, g, weight, stride, padding, {false, true, false}));
}

struct DepthwiseConvFunction : public torch::autograd::Function<DepthwiseConvFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight, int64_t stride,
                               int64_t padding) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return at::conv2d(x, weight, {}, stride, padding, 1, weight.size(0));
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const int64_t stride = ctx->saved_data["stride"].toInt(), padding = ctx->saved_data["padding"].toInt();
    const auto g = grads[0].contiguous();
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) {
      gx = std::get<0>(aten_backward(x, g, weight, stride, padding, {true, false, false}));
    }
    if (ctx->needs_input_grad(1)) {
      const int64_t k = weight.size(2);
      if (x.scalar_type() != torch::kFloat32 || !x.device().is_cpu()) {
        gw = weight_grad_aten(x, g, weight, stride, padding);
      } else {
        const auto sample_x = x.narrow(0, 0, std::min<int64_t>(x.size(0), 256));
        const auto sample_g = g.narrow(0, 0, sample_x.size(0));
        const std::string shape = c10::str(weight.sizes()) + " " + c10::str(x.sizes().slice(1)) + " s" + std::to_string(stride) + " p" +
                                  std::to_string(padding) + " n" + std::to_string(x.size(0));
        const auto pick = choose_kernel(
            "depthwise_weight_grad", shape,
            {{"aten", [&] { weight_grad_aten(sample_x, sample_g, weight, stride, padding); }},
             {"direct", [&] { depthwise_weight_grad_direct(sample_x, sample_g, k, stride, padding); }}});
        gw = pick == 0 ? weight_grad_aten(x, g, weight, stride, padding) : depthwise_weight_grad_direct(x, g, k, stride, padding);
      }
    }
    return {gx, gw, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor depthwise_weight_grad_direct(const torch::Tensor& x, const torch::Tensor& grad_output, int64_t kernel, int64_t stride,
                                           int64_t padding) {
  if (x.dim() != 4 || grad_output.dim() != 4 || x.size(0) != grad_output.size(0) || x.size(1) != grad_output.size(1)) {
    fail("SHAPE_MISMATCH", "depthwise weight gradient: x " + c10::str(x.sizes()) + " and grad_output " + c10::str(grad_output.sizes()) +
                               " must be [N, C, H, W] and [N, C, OH, OW]");
  }
  if (x.scalar_type() != torch::kFloat32 || grad_output.scalar_type() != torch::kFloat32 || !x.device().is_cpu()) {
    fail("INVALID_ARGUMENT", "the direct depthwise weight gradient takes float32 CPU tensors");
  }
  if (kernel < 1 || stride < 1 || padding < 0) fail("INVALID_ARGUMENT", "depthwise weight gradient: kernel and stride >= 1, padding >= 0");
  const int64_t c = x.size(1);
  DwShape d{x.size(0), x.size(2), x.size(3), grad_output.size(2), grad_output.size(3), kernel, stride, padding, (c + kBlock - 1) / kBlock * kBlock};
  if (d.oh != (d.h + 2 * padding - kernel) / stride + 1 || d.ow != (d.w + 2 * padding - kernel) / stride + 1) {
    fail("SHAPE_MISMATCH", "depthwise weight gradient: grad_output " + c10::str(grad_output.sizes()) + " does not match x " + c10::str(x.sizes()) +
                               " at kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) + ", padding " + std::to_string(padding));
  }
  const auto xt = channels_last_padded(x, d.cp);
  const auto gt = channels_last_padded(grad_output, d.cp);
  const int64_t blocks = d.cp / kBlock;
  auto acc = torch::zeros({blocks, kernel * kernel, kBlock}, xt.options());
  const float* xp = xt.data_ptr<float>();
  const float* gp = gt.data_ptr<float>();
  float* ap = acc.data_ptr<float>();
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) dw_weight_grad_block(xp, gp, ap + b * kernel * kernel * kBlock, b, d);
  });
  // [blocks, k·k, 16] → [C, 1, k, k]
  return acc.permute({0, 2, 1}).reshape({d.cp, kernel * kernel}).narrow(0, 0, c).reshape({c, 1, kernel, kernel}).contiguous();
}

torch::Tensor depthwise_conv2d(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride, int64_t padding) {
  if (weight.dim() != 4 || weight.size(1) != 1 || weight.size(2) != weight.size(3) || x.dim() != 4 || x.size(1) != weight.size(0)) {
    fail("SHAPE_MISMATCH", "depthwise conv: x " + c10::str(x.sizes()) + " and weight " + c10::str(weight.sizes()) + " must be [N, C, H, W] and [C, 1, k, k]");
  }
  return DepthwiseConvFunction::apply(x, weight, stride, padding);
}

}  // namespace torchnas
