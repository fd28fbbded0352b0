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

OptimizerSettings optimizer_settings(const PredictorTrainSettings& s) {
  OptimizerSettings o;
  o.kind = s.optimizer;
  o.lr = s.lr;
  o.weight_decay = s.weight_decay;
  o.beta1 = s.beta1;
  o.beta2 = s.beta2;
  o.eps = s.eps;
  o.momentum = s.momentum;
  o.nesterov = s.nesterov;
  return o;
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
  save_archive(path, archive);
}

PredictorNormalization load_predictor_checkpoint(const std::string& path, MlpPredictor& model, const torch::Device& device) {
  // FILE_NOT_FOUND / FILE_CORRUPT with a message, before LibTorch parses anything.
  torch::serialize::InputArchive archive = read_verified_archive(path, device, "a predictor checkpoint");
  try {
    model->load(archive);
  } catch (const c10::Error& e) {
    fail("FILE_CORRUPT", path + ": the predictor checkpoint does not fit this model (" + e.what_without_backtrace() + ")");
  }
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
                                  const torch::Tensor& output_mean, const torch::Tensor& output_std, int64_t batch_size, bool fast) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t n = x.size(0);
  auto total = torch::zeros({y.size(1)}, y.options());
  int64_t batches = 0;
  for (int64_t start = 0; start < n; start += batch_size, ++batches) {
    const int64_t end = std::min(n, start + batch_size);
    const auto rows = x.slice(0, start, end);
    auto pred = (fast ? model->eval_forward_fast(rows) : model->forward(rows)) * output_std + output_mean;
    auto label = y.slice(0, start, end) * output_std + output_mean;
    total += (pred - label).abs().mean(0);
  }
  auto mean = (total / batches).to(torch::kCPU, torch::kFloat64);
  return std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
}

namespace {

// The run's records as checkpoint extras, and the way back.
NamedTensors records_of(const PredictorTrainResult& r) {
  const int64_t epochs = static_cast<int64_t>(r.epochs.size());
  const int64_t m = epochs ? static_cast<int64_t>(r.epochs[0].val_l1.size()) : 0;
  auto train_loss = torch::empty({epochs}, torch::kFloat64), lr = torch::empty({epochs}, torch::kFloat64);
  auto val = torch::empty({epochs, m}, torch::kFloat64);
  auto* tl = train_loss.data_ptr<double>();
  auto* lrp = lr.data_ptr<double>();
  auto* vp = val.data_ptr<double>();
  for (int64_t e = 0; e < epochs; ++e) {
    tl[e] = r.epochs[e].train_loss;
    lrp[e] = r.epochs[e].lr_end;
    for (int64_t k = 0; k < m; ++k) vp[e * m + k] = r.epochs[e].val_l1[k];
  }
  NamedTensors extra = {{"records/train_loss", train_loss}, {"records/val_l1", val}, {"records/lr", lr},
                        {"records/best", torch::tensor({static_cast<double>(r.best_epoch), r.best_loss}, torch::kFloat64)}};
  for (const auto& [name, value] : r.best_state) extra.emplace_back("best_state/" + name, value);
  return extra;
}

void restore_records(const NamedTensors& extra, int64_t epochs_done, int64_t outputs, PredictorTrainResult& r, const std::string& path) {
  auto find = [&](const std::string& key) -> torch::Tensor {
    for (const auto& [name, value] : extra) {
      if (name == key) return value.to(torch::kCPU, torch::kFloat64).contiguous();
    }
    fail("FILE_CORRUPT", path + ": the checkpoint has no '" + key + "'");
  };
  auto train_loss = find("records/train_loss"), val = find("records/val_l1"), lr = find("records/lr"), best = find("records/best");
  if (train_loss.numel() != epochs_done || lr.numel() != epochs_done || val.dim() != 2 || val.size(0) != epochs_done ||
      (epochs_done > 0 && val.size(1) != outputs) || best.numel() != 2) {
    fail("FILE_CORRUPT", path + ": the checkpoint's records do not match its " + std::to_string(epochs_done) + " epochs");
  }
  const double* tl = train_loss.data_ptr<double>();
  const double* lrp = lr.data_ptr<double>();
  const double* vp = val.data_ptr<double>();
  const int64_t m = val.size(1);
  for (int64_t e = 0; e < epochs_done; ++e) {
    PredictorEpoch record{tl[e], std::vector<double>(vp + e * m, vp + (e + 1) * m), lrp[e]};
    r.epochs.push_back(std::move(record));
  }
  r.best_epoch = static_cast<int64_t>(best.data_ptr<double>()[0]);
  r.best_loss = best.data_ptr<double>()[1];
  const std::string prefix = "best_state/";
  for (const auto& [name, value] : extra) {
    if (name.rfind(prefix, 0) == 0) r.best_state.emplace_back(name.substr(prefix.size()), value);
  }
}

}  // namespace

