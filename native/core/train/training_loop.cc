#include "training_loop.h"

#include <torch/version.h>

#include "../distributed/process_group.h"

#include "fused_adam.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <chrono>
#include <cmath>
#include <mutex>

namespace torchnas {

struct TrainingLoop::Group {
  std::string name;
  OptimizerSettings settings;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
};

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params, const OptimizerSettings& s) {
  if (!(s.lr > 0) || !std::isfinite(s.lr)) fail("INVALID_ARGUMENT", "learning rate must be a finite number > 0, got " + std::to_string(s.lr));
  if (!(s.weight_decay >= 0)) fail("INVALID_ARGUMENT", "weight decay must be >= 0, got " + std::to_string(s.weight_decay));
  switch (s.kind) {
    case OptimizerKind::kAdam: {
      auto o = torch::optim::AdamOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay);
      if (s.fused) return std::make_unique<FusedAdam>(params, o);
      return std::make_unique<torch::optim::Adam>(params, o);
    }
    case OptimizerKind::kAdamW: {
      auto o = torch::optim::AdamWOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay);
      if (s.fused) return std::make_unique<FusedAdamW>(params, o);
      return std::make_unique<torch::optim::AdamW>(params, o);
    }
    case OptimizerKind::kSgd:
      return std::make_unique<torch::optim::SGD>(
          params, torch::optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay).nesterov(s.nesterov));
  }
  fail("INVALID_ARGUMENT", "unknown optimizer");
}

// Writes settings into the optimizer's (single) param group, as PyTorch's schedulers and users do.
void write_options(torch::optim::Optimizer& opt, const OptimizerSettings& s, double lr, std::optional<double> momentum) {
  auto& options = opt.param_groups()[0].options();
  options.set_lr(lr);
  switch (s.kind) {
    case OptimizerKind::kAdam: {
      auto& o = static_cast<torch::optim::AdamOptions&>(options);
      o.betas({momentum.value_or(std::get<0>(o.betas())), std::get<1>(o.betas())});
      break;
    }
    case OptimizerKind::kAdamW: {
      auto& o = static_cast<torch::optim::AdamWOptions&>(options);
      o.betas({momentum.value_or(std::get<0>(o.betas())), std::get<1>(o.betas())});
      break;
    }
    case OptimizerKind::kSgd:
      if (momentum) static_cast<torch::optim::SGDOptions&>(options).momentum(*momentum);
      break;
  }
}

torch::Tensor doubles(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }

std::vector<double> read_doubles(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  torch::Tensor t;
  if (!archive.try_read(key, t)) fail("FILE_CORRUPT", path + ": the checkpoint has no '" + key + "'");
  t = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

// The global CPU generator is shared by the whole process: serialise reads and writes of its state.
std::mutex& default_generator_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

TrainingLoop::TrainingLoop(std::vector<ParameterGroup> groups, at::Generator generator) : generator_(std::move(generator)) {
  if (groups.empty()) fail("INVALID_ARGUMENT", "a training loop needs at least one parameter group");
  for (auto& spec : groups) {
    for (const auto& other : groups_) {
      if (other->name == spec.name) fail("INVALID_ARGUMENT", "two parameter groups are named '" + spec.name + "'");
    }
    if (spec.parameters.empty()) fail("INVALID_ARGUMENT", "parameter group '" + spec.name + "' has no parameters");
    auto g = std::make_unique<Group>();
    g->name = spec.name;
    g->settings = spec.optimizer;
    g->optimizer = make_optimizer(spec.parameters, spec.optimizer);
    if (spec.schedule) g->schedule = std::make_unique<LrSchedule>(*spec.schedule, spec.optimizer.lr, spec.schedule_steps);
    groups_.push_back(std::move(g));
  }
}

TrainingLoop::~TrainingLoop() = default;

size_t TrainingLoop::group_index(const std::string& name) const {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i]->name == name) return i;
  }
  fail("INVALID_ARGUMENT", "no parameter group named '" + name + "'");
}

