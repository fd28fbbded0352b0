// Learning-rate schedules as PyTorch 1.13's lr_scheduler computes them, so a port trains on the same lr
// sequence: OneCycleLR and CosineAnnealingLR stepped every batch, ExponentialLR and MultiStepLR every
// epoch (spec ncp.md §5.3, tools/train_predictor.py). OneCycle also cycles the momentum (Adam's β1).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace torchnas {

enum class ScheduleKind { kOneCycle, kCosine, kExponential, kStep, kNoam };

struct ScheduleSettings {
  ScheduleKind kind = ScheduleKind::kOneCycle;
  // OneCycleLR (cosine annealing, two phases); max_lr is the optimiser's lr.
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  bool cycle_momentum = true;
  // CosineAnnealingLR (T_max = total steps).
  double eta_min = 0;
  // ExponentialLR / MultiStepLR.
  double gamma = 0.1;
  std::vector<int64_t> milestones;
  // Noam (the Transformer's ScheduledOptim, spec nar.md §4.6), stepped every batch; base lr = lr_mul:
  // lr(n) = lr_mul · d_model^-0.5 · min(n^-0.5, n · warmup^-1.5) for the n-th optimiser step, n from 1
  // (the original increments its counter and sets the lr before each step).
  double noam_d_model = 512;
  int64_t warmup_steps = 4000;
};

// The Noam lr of optimiser step n (n >= 1).
double noam_at(double lr_mul, double d_model, int64_t warmup_steps, int64_t n);

struct ScheduleValue {
  double lr;
  std::optional<double> momentum;  // set when the schedule cycles momentum
};

// OneCycleLR's lr and momentum for optimiser step `step` of `total_steps` (closed form; PyTorch's too).
ScheduleValue one_cycle_at(const ScheduleSettings& settings, double max_lr, int64_t step, int64_t total_steps);

// The schedule as a stepped object, with PyTorch's recursive forms where PyTorch uses them (cosine,
// exponential, multi-step), so the lr sequence matches bit for bit.
class LrSchedule {
 public:
  LrSchedule(const ScheduleSettings& settings, double base_lr, int64_t total_steps);
  // The lr (and momentum) the next optimiser step uses.
  const ScheduleValue& current() const { return value_; }
  void after_batch();  // one-cycle and cosine advance here
  void after_epoch();  // exponential and multi-step advance here

  // The schedule's position (step counter, lr, momentum) for checkpoints; restore() puts it back
  // bit for bit, including the recursive forms' accumulated lr.
  std::vector<double> position() const;
  void restore(const std::vector<double>& position);

 private:
  void advance();

  ScheduleSettings settings_;
  double base_lr_;
  int64_t total_steps_;
  int64_t last_epoch_ = 0;  // PyTorch's name for the scheduler's step counter
  ScheduleValue value_;
};

}  // namespace torchnas
