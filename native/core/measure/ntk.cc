#include "ntk.h"

#include <torch/autograd.h>

#include <ATen/Parallel.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

#include "../errors.h"
#include "../ops/vjp_tape.h"
#include "../runtime.h"

namespace torchnas {

NtkMode parse_ntk_mode(const std::string& name) {
  if (name == "logit_sum") return NtkMode::kLogitSum;
  if (name == "per_class_trace") return NtkMode::kPerClassTrace;
  if (name == "full") return NtkMode::kFull;
  fail("INVALID_ARGUMENT", "unknown NTK mode '" + name + "': expected logit_sum, per_class_trace or full");
}

NtkPath parse_ntk_path(const std::string& name) {
  if (name == "auto") return NtkPath::kAuto;
  if (name == "batched") return NtkPath::kBatched;
  if (name == "loop") return NtkPath::kLoop;
  fail("INVALID_ARGUMENT", "unknown NTK path '" + name + "': expected auto, batched or loop");
}

std::vector<torch::Tensor> weight_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& item : module.named_parameters(true)) {
    if (item.key().find("weight") != std::string::npos && item.value().requires_grad()) out.push_back(item.value());
  }
  return out;
}

namespace {

// Runs fn(i) for i in [0, count) on `workers` threads (round-robin), each with one intra-op thread and
// grad mode on (both are thread-local); rethrows the first failure. A set `cancelled` flag stops every
// worker before its next row with CANCELLED (a row is one backward pass: well under a second).
void parallel_rows(int64_t count, int workers, const std::shared_ptr<std::atomic<bool>>& cancelled,
                   const std::function<void(int64_t)>& body) {
  auto fn = [&](int64_t i) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "the NTK job was cancelled after " + std::to_string(i) + " Jacobian rows");
    body(i);
  };
  workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers, count)));
  if (workers == 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      try {
        apply_job_threads(1);  // this worker thread's own count; nothing to restore (runtime.h)
        torch::AutoGradMode on(true);
        for (int64_t i = w; i < count; i += workers) fn(i);
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
  auto eig = at::linalg_eigvalsh(kernel, "L");  // ascending
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

namespace {

// Θ from J (rows sample-major (i, c) in the per-class modes), then κ.
NtkResult kernel_condition(const torch::Tensor& jacobian_rows, int64_t batch, int64_t classes, const NtkSettings& settings) {
  auto jacobian = jacobian_rows.to(torch::kFloat64);
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
  result.kernel = kernel;
  return result;
}

}  // namespace

NtkResult ntk_condition_number_wide(const WideForward& forward_wide, const torch::Tensor& inputs, int64_t copies,
                                    const NtkSettings& settings) {
  if (inputs.dim() < 2 || inputs.size(0) < 2) {
    fail("SHAPE_MISMATCH", "the NTK needs a batch of at least 2 inputs, got " + c10::str(inputs.sizes()));
  }
  if (copies < 1) fail("INVALID_ARGUMENT", "copies must be >= 1");
  torch::AutoGradMode grad_on(true);
  std::vector<torch::Tensor> expanded;
  auto logits = forward_wide(inputs, copies, expanded);  // [B, copies, C]
  if (logits.dim() != 3 || logits.size(1) != copies) fail("SHAPE_MISMATCH", "wide forward must return [B, copies, C], got " + c10::str(logits.sizes()));
  const int64_t batch = logits.size(0), classes = logits.size(2);
  const bool per_sample_sum = settings.mode == NtkMode::kLogitSum;
  const int64_t count = per_sample_sum ? batch : batch * classes;
  std::vector<torch::Tensor> rows(static_cast<size_t>(count));
  const int64_t chunks = (count + copies - 1) / copies;
  auto run_chunk = [&](int64_t chunk) {
    // Copy k carries row chunk·copies + k: select its output(s) with a one-hot grad_output.
    auto selector = torch::zeros_like(logits);
    const int64_t first = chunk * copies;
    const int64_t used = std::min(copies, count - first);
    for (int64_t k = 0; k < used; ++k) {
      const int64_t row = first + k;
      if (per_sample_sum) selector[row][k].fill_(1.0);
      else selector[row / classes][k][row % classes] = 1.0;
    }
    auto grads = torch::autograd::grad({logits}, expanded, {selector}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
    std::vector<torch::Tensor> per_copy;
    for (const auto& g : grads) {
      if (g.defined()) per_copy.push_back(g.reshape({copies, -1}));
    }
    auto flat = per_copy.empty() ? torch::zeros({copies, 0}, logits.options()) : torch::cat(per_copy, 1);
    for (int64_t k = 0; k < used; ++k) rows[first + k] = flat[k];
  };
  parallel_rows(chunks, settings.workers, settings.cancelled, run_chunk);
  auto result = kernel_condition(torch::stack(rows), batch, classes, settings);
  result.path = "wide";
  return result;
}

namespace {

void check_ntk_inputs(const torch::Tensor& inputs) {
  if (inputs.dim() < 2 || inputs.size(0) < 2) {
    fail("SHAPE_MISMATCH", "the NTK needs a batch of at least 2 inputs, got " + c10::str(inputs.sizes()));
  }
}

void check_logits(const torch::Tensor& logits) {
  if (logits.dim() != 2) fail("SHAPE_MISMATCH", "the NTK expects logits [B, C], got " + c10::str(logits.sizes()));
}

}  // namespace

torch::Tensor ntk_jacobian_loop(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                                const NtkSettings& settings) {
  check_ntk_inputs(inputs);
  torch::AutoGradMode grad_on(true);
  auto logits = forward(inputs);
  check_logits(logits);
  const int64_t batch = logits.size(0), classes = logits.size(1);
  // Row order (i, c) is sample-major, so rows [c::C] are class c's Jacobian in the per-class modes.
  const bool per_sample_sum = settings.mode == NtkMode::kLogitSum;
  const int64_t count = per_sample_sum ? batch : batch * classes;
  auto output_of = [&](int64_t row) { return per_sample_sum ? logits[row].sum() : logits[row / classes][row % classes]; };
  std::vector<torch::Tensor> rows(static_cast<size_t>(count));
  // Concurrent backward calls on one graph are supported with retain_graph; grad() returns the gradients
  // instead of accumulating them, so rows computed on different workers do not interfere.
  std::vector<torch::Tensor> outputs;
  outputs.reserve(static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) outputs.push_back(output_of(r));
  parallel_rows(count, settings.workers, settings.cancelled, [&](int64_t r) { rows[r] = gradient_row(outputs[r], parameters); });
  return torch::stack(rows);
}

NtkResult ntk_condition_number(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                               const std::vector<torch::Tensor>& parameters, const torch::Tensor& inputs,
                               const NtkSettings& settings) {
  check_ntk_inputs(inputs);
  int64_t classes = 0;
  auto counting = [&](const torch::Tensor& x) {
    auto logits = forward(x);
    classes = logits.dim() == 2 ? logits.size(1) : 0;
    return logits;
  };
  auto jacobian = ntk_jacobian_loop(counting, parameters, inputs, settings);
  auto result = kernel_condition(jacobian, inputs.size(0), classes, settings);
  result.path = "loop";
  return result;
}

int64_t default_batched_memory_mb() {
  static const int64_t mb = [] {
    long l2 = ::sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 <= 0) return int64_t{4};
    return std::clamp<int64_t>((4 * static_cast<int64_t>(l2) + (1 << 19)) >> 20, 2, 32);
  }();
  return mb;
}

torch::Tensor ntk_jacobian_batched(const TapedForward& forward, const std::vector<torch::Tensor>& parameters,
                                   const torch::Tensor& inputs, const NtkSettings& settings, int64_t* chunk_used) {
  check_ntk_inputs(inputs);
  torch::NoGradGuard no_grad;  // the tape saves what its backward needs; no autograd graph
  VjpTape tape(inputs);
  auto logits = forward(inputs, tape);
  check_logits(logits);
  if (!tape.supported()) throw VjpTapeUnsupported(tape.why_unsupported());
  const int64_t batch = logits.size(0), classes = logits.size(1);
  const bool per_sample_sum = settings.mode == NtkMode::kLogitSum;
  const int64_t count = per_sample_sum ? batch : batch * classes;
  int64_t chunk = settings.vjp_chunk;
  if (chunk <= 0) {
    // One row's folded activation gradient is B × (largest per-sample activation) elements.
    const double row_bytes = static_cast<double>(batch) * static_cast<double>(std::max<int64_t>(tape.max_sample_elements(), classes)) *
                             static_cast<double>(logits.element_size());
    const int64_t budget = settings.batched_memory_mb > 0 ? settings.batched_memory_mb : default_batched_memory_mb();
    chunk = static_cast<int64_t>(static_cast<double>(budget) * 1024.0 * 1024.0 / row_bytes);
  }
  chunk = std::max<int64_t>(1, std::min(chunk, count));
  if (chunk_used) *chunk_used = chunk;
  // Chunks are independent: with workers > 1 they run on that many threads at once, one intra-op thread
  // each (as the loop's rows do; on a busy machine this avoids OpenMP barriers across threads).
  const int64_t chunks = (count + chunk - 1) / chunk;
  std::vector<torch::Tensor> parts(static_cast<size_t>(chunks));
  parallel_rows(chunks, settings.workers, settings.cancelled, [&](int64_t index) {
    torch::NoGradGuard no_grad_here;  // grad mode is thread-local
    const int64_t first = index * chunk;
    // Checked before every op's backward: a cancel lands within one op of the batched pass.
    auto check_cancelled = [&] {
      if (settings.cancelled && settings.cancelled->load()) {
        fail("CANCELLED", "the NTK job was cancelled after " + std::to_string(first) + " Jacobian rows");
      }
    };
    const int64_t used = std::min(chunk, count - first);
    auto seeds = torch::zeros({used, batch, classes}, logits.options());
    for (int64_t k = 0; k < used; ++k) {
      const int64_t row = first + k;
      if (per_sample_sum) seeds[k][row].fill_(1.0);
      else seeds[k][row / classes][row % classes].fill_(1.0);
    }
    auto grads = tape.backward(logits, seeds, parameters, check_cancelled);
    std::vector<torch::Tensor> columns;
    for (const auto& g : grads) {
      if (g.defined()) columns.push_back(g);
    }
    parts[index] = columns.empty() ? torch::zeros({used, 0}, logits.options()) : torch::cat(columns, 1);
  });
  return torch::cat(parts, 0);
}

NtkResult ntk_condition_number_batched(const TapedForward& forward, const std::vector<torch::Tensor>& parameters,
                                       const torch::Tensor& inputs, const NtkSettings& settings) {
  int64_t chunk = 0;
  int64_t classes = 0;
  auto counting = [&](const torch::Tensor& x, VjpTape& tape) {
    auto logits = forward(x, tape);
    classes = logits.dim() == 2 ? logits.size(1) : 0;
    return logits;
  };
  auto jacobian = ntk_jacobian_batched(counting, parameters, inputs, settings, &chunk);
  auto result = kernel_condition(jacobian, inputs.size(0), classes, settings);
  result.path = "batched";
  result.vjp_chunk = chunk;
  return result;
}

NtkResult ntk_condition_number_auto(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                    const TapedForward& taped_forward, const std::vector<torch::Tensor>& parameters,
                                    const torch::Tensor& inputs, const NtkSettings& settings) {
  if (settings.path == NtkPath::kLoop || !taped_forward) return ntk_condition_number(forward, parameters, inputs, settings);
  if (!inputs.device().is_cpu()) {
    // The tape's VJP kernels read and write host memory: on another device (CUDA) the loop path (autograd) runs.
    const std::string why = "inputs on " + inputs.device().str() + ": the batched tape's kernels run on CPU tensors only";
    if (settings.path == NtkPath::kBatched) fail("INVALID_ARGUMENT", "the batched NTK path cannot run here: " + why + " (use path 'loop' or 'auto')");
    auto result = ntk_condition_number(forward, parameters, inputs, settings);
    result.loop_reason = why;
    return result;
  }
  try {
    return ntk_condition_number_batched(taped_forward, parameters, inputs, settings);
  } catch (const VjpTapeUnsupported& e) {
    if (settings.path == NtkPath::kBatched) {
      fail("INVALID_ARGUMENT", std::string("the batched NTK path does not support this network: ") + e.what() + " (use path 'loop' or 'auto')");
    }
    auto result = ntk_condition_number(forward, parameters, inputs, settings);
    result.loop_reason = e.what();
    return result;
  }
}

}  // namespace torchnas
