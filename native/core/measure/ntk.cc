#include "ntk.h"

#include <torch/autograd.h>
#include <torch/linalg.h>

#include <cmath>

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
  std::vector<torch::Tensor> rows;
  if (settings.mode == NtkMode::kLogitSum) {
    rows.reserve(batch);
    for (int64_t i = 0; i < batch; ++i) rows.push_back(gradient_row(logits[i].sum(), parameters));
  } else {
    // Row order (i, c): sample-major, so rows [c::C] are class c's Jacobian.
    rows.reserve(batch * classes);
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t c = 0; c < classes; ++c) rows.push_back(gradient_row(logits[i][c], parameters));
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