GradientComparison compare_gradients(MlpPredictor& model, const torch::Tensor& x, const torch::Tensor& y, LossKind loss) {
  const auto state = module_state(*model);
  const auto generator_state = model->generator().get_state();
  const bool was_training = model->is_training();
  auto reset = [&] {
    load_module_state(*model, state);
    model->generator().set_state(generator_state);
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  };
  GradientComparison r;
  model->train();
  auto flat = model->flatten_parameters();
  torch::Tensor grad;
  r.fast_loss = model->train_step_gradients(x, y, loss, grad);
  for (const auto& p : model->named_parameters(true)) {
    const int64_t offset = p.value().data_ptr<float>() - flat.data_ptr<float>();
    r.names.push_back(p.key());
    r.fast.push_back(grad.narrow(0, offset, p.value().numel()).view(p.value().sizes()).clone());
  }
  for (const auto& b : model->named_buffers(true)) r.fast_buffers.emplace_back(b.key(), b.value().clone());
  const auto generator_after_fast = model->generator().get_state();
  reset();
  {
    torch::AutoGradMode enable(true);
    auto l = loss_of(loss, model->forward(x), y);
    l.backward();
    r.autograd_loss = l.item<double>();
  }
  for (const auto& p : model->named_parameters(true)) r.autograd.push_back(p.value().grad().clone());
  for (const auto& b : model->named_buffers(true)) r.autograd_buffers.emplace_back(b.key(), b.value().clone());
  r.same_generator_state = model->generator().get_state().equal(generator_after_fast);
  {  // eval mode, with the running statistics this step left
    model->eval();
    r.eval_fast = model->eval_forward_fast(x);
    r.eval_module = model->forward(x);
  }
  reset();
  model->train(was_training);
  return r;
}

