#include "classifier_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>

#include <chrono>
#include <limits>

#include "../errors.h"

namespace torchnas {

torch::Tensor prepare_images(const torch::Tensor& images, double mean, double std) {
  torch::Tensor x = images;
  if (x.dim() == 3) x = x.unsqueeze(1);
  if (x.dim() != 4) {
    fail("SHAPE_MISMATCH", "images must be [N, H, W] or [N, C, H, W], got " + c10::str(x.sizes()));
  }
  if (x.scalar_type() == torch::kUInt8) return (x.to(torch::kFloat32) / 255.0 - mean) / std;
  if (x.scalar_type() == torch::kFloat32) return x;
  if (x.scalar_type() == torch::kFloat64) return x.to(torch::kFloat32);
  fail("DTYPE_UNSUPPORTED", std::string("images must be uint8 or float, got ") + c10::toString(x.scalar_type()));
}

torch::Tensor prepare_labels(const torch::Tensor& labels, int64_t count, int64_t num_classes) {
  if (labels.dim() != 1 || labels.size(0) != count) {
    fail("SHAPE_MISMATCH", "labels must be [N] with N = " + std::to_string(count) + " images, got " + c10::str(labels.sizes()));
  }
  if (labels.is_floating_point()) fail("DTYPE_UNSUPPORTED", "labels must be integers, got " + std::string(c10::toString(labels.scalar_type())));
  auto y = labels.to(torch::kInt64);
  if (count > 0) {
    auto lo = y.min().item<int64_t>(), hi = y.max().item<int64_t>();
    if (lo < 0 || hi >= num_classes) {
      fail("INVALID_ARGUMENT", "labels must lie in [0, " + std::to_string(num_classes - 1) + "], found " + std::to_string(lo) +
                                   ".." + std::to_string(hi));
    }
  }
  return y;
}

ClassifierTrainer::ClassifierTrainer(ClassifierModel model, torch::Device device) : model_(std::move(model)), device_(device) {
  if (!model_.module || !model_.forward || model_.num_classes < 1) fail("INVALID_ARGUMENT", "a classifier needs a module, a forward and classes");
  model_.module->to(device_);
}

namespace {
ClassifierModel small_cnn_model(SmallCnn model) {
  const int64_t classes = model->num_classes;
  return {model.ptr(), [model](const torch::Tensor& x) mutable { return model->forward(x); }, classes};
}
}  // namespace

ClassifierTrainer::ClassifierTrainer(SmallCnn model, torch::Device device) : ClassifierTrainer(small_cnn_model(std::move(model)), device) {}

void ClassifierTrainer::to(const torch::Device& device) {
  device_ = device;
  model_.module->to(device_);
  loop_.reset();  // momentum buffers live on the old device
}

std::unique_ptr<TrainingLoop> sgd_loop(const std::vector<torch::Tensor>& parameters, const SgdSettings& sgd) {
  OptimizerSettings o;
  o.kind = OptimizerKind::kSgd;
  o.lr = sgd.lr;
  o.momentum = sgd.momentum;
  o.weight_decay = sgd.weight_decay;
  std::optional<ScheduleSettings> schedule;
  if (sgd.cosine_steps > 0) {
    ScheduleSettings cosine;
    cosine.kind = ScheduleKind::kCosine;
    cosine.eta_min = sgd.min_lr;
    schedule = cosine;
  }
  std::vector<ParameterGroup> groups;
  groups.push_back({"weights", parameters, o, schedule, sgd.cosine_steps});
  return std::make_unique<TrainingLoop>(std::move(groups), at::make_generator<at::CPUGeneratorImpl>(0));
}

std::vector<double> train_steps_on_batch(TrainingLoop& loop, int64_t steps, const std::function<torch::Tensor()>& loss) {
  if (steps < 0 || steps > 100000000) fail("INVALID_ARGUMENT", "steps must be in 0..1e8, got " + std::to_string(steps));
  std::vector<double> losses;
  losses.reserve(static_cast<size_t>(std::min<int64_t>(steps, 1 << 20)));
  try {
    for (int64_t s = 0; s < steps; ++s) losses.push_back(loop.step(0, loss).item<double>());
  } catch (const NonFiniteLoss&) {
    losses.push_back(std::numeric_limits<double>::quiet_NaN());  // the refused step, recorded
  }
  return losses;
}

TrainingLoop& ClassifierTrainer::loop(const SgdSettings& sgd) {
  if (!(sgd.lr > 0)) fail("INVALID_ARGUMENT", "learning rate must be > 0, got " + std::to_string(sgd.lr));
  if (!(sgd.label_smoothing >= 0 && sgd.label_smoothing < 1)) fail("INVALID_ARGUMENT", "label smoothing must be in [0, 1)");
  if (sgd.cosine_steps < 0 || !(sgd.min_lr >= 0)) fail("INVALID_ARGUMENT", "cosine steps and min lr must be >= 0");
  label_smoothing_ = sgd.label_smoothing;
  if (!loop_) loop_ = sgd_loop(model_.module->parameters(), sgd);
  loop_->set_distributed(distributed_);
  OptimizerSettings o;
  o.kind = OptimizerKind::kSgd;
  o.lr = sgd.lr;
  o.momentum = sgd.momentum;
  o.weight_decay = sgd.weight_decay;
  loop_->set_optimizer_settings(0, o);
  return *loop_;
}

void ClassifierTrainer::set_distributed(std::shared_ptr<DistributedContext> context) {
  distributed_ = std::move(context);
  if (loop_) loop_->set_distributed(distributed_);
}

void ClassifierTrainer::save_checkpoint(const std::string& path, const NamedTensors& extra) {
  if (!loop_) loop_ = sgd_loop(model_.module->parameters(), SgdSettings{});
  torchnas::save_checkpoint(path, {{"model", model_.module.get()}}, *loop_, extra);
}

NamedTensors ClassifierTrainer::load_checkpoint(const std::string& path) {
  if (!loop_) loop_ = sgd_loop(model_.module->parameters(), SgdSettings{});
  return torchnas::load_checkpoint(path, {{"model", model_.module.get()}}, *loop_, device_);
}

EpochResult ClassifierTrainer::train_epoch(const torch::Tensor& images, const torch::Tensor& labels,
                                           const EpochSettings& settings, const StepCallback& on_step,
                                           const std::atomic<bool>* cancelled) {
  auto start = std::chrono::steady_clock::now();
  if (settings.batch_size < 1) fail("INVALID_ARGUMENT", "batch size must be >= 1");
  auto x_all = prepare_images(images, mean, std);
  auto y_all = prepare_labels(labels, x_all.size(0), model_.num_classes);
  const int64_t n = x_all.size(0);
  if (n == 0) fail("INVALID_ARGUMENT", "cannot train on an empty dataset");
  auto& training = loop(settings.sgd);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(settings.seed);
  auto order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
  const int64_t steps = (n + settings.batch_size - 1) / settings.batch_size;
  model_.module->train();
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing_);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  std::string failure;
  for (int64_t s = 0; s < steps; ++s) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "training was cancelled at step " + std::to_string(s));
    auto idx = order.slice(0, s * settings.batch_size, std::min(n, (s + 1) * settings.batch_size));
    auto x = x_all.index_select(0, idx).to(device_);
    auto y = y_all.index_select(0, idx).to(device_);
    torch::Tensor logits;
    double l = 0;
    try {
      l = training
              .step(0, [&] {
                logits = model_.forward(x);
                return torch::nn::functional::cross_entropy(logits, y, ce);
              })
              .item<double>();
    } catch (const NonFiniteLoss& e) {
      failure = e.what();
      break;
    }
    loss_sum += l * static_cast<double>(idx.size(0));
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += idx.size(0);
    if (on_step) on_step(s + 1, steps, l);
  }
  if (failure.empty()) training.end_epoch();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  const double denominator = static_cast<double>(std::max<int64_t>(seen, 1));
  return {loss_sum / denominator, static_cast<double>(correct) / denominator, steps, elapsed.count(), failure};
}

