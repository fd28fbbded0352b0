// Training-mode 2-D batch norm (batch statistics, running statistics updated) with an optional activation
// fused in, forward and backward on our own vectorised CPU loops.
//
// Why: LibTorch 1.13's CPU batch norm in training mode runs at 0.7–2 GB/s on the DenseNAS shapes (measured,
// one thread, the same kernels from Python: [32, 144, 16, 16] forward 3.0 ms where a ReLU6 over it takes 0.5 ms;
// [32, 2304, 2, 2] backward 7.2 ms): it reduces each (sample, channel) plane on its own, which for the small
// planes of a 32×32 search (2×2 … 16×16) is mostly loop overhead. Here the statistics are accumulated across
// the batch over blocks of whole channels (each block's per-element sums contiguous and L1-resident, reduced
// per channel once), the normalisation is one multiply-add per element, and the activation's mask is applied
// inside the backward's two passes instead of in a pass of its own.
//
// Semantics are torch::nn::BatchNorm2d's in training mode exactly: biased variance for the normalisation,
// running_mean ← (1 − m)·running_mean + m·mean and running_var ← (1 − m)·running_var + m·var·M/(M − 1)
// (M = N·H·W), num_batches_tracked += 1, and the momentum-less cumulative average when momentum is unset. The
// activation's gradient mask is PyTorch's: ReLU6 (hardtanh 0..6) passes where 0 < y < 6, ReLU where y > 0.
// Results equal ATen's to float rounding (the sums run in a different order; the channel totals in double).
#pragma once
#include <torch/torch.h>

namespace torchnas {

enum class BnActivation { kNone, kRelu, kRelu6 };

// act(bn(x)) for a module in training mode; any other case (eval mode, no running statistics, not float32,
// not CPU, or TORCHNAS_KERNELS=batch_norm_train=aten) runs the module's own forward followed by the activation.
torch::Tensor batch_norm_act(torch::nn::BatchNorm2d& bn, const torch::Tensor& x, BnActivation activation);

}  // namespace torchnas