torch::optim::Optimizer& TrainingLoop::optimizer(size_t g) { return *groups_.at(g)->optimizer; }

double TrainingLoop::lr(size_t g) const {
  const auto& group = *groups_.at(g);
  return group.schedule ? group.schedule->current().lr : group.optimizer->param_groups()[0].options().get_lr();
}

void TrainingLoop::set_optimizer_settings(size_t g, const OptimizerSettings& s) {
  auto& group = *groups_.at(g);
  if (s.kind != group.settings.kind || s.fused != group.settings.fused) {
    fail("INVALID_ARGUMENT", "group '" + group.name + "' cannot change its optimizer kind");
  }
  if (!(s.lr > 0) || !std::isfinite(s.lr)) fail("INVALID_ARGUMENT", "learning rate must be a finite number > 0, got " + std::to_string(s.lr));
  group.settings = s;
  write_options(*group.optimizer, s, s.lr, s.kind == OptimizerKind::kSgd ? std::optional<double>(s.momentum) : std::nullopt);
  auto& options = group.optimizer->param_groups()[0].options();
  switch (s.kind) {
    case OptimizerKind::kSgd: static_cast<torch::optim::SGDOptions&>(options).weight_decay(s.weight_decay); break;
    case OptimizerKind::kAdam: static_cast<torch::optim::AdamOptions&>(options).weight_decay(s.weight_decay); break;
    case OptimizerKind::kAdamW: static_cast<torch::optim::AdamWOptions&>(options).weight_decay(s.weight_decay); break;
  }
}

void TrainingLoop::apply_schedule(Group& group) {
  if (!group.schedule) return;
  const auto& v = group.schedule->current();
  write_options(*group.optimizer, group.settings, v.lr, v.momentum);
}

torch::Tensor TrainingLoop::step(size_t g, const std::function<torch::Tensor()>& compute) { return step(std::vector<size_t>{g}, compute); }

torch::Tensor TrainingLoop::step(const std::vector<size_t>& indices, const std::function<torch::Tensor()>& compute) {
  return run_step(indices, compute, /*autograd=*/true);
}

torch::Tensor TrainingLoop::step_with_computed_gradients(size_t g, const std::function<torch::Tensor()>& compute) {
  return run_step({g}, compute, /*autograd=*/false);
}