std::vector<double> ClassifierTrainer::train_steps(const torch::Tensor& images, const torch::Tensor& labels,
                                                   int64_t steps, const SgdSettings& sgd) {
  auto x = prepare_images(images, mean, std).to(device_);
  auto y = prepare_labels(labels, x.size(0), model_.num_classes).to(device_);
  auto& training = loop(sgd);
  model_.module->train();
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing_);
  return train_steps_on_batch(training, steps, [&] { return torch::nn::functional::cross_entropy(model_.forward(x), y, ce); });
}

EvalResult ClassifierTrainer::evaluate(const torch::Tensor& images, const torch::Tensor& labels, int64_t batch_size) {
  if (batch_size < 1) fail("INVALID_ARGUMENT", "batch size must be >= 1");
  auto x_all = prepare_images(images, mean, std);
  auto y_all = prepare_labels(labels, x_all.size(0), model_.num_classes);
  const int64_t n = x_all.size(0);
  model_.module->eval();
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    auto x = x_all.slice(0, start, std::min(n, start + batch_size)).to(device_);
    auto y = y_all.slice(0, start, std::min(n, start + batch_size)).to(device_);
    auto logits = model_.forward(x);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  if (n == 0) return {0.0, 0.0, 0};
  return {loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n), n};
}

}  // namespace torchnas