PredictorTrainResult train_predictor(MlpPredictor& model, const PredictorData& data, const PredictorTrainSettings& s,
                                     const EpochCallback& on_epoch, const std::atomic<bool>* cancelled) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  check_data(data, model->output_dim());
  if (s.epochs < 1 || s.batch_size < 1) fail("INVALID_ARGUMENT", "epochs and batch size must be >= 1");
  if (s.epochs > 1000000) fail("INVALID_ARGUMENT", "epochs must be <= 1000000, got " + std::to_string(s.epochs));
  const int64_t n = data.train_x.size(0);
  const int64_t batches = (n + s.batch_size - 1) / s.batch_size;
  const auto device = data.train_x.device();
  // The fast path: hand-derived forward/backward, all parameters in one flat buffer that a fused Adam/AdamW
  // updates in one pass (the optimizer's single "parameter"). It needs train-mode BatchNorm's ≥ 2 rows in
  // every batch; a lone last row (n mod batch = 1) would be an error in PyTorch too, so it stays autograd's.
  const bool fast = !model->options().exact_linear && device.is_cpu() && n % s.batch_size != 1;
  torch::Tensor flat;
  auto optimizer = optimizer_settings(s);
  std::vector<ParameterGroup> groups;
  if (fast) {
    flat = model->flatten_parameters();
    optimizer.fused = true;
    groups.push_back({"weights", {flat}, optimizer, s.schedule, batches * s.epochs});
  } else {
    groups.push_back({"weights", model->parameters(), optimizer, s.schedule, batches * s.epochs});
  }
  TrainingLoop loop(std::move(groups), model->generator());
  auto& generator = loop.generator();

  PredictorTrainResult result;
  result.fast_path = fast;
  result.best_loss = std::numeric_limits<double>::infinity();
  if (!s.resume_from.empty()) {
    auto extra = load_checkpoint(s.resume_from, {{"predictor", model.get()}}, loop, device);
    if (fast) model->flatten_parameters();  // loading replaced the parameters' storage: back into the flat buffer
    if (loop.epoch() > s.epochs) {
      fail("INVALID_ARGUMENT", s.resume_from + " is at epoch " + std::to_string(loop.epoch()) + ", past this run's " +
                                   std::to_string(s.epochs) + " epochs");
    }
    restore_records(extra, loop.epoch(), model->output_dim(), result, s.resume_from);
    result.resumed_at_epoch = loop.epoch();
  }
  double t_batches = 0, t_validation = 0, t_checkpoint = 0;
  const int64_t first_epoch = loop.epoch();
  auto last_checkpoint = Clock::now();
  auto lap = [](Clock::time_point& mark, double& into) {
    const auto now = Clock::now();
    into += std::chrono::duration<double>(now - mark).count();
    mark = now;
  };
  try {
    for (int64_t epoch = loop.epoch(); epoch < s.epochs; ++epoch) {
      if (cancelled && cancelled->load()) fail("CANCELLED", "predictor training was cancelled at epoch " + std::to_string(epoch));
      model->train();
      draw_seed(generator);  // the train loader iterator's _base_seed
      auto shuffle = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(draw_seed(generator)));
      auto order = torch::randperm(n, shuffle, torch::TensorOptions().dtype(torch::kInt64)).to(device);
      double loss_sum = 0;
      for (int64_t b = 0; b < batches; ++b) {
        auto mark = Clock::now();
        auto idx = order.slice(0, b * s.batch_size, std::min(n, (b + 1) * s.batch_size));
        auto x = data.train_x.index_select(0, idx), y = data.train_y.index_select(0, idx);
        lap(mark, t_batches);
        auto loss = fast ? loop.step_with_computed_gradients(0, [&] {
          return torch::scalar_tensor(model->train_step_gradients(x, y, s.loss, flat.mutable_grad()), torch::kFloat64);
        })
                         : loop.step(0, [&] { return loss_of(s.loss, model->forward(x), y); });
        loss_sum += loss.item<double>();
      }
      loop.end_epoch();
      auto mark = Clock::now();
      draw_seed(generator);  // the validation loader iterator's _base_seed
      PredictorEpoch record{loss_sum / static_cast<double>(batches),
                            validation_l1(model, data.val_x, data.val_y, data.output_mean, data.output_std, s.batch_size, fast),
                            loop.lr(0)};
      if (record.val_l1[0] < result.best_loss) {  // strict: the first best epoch wins ties, as in the original
        result.best_loss = record.val_l1[0];
        result.best_epoch = epoch;
        result.best_state = module_state(*model);
      }
      result.epochs.push_back(std::move(record));
      lap(mark, t_validation);
      const bool due = epoch == first_epoch || epoch == s.epochs - 1 ||
                       std::chrono::duration<double>(mark - last_checkpoint).count() >= s.checkpoint_interval_s;
      if (!s.checkpoint_path.empty() && due) {
        save_checkpoint(s.checkpoint_path, {{"predictor", model.get()}}, loop, records_of(result));
        last_checkpoint = Clock::now();
      }
      lap(mark, t_checkpoint);
      if (on_epoch) on_epoch(epoch, result.epochs.back());
    }
  } catch (const NonFiniteLoss& e) {
    result.failure = e.what();  // recorded as this run's failure; the states so far are kept
  }
  result.last_state = module_state(*model);
  model->eval();
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const auto& p = loop.profile();
  result.profile = {{"batches", t_batches},         {"step.prepare", p.prepare}, {"step.compute", p.compute},
                    {"step.backward", p.backward},  {"step.update", p.update},   {"validation", t_validation},
                    {"checkpoint", t_checkpoint}};
  double accounted = 0;
  for (const auto& [name, seconds] : result.profile) accounted += seconds;
  result.profile.emplace_back("other", result.seconds - accounted);
  return result;
}

}  // namespace torchnas
