#include "predictor_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <chrono>
#include <limits>
#include <memory>

#include "../errors.h"

namespace torchnas {

namespace {

torch::Tensor loss_of(LossKind kind, const torch::Tensor& pred, const torch::Tensor& target) {
  switch (kind) {
    case LossKind::kSmoothL1: return torch::smooth_l1_loss(pred, target, at::Reduction::Mean, 1.0);
    case LossKind::kMse: return torch::mse_loss(pred, target);
    case LossKind::kL1: return torch::l1_loss(pred, target);
  }
  return {};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(MlpPredictor& model, const PredictorTrainSettings& s) {
  switch (s.optimizer) {
    case OptimizerKind::kAdam:
      return std::make_unique<torch::optim::Adam>(
          model->parameters(), torch::optim::AdamOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay));
    case OptimizerKind::kAdamW:
      return std::make_unique<torch::optim::AdamW>(
          model->parameters(), torch::optim::AdamWOptions(s.lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay));
    case OptimizerKind::kSgd:
      return std::make_unique<torch::optim::SGD>(
          model->parameters(),
          torch::optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay).nesterov(s.nesterov));
  }
  return nullptr;
}

// What OneCycleLR writes into the param group before each step: lr, and β1 (Adam/AdamW) or momentum (SGD).
void apply_schedule(torch::optim::Optimizer& opt, OptimizerKind kind, const ScheduleValue& v) {
  auto& options = opt.param_groups()[0].options();
  options.set_lr(v.lr);
  if (!v.momentum) return;
  if (kind == OptimizerKind::kAdam) {
    auto& o = static_cast<torch::optim::AdamOptions&>(options);
    o.betas({*v.momentum, std::get<1>(o.betas())});
  } else if (kind == OptimizerKind::kAdamW) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(options);
    o.betas({*v.momentum, std::get<1>(o.betas())});
  } else {
    static_cast<torch::optim::SGDOptions&>(options).momentum(*v.momentum);
  }
}

// torch.empty((), dtype=torch.int64).random_() on the run's generator: how the DataLoader draws seeds.
int64_t draw_seed(at::Generator& generator) {
  return torch::empty({}, torch::TensorOptions().dtype(torch::kInt64)).random_(generator).item<int64_t>();
}

void check_data(const PredictorData& d, int64_t outputs) {
  auto rows = [](const torch::Tensor& t) { return t.defined() && t.dim() == 2 ? t.size(0) : -1; };
  if (rows(d.train_x) < 1 || rows(d.train_x) != rows(d.train_y) || rows(d.val_x) < 1 || rows(d.val_x) != rows(d.val_y)) {
    fail("SHAPE_MISMATCH", "predictor data must be 2-D with matching, non-zero row counts (train x/y, val x/y)");
  }
  if (d.train_y.size(1) != outputs || d.val_y.size(1) != outputs || d.output_mean.numel() != outputs || d.output_std.numel() != outputs) {
    fail("SHAPE_MISMATCH", "the predictor has " + std::to_string(outputs) + " outputs; targets and output mean/std must match");
  }
}

}  // namespace

NamedTensors module_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& p : module.named_parameters(true)) state.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers(true)) state.emplace_back(b.key(), b.value().detach().clone());
  return state;
}

void load_module_state(torch::nn::Module& module, const NamedTensors& state) {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters(true);
  auto buffers = module.named_buffers(true);
  for (const auto& [name, value] : state) {
    torch::Tensor* target = params.find(name);
    if (!target) target = buffers.find(name);
    if (!target) fail("INTERNAL", "state entry '" + name + "' does not belong to " + module.name());
    target->copy_(value);
  }
}

namespace {
const char* const kNormalizationKeys[] = {"ncp_input_mean", "ncp_input_std", "ncp_output_mean", "ncp_output_std"};
}

