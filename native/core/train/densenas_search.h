// DenseNAS's search steps (specs/densenas.md §3.3–§3.6, §4.2–§4.3) on the core training loop:
// - weight step: sample k ops per row (uniform during warm-up, else the sample policy), cross-entropy,
//   SGD (lr 0.2, momentum 0.9, wd 4e-5) under a per-step cosine to min_lr over total_weight_steps;
// - architecture step: sample 2 ops per row by softmax(α), CE + cost penalty, one Adam step on the α
//   and β groups (betas (0.5, 0.999), wd 1e-3, constant lr; the cosine does not advance), then the
//   re-scaling of the sampled α (§3.6) so the exp-mass of each sampled subset is unchanged.
// Cost penalties: the original's λ·ln(cost)/ln(τ) (default), or a target latency ("Beyond" 1):
// ratio λ·cost/target, or hinge λ·max(0, cost/target − 1).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <atomic>
#include <memory>

#include "../nets/dense_supernet.h"
#include "training_loop.h"

namespace torchnas {

enum class DenseCostPenalty { kLog, kRatio, kHinge };

struct DenseSearchSettings {
  double weight_lr = 0.2, weight_momentum = 0.9, weight_decay = 4e-5;
  double min_lr = 1e-5;             // the inherited cosine floor (§1.1), not optim.weight.min_lr
  int64_t total_weight_steps = 1;   // T_max of the cosine: (n_train // batch + 1) · epochs
  double alpha_lr = 3e-4, beta_lr = 3e-4, arch_weight_decay = 1e-3, arch_beta1 = 0.5, arch_beta2 = 0.999;
  int64_t weight_sample_num = 1;
  int64_t arch_sample_num = 2;
  DenseSamplePolicy sample_policy = DenseSamplePolicy::kProb;
  double temperature = 1.0;
  // Gumbel-softmax relaxation in the architecture step (spec "Beyond" 3, the original has none): every
  // α/β row the step uses gets fresh Gumbel(0, 1) noise, drawn from the run's generator, before the
  // tempered softmax; the same perturbed logits weight the forward and the chained cost. Weight steps and
  // validation keep the noise-free mixture (a choice: the relaxation is there for the α/β gradient).
  bool gumbel = false;
  bool cost_term = true;
  DenseCostPenalty penalty = DenseCostPenalty::kLog;
  double sub_loss_factor = 0.15;    // λ
  double log_base = 15.0;           // τ
  double target = 0;                // the target cost for kRatio / kHinge
};

struct DenseStepResult {
  double loss = 0;      // the optimised loss
  double ce = 0;        // cross-entropy
  double cost = 0;      // chained expected cost (0 without costs)
  int64_t correct = 0;  // top-1 hits in the batch
  int64_t count = 0;
};

class DenseSearch {
 public:
  DenseSearch(DenseSuperNet net, DenseArch arch, const DenseSearchSettings& settings, at::Generator generator);

  // warmup: weight-only epochs before arch updates start (uniform sampling, §3.3).
  // `ops`: the step's sampled ops given by the caller (checked_sample) instead of drawn from the generator.
  DenseStepResult weight_step(const torch::Tensor& images, const torch::Tensor& labels, bool warmup, const DenseCosts* costs,
                              const DenseSample* ops = nullptr);
  DenseStepResult arch_step(const torch::Tensor& images, const torch::Tensor& labels, const DenseCosts* costs, const DenseSample* ops = nullptr);
  // All ops, no gradients, BN in training mode as in the original's validation pass (§3.4).
  DenseStepResult evaluate(const torch::Tensor& images, const torch::Tensor& labels, const DenseCosts* costs);

  // The search's temperature from now on (annealing is scheduled by the caller per epoch; > 0).
  void set_temperature(double t);

  TrainingLoop& loop() { return *loop_; }
  DenseSuperNet& net() { return net_; }
  DenseArch& arch() { return arch_; }
  const DenseSearchSettings& settings() const { return settings_; }
  double weight_lr() const { return loop_->lr(0); }
  // An epoch boundary of the search (the loop's epoch counter; the cosine is stepped per batch).
  void end_epoch() { loop_->end_epoch(); }

 private:
  torch::Tensor penalty(const torch::Tensor& cost) const;

  DenseSuperNet net_;
  DenseArch arch_;
  DenseSearchSettings settings_;
  std::unique_ptr<TrainingLoop> loop_;  // groups: 0 weights (SGD + cosine), 1 alpha (Adam), 2 beta (Adam)
};

// Images [N, C, H, W] (float, or uint8 scaled by 1/255) and int64 labels in [0, classes); SHAPE_MISMATCH /
// INVALID_ARGUMENT otherwise.
void check_dense_batch(const DenseSpaceSpec& space, const torch::Tensor& images, const torch::Tensor& labels);

}  // namespace torchnas
