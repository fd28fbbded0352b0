// NCP's metric predictor (spec ncp.md §5.2): a shared trunk BN → Linear → BN → act → Dropout, and one head
// per metric group Linear → BN → act → Dropout → Linear; the output concatenates the heads in group order.
//
// Reproducibility: the predictor owns a CPU generator seeded with `seed` that stands in for torch's global
// generator in the original run (spec §5.3: torch.manual_seed(SEED)). Initialisation, dropout and the
// trainer's shuffling draw from it, never from LibTorch's global generator, so concurrent jobs cannot
// perturb a run. The draws are made in PyTorch's order (Linear: kaiming_uniform(a=√5) weight, then uniform
// bias; dropout: bernoulli noise of the activation's shape, skipped when p = 0).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace torchnas {

enum class Activation { kReLU, kReLU6, kTanh, kSwish };
enum class LossKind { kSmoothL1, kMse, kL1 };  // the training loss (mean over batch × outputs)
Activation parse_activation(const std::string& name);  // relu, relu6, tanh, swish

struct MlpPredictorOptions {
  int64_t input_dim = 27;
  std::vector<int64_t> groups;  // outputs per metric group, e.g. seg: {1, 2, 2}
  int64_t shared_layer = 256;
  int64_t separated_layer = 128;
  Activation activation = Activation::kSwish;
  double trunk_dropout = 0.5;
  std::vector<double> head_dropouts;  // one per group
  // How the trainer trains it (forward() is PyTorch's op sequence, at::linear, either way).
  // true: autograd through forward() and torch's Adam per parameter, PyTorch's exact op sequence, so a run
  // reproduces PyTorch-in-Python bit for bit on the same LibTorch and BLAS. false (default): on the CPU, the
  // hand-derived forward/backward below with one fused optimizer update over a flat parameter buffer; the
  // same math, rounded differently in the last bits. (Linear as 1×1 oneDNN convolutions, the default
  // before, paid off only with the reference BLAS and was dropped: slower than at::linear on OpenBLAS.)
  bool exact_linear = false;
};

class MlpPredictorImpl : public torch::nn::Module {
 public:
  // Initialises from a fresh generator seeded with `seed`, in PyTorch's construction order.
  MlpPredictorImpl(const MlpPredictorOptions& options, uint64_t seed);
  // [N, input_dim] normalised codes → [N, Σ groups] normalised metrics (dropout in training mode only).
  torch::Tensor forward(const torch::Tensor& x);

  // The run's generator (after initialisation): the trainer draws its shuffling seeds from it.
  at::Generator& generator() { return generator_; }
  int64_t output_dim() const;
  const MlpPredictorOptions& options() const { return options_; }

  // ---- The fast training path (mlp_predictor_fast.cc; CPU, float32) ----
  // Makes every parameter a view into one flat float32 buffer, with the parameters' current values, and
  // returns it: the optimizer then updates all weights in one pass. The heads' hidden weights sit side by
  // side ([groups·separated, shared] rows) so the heads' hidden Linear layers run as one GEMM (they share
  // their input), and so do their BatchNorm weights. Anything that replaces a parameter's storage
  // (Module::load does) undoes the views; call this again afterwards.
  torch::Tensor flatten_parameters();
  // One training step's forward and hand-derived backward on a batch, with forward()'s train-mode
  // semantics: BatchNorm on batch statistics with running stats and num_batches_tracked updated as PyTorch
  // does, dropout masks drawn from generator() in the same order and the same way. Writes d(mean loss)/dθ
  // for every parameter into `grad` (flat_parameters()'s layout; allocated when undefined) and returns the
  // loss. Needs flatten_parameters() first.
  double train_step_gradients(const torch::Tensor& x, const torch::Tensor& y, LossKind loss, torch::Tensor& grad);
  // forward() in eval mode (running statistics, no dropout) by the same loops and GEMMs, for the trainer's
  // per-epoch validation: [N, input_dim] → [N, Σ groups]. Needs flatten_parameters() first.
  torch::Tensor eval_forward_fast(const torch::Tensor& x);
  // The flat buffer of the last flatten_parameters() (undefined before).
  const torch::Tensor& flat_parameters() const;

 private:
  struct FastPath;  // the flat layout and the step's scratch buffers
  struct Head {
    torch::nn::Linear hidden{nullptr};
    torch::nn::BatchNorm1d norm{nullptr};
    double dropout;
    torch::nn::Linear out{nullptr};
  };
  torch::Tensor activate(const torch::Tensor& x) const;
  torch::Tensor dropout(const torch::Tensor& x, double p);
  // The dropout noise of ATen's CPU dropout: bernoulli(1 − p) / (1 − p) of `shape`, from our generator.
  torch::Tensor dropout_noise(at::IntArrayRef shape, const torch::TensorOptions& options, double p);

  MlpPredictorOptions options_;
  torch::nn::BatchNorm1d input_norm_{nullptr};
  torch::nn::Linear trunk_{nullptr};
  torch::nn::BatchNorm1d trunk_norm_{nullptr};
  std::vector<Head> heads_;
  at::Generator generator_;
  std::shared_ptr<FastPath> fast_;
};
TORCH_MODULE(MlpPredictor);

// PyTorch's nn.Linear.reset_parameters with an explicit generator.
void init_linear_like_pytorch(torch::nn::Linear& linear, at::Generator& generator);

}  // namespace torchnas
