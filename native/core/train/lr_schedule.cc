#include "lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "../errors.h"

namespace torchnas {

namespace {

const double kPi = 3.14159265358979323846;  // math.pi

// OneCycleLR._annealing_cos.
double annealing_cos(double start, double end, double pct) {
  const double cos_out = std::cos(kPi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

}  // namespace

ScheduleValue one_cycle_at(const ScheduleSettings& s, double max_lr, int64_t step, int64_t total_steps) {
  if (total_steps < 2) fail("INVALID_ARGUMENT", "one-cycle needs at least 2 steps, got " + std::to_string(total_steps));
  if (step < 0 || step > total_steps) {
    fail("INVALID_ARGUMENT", "one-cycle step " + std::to_string(step) + " outside [0, " + std::to_string(total_steps) + "]");
  }
  const double initial_lr = max_lr / s.div_factor;
  const double min_lr = initial_lr / s.final_div_factor;
  // Two phases as PyTorch 1.13 builds them: warm-up ends at float(pct_start·total) − 1, then anneal to the end.
  const double end1 = static_cast<double>(s.pct_start * static_cast<double>(total_steps)) - 1;
  const double end2 = static_cast<double>(total_steps - 1);
  const double t = static_cast<double>(step);
  ScheduleValue v{};
  if (t <= end1) {
    const double pct = t / end1;
    v.lr = annealing_cos(initial_lr, max_lr, pct);
    if (s.cycle_momentum) v.momentum = annealing_cos(s.max_momentum, s.base_momentum, pct);
  } else {
    const double pct = (t - end1) / (end2 - end1);
    v.lr = annealing_cos(max_lr, min_lr, pct);
    if (s.cycle_momentum) v.momentum = annealing_cos(s.base_momentum, s.max_momentum, pct);
  }
  return v;
}

double noam_at(double lr_mul, double d_model, int64_t warmup_steps, int64_t n) {
  if (n < 1) fail("INVALID_ARGUMENT", "Noam steps count from 1, got " + std::to_string(n));
  if (warmup_steps < 1) fail("INVALID_ARGUMENT", "Noam warm-up must be >= 1 step, got " + std::to_string(warmup_steps));
  const double step = static_cast<double>(n), warmup = static_cast<double>(warmup_steps);
  const double scale = std::pow(d_model, -0.5) * std::min(std::pow(step, -0.5), step * std::pow(warmup, -1.5));
  return lr_mul * scale;
}

LrSchedule::LrSchedule(const ScheduleSettings& settings, double base_lr, int64_t total_steps)
    : settings_(settings), base_lr_(base_lr), total_steps_(total_steps) {
  if (!(base_lr > 0)) fail("INVALID_ARGUMENT", "learning rate must be > 0, got " + std::to_string(base_lr));
  if (settings_.kind == ScheduleKind::kOneCycle) {
    value_ = one_cycle_at(settings_, base_lr_, 0, total_steps_);
  } else if (settings_.kind == ScheduleKind::kNoam) {
    if (!(settings_.noam_d_model > 0)) fail("INVALID_ARGUMENT", "Noam needs d_model > 0");
    value_ = {noam_at(base_lr_, settings_.noam_d_model, settings_.warmup_steps, 1), std::nullopt};
  } else {
    if (settings_.kind == ScheduleKind::kCosine && total_steps_ < 1) fail("INVALID_ARGUMENT", "cosine schedule needs >= 1 step");
    value_ = {base_lr_, std::nullopt};
  }
}

void LrSchedule::after_batch() {
  if (settings_.kind == ScheduleKind::kOneCycle || settings_.kind == ScheduleKind::kCosine || settings_.kind == ScheduleKind::kNoam) advance();
}

void LrSchedule::after_epoch() {
  if (settings_.kind == ScheduleKind::kExponential || settings_.kind == ScheduleKind::kStep) advance();
}

void LrSchedule::advance() {
  ++last_epoch_;
  const int64_t e = last_epoch_;
  switch (settings_.kind) {
    case ScheduleKind::kOneCycle:
      // PyTorch raises past total_steps; the last batch's step() lands exactly on total_steps, which it allows.
      value_ = one_cycle_at(settings_, base_lr_, std::min(e, total_steps_), total_steps_);
      break;
    case ScheduleKind::kCosine: {  // CosineAnnealingLR.get_lr, the recursive form
      const double t_max = static_cast<double>(total_steps_), eta = settings_.eta_min, lr = value_.lr;
      if ((e - 1 - total_steps_) % (2 * total_steps_) == 0) {
        value_.lr = lr + (base_lr_ - eta) * (1 - std::cos(kPi / t_max)) / 2;
      } else {
        value_.lr = (1 + std::cos(kPi * static_cast<double>(e) / t_max)) / (1 + std::cos(kPi * static_cast<double>(e - 1) / t_max)) *
                        (lr - eta) +
                    eta;
      }
      break;
    }
    case ScheduleKind::kNoam:
      value_.lr = noam_at(base_lr_, settings_.noam_d_model, settings_.warmup_steps, e + 1);
      break;
    case ScheduleKind::kExponential:
      value_.lr *= settings_.gamma;
      break;
    case ScheduleKind::kStep: {  // MultiStepLR: lr · γ^(times e appears among the milestones)
      const auto hits = std::count(settings_.milestones.begin(), settings_.milestones.end(), e);
      if (hits > 0) value_.lr *= std::pow(settings_.gamma, static_cast<double>(hits));
      break;
    }
  }
}

std::vector<double> LrSchedule::position() const {
  return {static_cast<double>(last_epoch_), value_.lr, value_.momentum ? 1.0 : 0.0, value_.momentum.value_or(0.0)};
}

void LrSchedule::restore(const std::vector<double>& p) {
  if (p.size() != 4 || !(p[0] >= 0) || p[0] > 9e15) fail("FILE_CORRUPT", "the checkpoint's schedule position is malformed");
  last_epoch_ = static_cast<int64_t>(p[0]);
  value_.lr = p[1];
  value_.momentum = p[2] != 0 ? std::optional<double>(p[3]) : std::nullopt;
}

}  // namespace torchnas