void save_predictor_checkpoint(const std::string& path, MlpPredictor& model, const NamedTensors& state,
                               const PredictorNormalization& norm) {
  const auto current = module_state(*model);
  load_module_state(*model, state);
  torch::serialize::OutputArchive archive;
  model->save(archive);
  load_module_state(*model, current);
  const torch::Tensor* values[] = {&norm.input_mean, &norm.input_std, &norm.output_mean, &norm.output_std};
  for (int i = 0; i < 4; ++i) {
    if (!values[i]->defined()) fail("INVALID_ARGUMENT", "cannot save a predictor checkpoint without its normalisation");
    archive.write(kNormalizationKeys[i], values[i]->to(torch::kCPU, torch::kFloat32));
  }
  write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

PredictorNormalization load_predictor_checkpoint(const std::string& path, MlpPredictor& model, const torch::Device& device) {
  load_module(path, *model, device);  // FILE_NOT_FOUND / FILE_CORRUPT with a message
  torch::serialize::InputArchive archive;
  archive.load_from(path, torch::Device(torch::kCPU));
  PredictorNormalization norm;
  torch::Tensor* values[] = {&norm.input_mean, &norm.input_std, &norm.output_mean, &norm.output_std};
  for (int i = 0; i < 4; ++i) {
    if (!archive.try_read(kNormalizationKeys[i], *values[i])) {
      fail("FILE_CORRUPT", path + " is a module archive without the predictor's normalisation (" + kNormalizationKeys[i] + ")");
    }
  }
  return norm;
}

std::vector<double> validation_l1(MlpPredictor& model, const torch::Tensor& x, const torch::Tensor& y,
                                  const torch::Tensor& output_mean, const torch::Tensor& output_std, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t n = x.size(0);
  auto total = torch::zeros({y.size(1)}, y.options());
  int64_t batches = 0;
  for (int64_t start = 0; start < n; start += batch_size, ++batches) {
    const int64_t end = std::min(n, start + batch_size);
    auto pred = model->forward(x.slice(0, start, end)) * output_std + output_mean;
    auto label = y.slice(0, start, end) * output_std + output_mean;
    total += (pred - label).abs().mean(0);
  }
  auto mean = (total / batches).to(torch::kCPU, torch::kFloat64);
  return std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
}

PredictorTrainResult train_predictor(MlpPredictor& model, const PredictorData& data, const PredictorTrainSettings& s,
                                     const EpochCallback& on_epoch, const std::atomic<bool>* cancelled) {
  const auto started = std::chrono::steady_clock::now();
  check_data(data, model->output_dim());
  if (s.epochs < 1 || s.batch_size < 1) fail("INVALID_ARGUMENT", "epochs and batch size must be >= 1");
  const int64_t n = data.train_x.size(0);
  const int64_t batches = (n + s.batch_size - 1) / s.batch_size;
  auto optimizer = make_optimizer(model, s);
  LrSchedule schedule(s.schedule, s.lr, batches * s.epochs);
  auto& generator = model->generator();
  const auto device = data.train_x.device();

  PredictorTrainResult result;
  result.best_loss = std::numeric_limits<double>::infinity();
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "predictor training was cancelled at epoch " + std::to_string(epoch));
    model->train();
    draw_seed(generator);  // the train loader iterator's _base_seed
    auto shuffle = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(draw_seed(generator)));
    auto order = torch::randperm(n, shuffle, torch::TensorOptions().dtype(torch::kInt64)).to(device);
    double loss_sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      auto idx = order.slice(0, b * s.batch_size, std::min(n, (b + 1) * s.batch_size));
      apply_schedule(*optimizer, s.optimizer, schedule.current());
      auto pred = model->forward(data.train_x.index_select(0, idx));
      auto loss = loss_of(s.loss, pred, data.train_y.index_select(0, idx));
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      schedule.after_batch();
      loss_sum += loss.item<double>();
    }
    schedule.after_epoch();
    draw_seed(generator);  // the validation loader iterator's _base_seed
    PredictorEpoch record{loss_sum / static_cast<double>(batches),
                          validation_l1(model, data.val_x, data.val_y, data.output_mean, data.output_std, s.batch_size),
                          schedule.current().lr};
    if (record.val_l1[0] < result.best_loss) {  // strict: the first best epoch wins ties, as in the original
      result.best_loss = record.val_l1[0];
      result.best_epoch = epoch;
      result.best_state = module_state(*model);
    }
    if (on_epoch) on_epoch(epoch, record);
    result.epochs.push_back(std::move(record));
  }
  result.last_state = module_state(*model);
  model->eval();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace torchnas