torch::Tensor TrainingLoop::run_step(const std::vector<size_t>& indices, const std::function<torch::Tensor()>& compute, bool autograd) {
  if (indices.empty()) fail("INVALID_ARGUMENT", "a step needs at least one parameter group");
  using Clock = std::chrono::steady_clock;
  auto mark = Clock::now();
  auto lap = [&mark](double& into) {
    const auto now = Clock::now();
    into += std::chrono::duration<double>(now - mark).count();
    mark = now;
  };
  std::vector<Group*> groups;
  for (size_t g : indices) groups.push_back(groups_.at(g).get());
  for (auto* group : groups) {
    apply_schedule(*group);
    // Zeroed, not reset: PyTorch 1.x's zero_grad (the originals') keeps zero tensors, which the optimizers then
    // decay and momentum-update (DenseNAS relies on it); LibTorch 2.x resets them by default.
#if TORCH_VERSION_MAJOR >= 2
    if (autograd) group->optimizer->zero_grad(/*set_to_none=*/false);
#else
    if (autograd) group->optimizer->zero_grad();
#endif
  }
  // Data-parallel: which gradients this step writes, told by each gradient's tensor and version counter before and
  // after (autograd accumulates in place or replaces the tensor); only those are averaged over the ranks.
  std::vector<torch::Tensor> params;
  std::vector<std::pair<const void*, int64_t>> before;
  if (distributed_) {
    for (auto* group : groups)
      for (const auto& pg : group->optimizer->param_groups())
        for (const auto& p : pg.params()) {
          params.push_back(p);
          const auto& g = p.grad();
          before.emplace_back(g.defined() ? static_cast<const void*>(g.unsafeGetTensorImpl()) : nullptr, g.defined() ? static_cast<int64_t>(g._version()) : 0);
        }
  }
  lap(profile_.prepare);
  auto loss = compute();
  const double value = loss.item<double>();
  lap(profile_.compute);
  if (!std::isfinite(value)) {
    // data-parallel: the other ranks learn of it through all_true below and refuse the step too
    if (distributed_) distributed_->all_true(false);
    throw NonFiniteLoss("the loss of group '" + groups[0]->name + "' is " + std::to_string(value) + " at epoch " +
                        std::to_string(epoch_) + ", step " + std::to_string(steps_) + "; the weights were not updated");
  }
  if (distributed_) {
    const bool all_finite = distributed_->all_true(true);
    lap(profile_.communicate);
    if (!all_finite) {
      throw NonFiniteLoss("the loss of group '" + groups[0]->name + "' is not finite on another rank at epoch " + std::to_string(epoch_) +
                          ", step " + std::to_string(steps_) + "; the weights were not updated");
    }
  }
  if (autograd) {
    loss.backward();
    lap(profile_.backward);
  }
  if (distributed_) {
    std::vector<char> written(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& g = params[i].grad();
      written[i] = g.defined() && (static_cast<const void*>(g.unsafeGetTensorImpl()) != before[i].first || static_cast<int64_t>(g._version()) != before[i].second);
    }
    distributed_->average_gradients(params, &written);
    lap(profile_.communicate);
  }
  for (auto* group : groups) {
    group->optimizer->step();
    if (group->schedule) group->schedule->after_batch();
  }
  ++steps_;
  lap(profile_.update);
  return loss.detach();
}

void TrainingLoop::end_epoch() {
  for (auto& g : groups_) {
    if (g->schedule) g->schedule->after_epoch();
  }
  ++epoch_;
}

void TrainingLoop::save(torch::serialize::OutputArchive& archive) const {
  archive.write("loop/counters", torch::tensor({epoch_, steps_}, torch::kInt64));
  archive.write("loop/generator", generator_.get_state());
  {
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    archive.write("loop/default_generator", at::detail::getDefaultCPUGenerator().get_state());
  }
  for (const auto& g : groups_) {
    torch::serialize::OutputArchive optimizer_archive;
    g->optimizer->save(optimizer_archive);
    archive.write("loop/optimizer/" + g->name, optimizer_archive);
    if (g->schedule) archive.write("loop/schedule/" + g->name, doubles(g->schedule->position()));
    // Which parameters hold a (zeroed) gradient: an optimizer decays and momentum-updates those even in
    // steps where they get no gradient (PyTorch 1.x zero_grad keeps zero tensors; DenseNAS relies on it),
    // so a resumed run must start with the same set to continue bit-identically.
    const auto& params = g->optimizer->param_groups()[0].params();
    auto defined = torch::zeros({static_cast<int64_t>(params.size())}, torch::kUInt8);
    for (size_t i = 0; i < params.size(); ++i) defined[static_cast<int64_t>(i)] = params[i].grad().defined() ? 1 : 0;
    archive.write("loop/grad_defined/" + g->name, defined);
  }
}

