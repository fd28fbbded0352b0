#include "ncp_propagation.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include "../errors.h"
#include "../ops/kernel_choice.h"

namespace torchnas {

namespace {

void check_vector(const torch::Tensor& t, int64_t n, const char* what) {
  if (!t.defined() || t.dim() != 1 || t.size(0) != n) {
    fail("SHAPE_MISMATCH", std::string("NCP: ") + what + " must be a vector of " + std::to_string(n) + " values");
  }
}

// Predictions in original units, in float64 as tools/ncp.py logs them (numpy upcasts the float32 values).
torch::Tensor denormalise(const torch::Tensor& pred, const torch::Tensor& mean64, const torch::Tensor& std64) {
  return pred.detach().to(torch::kCPU, torch::kFloat64) * std64 + mean64;
}

}  // namespace

torch::Tensor round_codes(const torch::Tensor& continuous, const torch::Tensor& divisors) {
  auto d = divisors.to(torch::kCPU, torch::kFloat32);
  auto v = continuous.to(torch::kCPU, torch::kFloat32);  // the original adds a float32 tensor to the float64 code
  auto t = (v + d / 2).trunc();                          // int(v + d/2): truncation of a non-negative value
  auto r = torch::floor(t / d) * d;                      // // d · d, exact for integers and power-of-two d
  return torch::maximum(r, d.expand_as(r)).to(torch::kInt64);
}

NcpTrajectory propagate_codes(MlpPredictor& model, const torch::Tensor& start_codes, const NcpSettings& s,
                              const std::atomic<bool>* cancelled) {
  const int64_t dims = model->options().input_dim, outputs = model->output_dim();
  if (start_codes.dim() != 2 || start_codes.size(1) != dims || start_codes.size(0) < 1) {
    fail("SHAPE_MISMATCH", "NCP start codes must be [B >= 1, " + std::to_string(dims) + "], got " + c10::str(start_codes.sizes()));
  }
  for (auto* v : {&s.input_mean, &s.input_std, &s.min_code, &s.max_code, &s.divisors}) check_vector(*v, dims, "code statistics/bounds");
  check_vector(s.output_mean, outputs, "output mean");
  check_vector(s.output_std, outputs, "output std");
  if (s.iterations < 0) fail("INVALID_ARGUMENT", "NCP iterations must be >= 0");
  if (!(s.divisors > 0).all().item<bool>()) fail("INVALID_ARGUMENT", "NCP rounding divisors must be > 0");
  const int64_t batch = start_codes.size(0);
  for (const auto& o : s.objectives) {
    if (o.output < 0 || o.output >= outputs) {
      fail("INVALID_ARGUMENT", "NCP objective output " + std::to_string(o.output) + " outside [0, " + std::to_string(outputs) + ")");
    }
    if (static_cast<int64_t>(o.weights.size()) != batch) {
      fail("INVALID_ARGUMENT", "each NCP objective needs one weight per start code (" + std::to_string(batch) + ")");
    }
  }

  const auto device = model->parameters().front().device();
  auto f32 = [&](const torch::Tensor& t) { return t.to(device, torch::kFloat32); };
  const auto mean = f32(s.input_mean), stdev = f32(s.input_std);
  auto normalise = [&](const torch::Tensor& raw) { return (f32(raw) - mean) / stdev; };
  const auto min_n = normalise(s.min_code.unsqueeze(0)), max_n = normalise(s.max_code.unsqueeze(0));
  const auto in_mean64 = s.input_mean.to(torch::kCPU, torch::kFloat64), in_std64 = s.input_std.to(torch::kCPU, torch::kFloat64);
  const auto out_mean64 = s.output_mean.to(torch::kCPU, torch::kFloat64), out_std64 = s.output_std.to(torch::kCPU, torch::kFloat64);
  std::vector<torch::Tensor> weights;
  for (const auto& o : s.objectives) weights.push_back(torch::tensor(o.weights, torch::kFloat64).to(device, torch::kFloat32));

  model->eval();  // BN running stats, no dropout (§5.4.1)
  auto z = normalise(start_codes).detach().requires_grad_(true);
  // A step is a forward and a backward of the MLP on B codes: at small B a second thread only adds
  // synchronisation (measured: 70 steps, B = 1, 33–37 ms on one thread, 64–74 ms on two). The thread count
  // for this job is chosen by timing one step both ways (kernel_choice.h: once per shape and machine, cached).
  if (device.is_cpu() && at::get_num_threads() > 1) {
    const int configured = at::get_num_threads();
    auto probe = [&](int threads) {
      at::set_num_threads(threads);
      auto zz = z.detach().requires_grad_(true);
      auto out = model->forward(zz);
      torch::autograd::grad({out.sum()}, {zz});
    };
    int64_t weights = 0;
    for (const auto& p : model->parameters()) weights += p.numel();
    const std::string shape = "B" + std::to_string(batch) + " " + std::to_string(dims) + "→" + std::to_string(outputs) + " weights " + std::to_string(weights);
    const auto pick = choose_kernel("ncp_propagation_threads", shape,
                                    {{"configured", [&] { probe(configured); }}, {"one", [&] { probe(1); }}});
    at::set_num_threads(pick == 0 ? configured : 1);
  }
  auto rounded = start_codes.to(torch::kCPU, torch::kInt64);
  auto continuous = start_codes.to(torch::kCPU, torch::kFloat64);  // the original logs the raw start code first
  const int64_t T = s.iterations;
  NcpTrajectory out;
  out.rounded = torch::empty({T, batch, dims}, torch::kInt64);
  out.continuous = torch::empty({T, batch, dims}, torch::kFloat64);
  out.predicted = torch::empty({T, batch, outputs}, torch::kFloat64);
  out.predicted_rounded = torch::empty({T, batch, outputs}, torch::kFloat64);

  for (int64_t t = 0; t < T; ++t) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "NCP was cancelled at iteration " + std::to_string(t));
    auto pred = model->forward(z);
    {
      torch::NoGradGuard no_grad;
      out.rounded[t].copy_(rounded);
      out.continuous[t].copy_(continuous);
      out.predicted[t].copy_(denormalise(pred, out_mean64, out_std64));
      out.predicted_rounded[t].copy_(denormalise(model->forward(normalise(rounded)), out_mean64, out_std64));
    }
    if (s.objectives.empty()) continue;  // nothing pulls the code: it stays where it started
    torch::Tensor loss;
    for (size_t k = 0; k < s.objectives.size(); ++k) {
      const auto& o = s.objectives[k];
      auto column = pred.select(1, o.output);
      torch::Tensor target;
      switch (o.mode) {
        case NcpObjective::Mode::kIncrease: target = column.detach() + o.step; break;
        case NcpObjective::Mode::kDecrease: target = column.detach() - o.step; break;
        case NcpObjective::Mode::kTarget: target = torch::full_like(column, o.target).detach(); break;
      }
      auto per_row = s.loss == NcpSettings::Loss::kL1 ? torch::l1_loss(column, target, at::Reduction::None)
                                                     : torch::smooth_l1_loss(column, target, at::Reduction::None, 1.0);
      auto term = (per_row * weights[k]).sum();
      loss = loss.defined() ? loss + term : term;
    }
    auto grad = torch::autograd::grad({loss}, {z})[0];
    {
      torch::NoGradGuard no_grad;  // the clamp must not be tracked (§5.4 pitfall)
      auto next = z.detach().add(grad, -s.lr);
      next = torch::max(torch::min(next, max_n), min_n);
      z = next.requires_grad_(true);
      continuous = in_mean64 + next.to(torch::kCPU, torch::kFloat64) * in_std64;
      rounded = round_codes(continuous, s.divisors);
    }
  }
  out.final_rounded = rounded;
  out.final_continuous = continuous;
  return out;
}

}  // namespace torchnas
