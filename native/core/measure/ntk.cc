#include "ntk.h"

#include <torch/autograd.h>
#include <torch/linalg.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <exception>
#include <thread>

#include "../errors.h"

namespace torchnas {

NtkMode parse_ntk_mode(const std::string& name) {
  if (name == "logit_sum") return NtkMode::kLogitSum;
  if (name == "per_class_trace") return NtkMode::kPerClassTrace;
  if (name == "full") return NtkMode::kFull;
  fail("INVALID_ARGUMENT", "unknown NTK mode '" + name + "': expected logit_sum, per_class_trace or full");
}

std::vector<torch::Tensor> weight_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& item : module.named_parameters(true)) {
    if (item.key().find("weight") != std::string::npos && item.value().requires_grad()) out.push_back(item.value());
  }
  return out;
}

namespace {

// One Jacobian row: the gradient of `output` over `parameters`, flattened and concatenated; unused
// parameters (ops below the execution threshold) are skipped, as their grad is None in the original.
torch::Tensor gradient_row(const torch::Tensor& output, const std::vector<torch::Tensor>& parameters) {
  auto grads = torch::autograd::grad({output}, parameters, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<torch::Tensor> flat;
  flat.reserve(grads.size());
  for (const auto& g : grads) {
    if (g.defined()) flat.push_back(g.reshape({-1}));
  }
  if (flat.empty()) return torch::zeros({0}, output.options());
  return torch::cat(flat);
}

}  // namespace

NtkResult condition_number_of(const torch::Tensor& kernel, const NtkSettings& settings) {
  auto eig = torch::linalg::eigvalsh(kernel, "L");  // ascending
  double lo = eig[0].item<double>();
  double hi = eig[eig.size(0) - 1].item<double>();
  double kappa = hi / lo;
  bool fallback = false;
  if (std::isnan(kappa) || (settings.singular_eps > 0 && !(lo > settings.singular_eps * hi))) {
    kappa = settings.fallback;
    fallback = true;
  }
  return {kappa, hi, lo, 0, fallback};
}

NtkResult ntk_condition_number(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                               const NtkSettings& settings) {
  if (inputs.dim() < 2 || inputs.size(0) < 2) {
    fail("SHAPE_MISMATCH", "the NTK needs a batch of at least 2 inputs, got " + c10::str(inputs.sizes()));
  }
  torch::AutoGradMode grad_on(true);
  auto logits = forward(inputs);
  if (logits.dim() != 2) fail("SHAPE_MISMATCH", "the NTK expects logits [B, C], got " + c10::str(logits.sizes()));
  const int64_t batch = logits.size(0), classes = logits.size(1);
  // Row order (i, c) is sample-major, so rows [c::C] are class c's Jacobian in the per-class modes.
  const bool per_sample_sum = settings.mode == NtkMode::kLogitSum;
  const int64_t count = per_sample_sum ? batch : batch * classes;
  auto output_of = [&](int64_t row) { return per_sample_sum ? logits[row].sum() : logits[row / classes][row % classes]; };
  std::vector<torch::Tensor> rows(static_cast<size_t>(count));
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(settings.workers, count)));
  if (workers == 1) {
    for (int64_t r = 0; r < count; ++r) rows[r] = gradient_row(output_of(r), parameters);
  } else {
    // Concurrent backward calls on one graph are supported with retain_graph; grad() returns the
    // gradients instead of accumulating them, so rows do not interfere.
    std::vector<torch::Tensor> outputs;
    outputs.reserve(static_cast<size_t>(count));
    for (int64_t r = 0; r < count; ++r) outputs.push_back(output_of(r));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        try {
          at::set_num_threads(1);
          torch::AutoGradMode on(true);
          for (int64_t r = w; r < count; r += workers) rows[r] = gradient_row(outputs[r], parameters);
        } catch (...) {
          errors[w] = std::current_exception();
        }
      });
    }
    for (auto& t : pool) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  auto jacobian = torch::stack(rows).to(torch::kFloat64);
  const int64_t columns = jacobian.size(1);
  torch::Tensor kernel;
  if (settings.mode == NtkMode::kPerClassTrace) {
    auto per_class = jacobian.view({batch, classes, columns});
    kernel = torch::zeros({batch, batch}, jacobian.options());
    for (int64_t c = 0; c < classes; ++c) {
      auto jc = per_class.select(1, c);
      kernel += jc.matmul(jc.t());
    }
  } else {
    kernel = jacobian.matmul(jacobian.t());
  }
  auto result = condition_number_of(kernel, settings);
  result.jacobian_columns = columns;
  return result;
}

}  // namespace torchnas