void TrainingLoop::load(torch::serialize::InputArchive& archive, const std::string& path) {
  auto counters = read_doubles(archive, "loop/counters", path);
  if (counters.size() != 2 || counters[0] < 0 || counters[1] < 0) fail("FILE_CORRUPT", path + ": malformed loop counters");
  torch::Tensor state, default_state;
  if (!archive.try_read("loop/generator", state) || !archive.try_read("loop/default_generator", default_state)) {
    fail("FILE_CORRUPT", path + ": the checkpoint has no generator state");
  }
  for (auto& g : groups_) {
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read("loop/optimizer/" + g->name, optimizer_archive)) {
      fail("FILE_CORRUPT", path + ": the checkpoint has no optimizer state for group '" + g->name + "'");
    }
    try {
      g->optimizer->load(optimizer_archive);
    } catch (const c10::Error& e) {
      fail("FILE_CORRUPT", path + ": the optimizer state of group '" + g->name + "' does not fit this model (" + e.what_without_backtrace() + ")");
    }
    if (g->schedule) g->schedule->restore(read_doubles(archive, "loop/schedule/" + g->name, path));
    torch::Tensor defined;
    if (archive.try_read("loop/grad_defined/" + g->name, defined)) {
      auto& params = g->optimizer->param_groups()[0].params();
      if (defined.numel() != static_cast<int64_t>(params.size())) fail("FILE_CORRUPT", path + ": the gradient record of group '" + g->name + "' does not fit");
      auto flags = defined.to(torch::kCPU, torch::kUInt8);
      for (size_t i = 0; i < params.size(); ++i) {
        auto& p = params[i];
        if (flags[static_cast<int64_t>(i)].item<uint8_t>()) p.mutable_grad() = torch::zeros_like(p);
        else p.mutable_grad() = torch::Tensor();
      }
    }
  }
  try {
    generator_.set_state(state.to(torch::kCPU));
    std::lock_guard<std::mutex> lock(default_generator_mutex());
    at::Generator default_generator = at::detail::getDefaultCPUGenerator();  // a handle to the same generator
    default_generator.set_state(default_state.to(torch::kCPU));
  } catch (const c10::Error& e) {
    fail("FILE_CORRUPT", path + ": the generator state is malformed (" + std::string(e.what_without_backtrace()) + ")");
  }
  epoch_ = static_cast<int64_t>(counters[0]);
  steps_ = static_cast<int64_t>(counters[1]);
}

void save_checkpoint(const std::string& path, const NamedModules& modules, const TrainingLoop& loop, const NamedTensors& extra) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, module] : modules) {
    torch::serialize::OutputArchive module_archive;
    module->save(module_archive);
    archive.write("module/" + name, module_archive);
  }
  loop.save(archive);
  std::vector<std::string> names;
  for (const auto& [name, value] : extra) {
    archive.write("extra/" + name, value.detach().cpu());
    names.push_back(name);
  }
  archive.write("extra_names", c10::IValue(c10::List<std::string>(names)));
  save_archive(path, archive);
}

NamedTensors load_checkpoint(const std::string& path, const NamedModules& modules, TrainingLoop& loop, const torch::Device& device) {
  torch::serialize::InputArchive archive = read_verified_archive(path, device, "a checkpoint");
  for (const auto& [name, module] : modules) {
    torch::serialize::InputArchive module_archive;
    if (!archive.try_read("module/" + name, module_archive)) fail("FILE_CORRUPT", path + ": the checkpoint has no module '" + name + "'");
    try {
      module->load(module_archive);
    } catch (const c10::Error& e) {
      fail("FILE_CORRUPT", path + ": module '" + name + "' does not fit the checkpoint (" + e.what_without_backtrace() + ")");
    }
  }
  loop.load(archive, path);
  c10::IValue names_value;
  if (!archive.try_read("extra_names", names_value) || !names_value.isList()) fail("FILE_CORRUPT", path + ": the checkpoint has no extra_names list");
  NamedTensors extra;
  for (const auto& item : names_value.toListRef()) {
    if (!item.isString()) fail("FILE_CORRUPT", path + ": extra_names holds a non-string");
    const std::string name = item.toStringRef();
    torch::Tensor t;
    if (!archive.try_read("extra/" + name, t)) fail("FILE_CORRUPT", path + ": the checkpoint lacks extra tensor '" + name + "'");
    extra.emplace_back(name, t);
  }
  return extra;
}

}  // namespace torchnas
