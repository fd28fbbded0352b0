// The one training loop of the core (DESIGN.md "one training loop"): parameter groups, each with its own
// optimizer and learning-rate schedule (DenseNAS alternates weight and architecture steps; NAR steps
// AdamW under a per-step schedule), a step that refuses a non-finite loss before touching the weights,
// and checkpoints that hold everything needed to resume bit for bit: module states, every optimizer's
// state, every schedule's position, epoch and step counters, and the generators' states.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../errors.h"
#include "../serialize.h"
#include "lr_schedule.h"

namespace torchnas {

class DistributedContext;

enum class OptimizerKind { kAdam, kAdamW, kSgd };

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::kSgd;
  double lr = 0.01;
  double weight_decay = 0;  // Adam/SGD: L2 added to the gradient; AdamW: decoupled
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double momentum = 0;  // SGD
  bool nesterov = false;
  // Adam/AdamW: one fused pass per parameter tensor (fused_adam.h), for a group that is one flat buffer;
  // same update, state and checkpoint layout as torch's classes. SGD ignores it.
  bool fused = false;
};

struct ParameterGroup {
  std::string name;
  std::vector<torch::Tensor> parameters;
  OptimizerSettings optimizer;
  std::optional<ScheduleSettings> schedule;  // none: the optimizer's lr stays as set
  int64_t schedule_steps = 0;                // total batches, for per-step schedules
};

// A loss that is NaN or ±inf: the step is refused before any update and the run records the failure.
class NonFiniteLoss : public Error {
 public:
  explicit NonFiniteLoss(const std::string& message) : Error("NON_FINITE_LOSS", message) {}
};

class TrainingLoop {
 public:
  // generator: the run's generator (shuffles, sampling, dropout); saved and restored with the loop.
  TrainingLoop(std::vector<ParameterGroup> groups, at::Generator generator);
  ~TrainingLoop();
  TrainingLoop(const TrainingLoop&) = delete;
  TrainingLoop& operator=(const TrainingLoop&) = delete;

  size_t group_count() const { return groups_.size(); }
  size_t group_index(const std::string& name) const;  // INVALID_ARGUMENT for an unknown name

  // One optimisation step of group g: schedule → zero grad → loss = compute() → finite check →
  // backward → optimizer step → schedule advance. Returns the loss (detached).
  torch::Tensor step(size_t g, const std::function<torch::Tensor()>& compute);
  // One step of several groups from one loss (e.g. DenseNAS's α and β, two Adam groups with their own lr).
  torch::Tensor step(const std::vector<size_t>& groups, const std::function<torch::Tensor()>& compute);
  // One step of group g whose compute() writes the group's gradients itself (a hand-derived backward) and
  // returns the loss: schedule → loss = compute() → finite check → optimizer step → schedule advance.
  // No zero_grad and no autograd: compute() overwrites every gradient of the group.
  torch::Tensor step_with_computed_gradients(size_t g, const std::function<torch::Tensor()>& compute);
  void end_epoch();  // epoch-stepped schedules advance; the epoch counter moves on

  int64_t epoch() const { return epoch_; }
  int64_t steps() const { return steps_; }
  at::Generator& generator() { return generator_; }
  torch::optim::Optimizer& optimizer(size_t g);
  double lr(size_t g) const;

  // Wall time spent in each phase of step() since the loop was made (steady clock; a few clock reads
  // per step, so always on): where a trainer's time goes, reported with its result.
  struct StepProfile {
    double prepare = 0;   // schedule → optimizer options, zero_grad
    double compute = 0;   // the caller's loss (forward; the fused paths' backward too)
    double backward = 0;  // autograd's backward
    double communicate = 0;  // data-parallel: the finite-loss vote and the gradient all-reduce (0 in one process)
    double update = 0;    // optimizer step and schedule advance
  };
  const StepProfile& profile() const { return profile_; }
  // Overrides group g's optimizer settings from now on (e.g. a caller that sets lr per epoch).
  void set_optimizer_settings(size_t g, const OptimizerSettings& settings);

  // Data parallelism: with a context, every step first checks that the loss is finite on every rank (all ranks
  // refuse the step together), then averages the step's gradients over the ranks before the optimizer step, so
  // every rank applies the same update. Null: single process (the default).
  void set_distributed(std::shared_ptr<DistributedContext> context) { distributed_ = std::move(context); }
  const std::shared_ptr<DistributedContext>& distributed() const { return distributed_; }

  // Writes / reads the loop's own state under `prefix` in an archive (see save_checkpoint).
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive, const std::string& path);

 private:
  struct Group;
  void apply_schedule(Group& group);
  torch::Tensor run_step(const std::vector<size_t>& groups, const std::function<torch::Tensor()>& compute, bool autograd);

  std::vector<std::unique_ptr<Group>> groups_;
  at::Generator generator_;
  int64_t epoch_ = 0;
  int64_t steps_ = 0;
  StepProfile profile_;
  std::shared_ptr<DistributedContext> distributed_;
};

using NamedModules = std::vector<std::pair<std::string, torch::nn::Module*>>;

// One file with the modules' parameters and buffers, the loop, and extra named tensors (per-epoch
// records, best states), written atomically. Loading checks that every part is there and has the
// right shapes; what is missing or mismatched is a FILE_CORRUPT error naming it.
void save_checkpoint(const std::string& path, const NamedModules& modules, const TrainingLoop& loop, const NamedTensors& extra);
NamedTensors load_checkpoint(const std::string& path, const NamedModules& modules, TrainingLoop& loop, const torch::Device& device);

}  // namespace torchnas
