// Adam and AdamW as one pass over each parameter tensor. torch::optim::Adam runs ~8 ATen kernels per
// parameter per step (L2 add, two moment updates, sqrt, divide, add eps, addcdiv), each a full sweep of
// memory plus dispatch; over a flat parameter buffer this does the same arithmetic in a single loop.
//
// Same update as torch::optim::Adam / AdamW of LibTorch 1.13 (and torch.optim's single-tensor path):
// L2 added to the gradient (Adam) or decoupled decay p·(1 − lr·wd) (AdamW), moments m ← β1·m + (1−β1)·g,
// v ← β2·v + (1−β2)·g², bias corrections from the current β1/β2 and the parameter's step count, and
// p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε); lr and β1 are read from the param group at every step, so a
// schedule that cycles them (one-cycle) applies exactly as with torch's class. Float32 throughout, as
// ATen's CPU kernels compute for float tensors; results agree with torch's to rounding (not bit for bit).
//
// The classes derive from torch's, so options, per-parameter state (step, exp_avg, exp_avg_sq) and
// save/load are torch's own: checkpoints have the same layout and a resumed run continues the moments.
// Parameters must be float32, contiguous CPU tensors; amsgrad is not supported.
#pragma once
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace torchnas {

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace torchnas
