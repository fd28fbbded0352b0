#include "dense_supernet.h"

#include <torch/nn/functional/pooling.h>

#include <algorithm>

#include "../errors.h"

namespace torchnas {

namespace {

std::string block_name(int64_t j) { return "block " + std::to_string(j); }

}  // namespace

void DenseSpaceSpec::validate() const {
  if (net_type != "mbv2" && net_type != "res") fail("INVALID_ARGUMENT", "net_type must be 'mbv2' or 'res', got '" + net_type + "'");
  if (blocks.size() < 2 || blocks.size() > 256) fail("INVALID_ARGUMENT", "a DenseNAS space needs 2..256 blocks, got " + std::to_string(blocks.size()));
  if (in_channels < 1 || in_channels > 64) fail("INVALID_ARGUMENT", "in_channels must be in 1..64");
  if (num_classes < 1 || num_classes > 100000) fail("INVALID_ARGUMENT", "num_classes must be in 1..100000");
  if (stem_stride != 1 && stem_stride != 2) fail("INVALID_ARGUMENT", "stem_stride must be 1 or 2");
  if (head_ops.empty() || stack_ops.empty()) fail("INVALID_ARGUMENT", "the head and stack op lists must not be empty");
  for (const auto* list : {&head_ops, &stack_ops}) {
    for (const auto& op : *list) {
      if (!is_dense_op(op)) fail("INVALID_ARGUMENT", "unknown DenseNAS op '" + op + "'");
    }
  }
  const int64_t n = last_block();
  for (int64_t j = 0; j <= n; ++j) {
    const auto& b = blocks[j];
    if (b.channels < 1 || b.channels > 65536) fail("INVALID_ARGUMENT", block_name(j) + ": channels must be in 1..65536");
    if (b.num_layers < 0 || b.num_layers > 64) fail("INVALID_ARGUMENT", block_name(j) + ": num_layers must be in 0..64");
    if ((j == 0 || j == n) && b.num_layers != 0) fail("INVALID_ARGUMENT", block_name(j) + " cannot have stack layers");
    if (j == 0 && !b.predecessors.empty()) fail("INVALID_ARGUMENT", "block 0 (the stem) has no predecessors");
    if (j > 0 && b.predecessors.empty()) fail("INVALID_ARGUMENT", block_name(j) + " has no predecessor");
    if (j < n && b.successors.empty()) fail("INVALID_ARGUMENT", block_name(j) + " has no successor");
    if (j == n && !b.successors.empty()) fail("INVALID_ARGUMENT", "the last block has no successors");
    for (size_t h = 0; h < b.predecessors.size(); ++h) {
      const auto& e = b.predecessors[h];
      if (e.from < 0 || e.from >= j) fail("INVALID_ARGUMENT", block_name(j) + ": predecessor " + std::to_string(e.from) + " out of range");
      if (h > 0 && e.from >= b.predecessors[h - 1].from) fail("INVALID_ARGUMENT", block_name(j) + ": predecessors must be nearest first");
      if (e.stride != 1 && e.stride != 2) fail("INVALID_ARGUMENT", block_name(j) + ": edge strides must be 1 or 2");
      const auto& succ = blocks[e.from].successors;
      if (std::find(succ.begin(), succ.end(), j) == succ.end()) {
        fail("INVALID_ARGUMENT", block_name(e.from) + " does not list " + std::to_string(j) + " among its successors");
      }
    }
    for (size_t s = 0; s < b.successors.size(); ++s) {
      const int64_t to = b.successors[s];
      if (to <= j || to > n || (s > 0 && to <= b.successors[s - 1])) fail("INVALID_ARGUMENT", block_name(j) + ": successors must ascend within (j, N]");
      const auto& pred = blocks[to].predecessors;
      if (std::none_of(pred.begin(), pred.end(), [&](const DenseEdge& e) { return e.from == j; })) {
        fail("INVALID_ARGUMENT", block_name(to) + " does not list " + std::to_string(j) + " among its predecessors");
      }
    }
  }
  if (net_type == "mbv2" && blocks[0].channels != head_dim) fail("INVALID_ARGUMENT", "block 0's channels must equal head_dim");
  if (net_type == "res" && blocks[0].channels != init_dim) fail("INVALID_ARGUMENT", "block 0's channels must equal init_dim");
  if (blocks[n].channels != last_dim) fail("INVALID_ARGUMENT", "the last block's channels must equal last_dim");
}

DenseArch DenseArch::initial(const DenseSpaceSpec& space, at::Generator& generator, const torch::Device& device) {
  DenseArch arch;
  const int64_t n = space.last_block();
  auto draw = [&](std::vector<int64_t> shape) {
    auto t = torch::randn(shape, generator, torch::kFloat32).mul_(1e-3);
    return t.to(device).requires_grad_(true);
  };
  for (int64_t i = 0; i <= n; ++i) {
    const auto& b = space.blocks[i];
    arch.betas.push_back(i < n ? draw({static_cast<int64_t>(b.successors.size())}) : torch::Tensor());
    const bool routing = i > 0 && i < n;
    arch.alpha_head.push_back(routing ? draw({static_cast<int64_t>(b.predecessors.size()), static_cast<int64_t>(space.head_ops.size())})
                                      : torch::Tensor());
    arch.alpha_stack.push_back(routing && b.num_layers > 0 ? draw({b.num_layers, static_cast<int64_t>(space.stack_ops.size())})
                                                           : torch::Tensor());
  }
  return arch;
}

std::vector<torch::Tensor> DenseArch::alphas() const {
  std::vector<torch::Tensor> out;
  for (const auto& t : alpha_head) {
    if (t.defined()) out.push_back(t);
  }
  for (const auto& t : alpha_stack) {
    if (t.defined()) out.push_back(t);
  }
  return out;
}

std::vector<torch::Tensor> DenseArch::all_betas() const {
  std::vector<torch::Tensor> out;
  for (const auto& t : betas) {
    if (t.defined()) out.push_back(t);
  }
  return out;
}

DenseArch DenseArch::detached() const {
  DenseArch out;
  for (const auto& t : betas) out.betas.push_back(t.defined() ? t.detach() : t);
  for (const auto& t : alpha_head) out.alpha_head.push_back(t.defined() ? t.detach() : t);
  for (const auto& t : alpha_stack) out.alpha_stack.push_back(t.defined() ? t.detach() : t);
  return out;
}

int64_t DenseArch::count() const {
  int64_t n = 0;
  for (const auto& t : alphas()) n += t.numel();
  for (const auto& t : all_betas()) n += t.numel();
  return n;
}

namespace {

std::vector<int64_t> sample_row(const torch::Tensor& row, int64_t k, DenseSamplePolicy policy, at::Generator& generator) {
  const int64_t ops = row.size(0);
  std::vector<int64_t> chosen;
  if (policy == DenseSamplePolicy::kAll || k >= ops) {
    for (int64_t i = 0; i < ops; ++i) chosen.push_back(i);
    return chosen;
  }
  torch::Tensor picked;
  if (policy == DenseSamplePolicy::kUniform) {
    picked = torch::randperm(ops, generator, torch::kInt64).slice(0, 0, k);
  } else {
    auto p = torch::softmax(row.detach().to(torch::kCPU, torch::kFloat64), 0);
    picked = torch::multinomial(p, k, /*replacement=*/false, generator);
  }
  auto sorted = std::get<0>(picked.sort());
  for (int64_t i = 0; i < k; ++i) chosen.push_back(sorted[i].item<int64_t>());
  return chosen;
}

}  // namespace

DenseSample sample_ops(const DenseSpaceSpec& space, const DenseArch& arch, int64_t k, DenseSamplePolicy policy, at::Generator& generator) {
  if (k < 1) fail("INVALID_ARGUMENT", "ops per row must be >= 1, got " + std::to_string(k));
  const int64_t n = space.last_block();
  DenseSample s;
  s.head.resize(n + 1);
  s.stack.resize(n + 1);
  for (int64_t j = 1; j < n; ++j) {
    for (int64_t h = 0; h < arch.alpha_head[j].size(0); ++h) s.head[j].push_back(sample_row(arch.alpha_head[j][h], k, policy, generator));
    if (arch.alpha_stack[j].defined()) {
      for (int64_t l = 0; l < arch.alpha_stack[j].size(0); ++l) s.stack[j].push_back(sample_row(arch.alpha_stack[j][l], k, policy, generator));
    }
  }
  return s;
}

DenseSample checked_sample(const DenseSpaceSpec& space, const DenseArch& arch, DenseSample given) {
  const int64_t n = space.last_block();
  auto check_part = [&](std::vector<std::vector<std::vector<int64_t>>>& part, const std::vector<torch::Tensor>& alphas, const char* name) {
    if (static_cast<int64_t>(part.size()) > n + 1) {
      fail("INVALID_ARGUMENT", std::string("ops.") + name + " has " + std::to_string(part.size()) + " blocks, the space " + std::to_string(n + 1));
    }
    part.resize(n + 1);
    for (int64_t j = 0; j <= n; ++j) {
      const auto& alpha = j < static_cast<int64_t>(alphas.size()) ? alphas[j] : torch::Tensor();
      const int64_t rows = alpha.defined() ? alpha.size(0) : 0, ops = alpha.defined() ? alpha.size(1) : 0;
      const std::string where = std::string("ops.") + name + "[" + std::to_string(j) + "]";
      if (static_cast<int64_t>(part[j].size()) != rows) {
        fail("INVALID_ARGUMENT", where + " must hold " + std::to_string(rows) + " rows (one per mixed op), got " + std::to_string(part[j].size()));
      }
      for (size_t r = 0; r < part[j].size(); ++r) {
        const auto& row = part[j][r];
        const std::string at = where + "[" + std::to_string(r) + "]";
        if (row.empty()) fail("INVALID_ARGUMENT", at + " is empty: every mixed op needs at least one op");
        for (size_t i = 0; i < row.size(); ++i) {
          if (row[i] < 0 || row[i] >= ops) fail("INVALID_ARGUMENT", at + " holds op " + std::to_string(row[i]) + ", outside [0, " + std::to_string(ops - 1) + "]");
          if (i > 0 && row[i] <= row[i - 1]) fail("INVALID_ARGUMENT", at + " must be strictly ascending (distinct ops, sorted)");
        }
      }
    }
  };
  check_part(given.head, arch.alpha_head, "head");
  check_part(given.stack, arch.alpha_stack, "stack");
  return given;
}

void DenseCosts::validate(const DenseSpaceSpec& space) const {
  const int64_t n = space.last_block();
  auto finite = [](double v) { return std::isfinite(v) && v >= 0; };
  if (!finite(stem) || !finite(classifier)) fail("INVALID_ARGUMENT", "costs: stem and classifier must be finite and >= 0");
  if (static_cast<int64_t>(head.size()) != n || static_cast<int64_t>(stack.size()) != n) {
    fail("SHAPE_MISMATCH", "costs: expected head and stack lists for blocks 0.." + std::to_string(n - 1) + " (index 0 unused)");
  }
  for (int64_t j = 1; j < n; ++j) {
    const auto& b = space.blocks[j];
    if (head[j].size() != b.predecessors.size()) {
      fail("SHAPE_MISMATCH", "costs: block " + std::to_string(j) + " has " + std::to_string(b.predecessors.size()) + " head branches, the list has " +
                                 std::to_string(head[j].size()));
    }
    if (static_cast<int64_t>(stack[j].size()) != b.num_layers) {
      fail("SHAPE_MISMATCH", "costs: block " + std::to_string(j) + " has " + std::to_string(b.num_layers) + " stack layers, the list has " +
                                 std::to_string(stack[j].size()));
    }
    for (const auto& row : head[j]) {
      if (row.size() != space.head_ops.size()) fail("SHAPE_MISMATCH", "costs: block " + std::to_string(j) + ": a head row must hold one value per head op");
      for (double v : row) if (!finite(v)) fail("INVALID_ARGUMENT", "costs: block " + std::to_string(j) + " holds a negative or non-finite head cost");
    }
    for (const auto& row : stack[j]) {
      if (row.size() != space.stack_ops.size()) fail("SHAPE_MISMATCH", "costs: block " + std::to_string(j) + ": a stack row must hold one value per stack op");
      for (double v : row) if (!finite(v)) fail("INVALID_ARGUMENT", "costs: block " + std::to_string(j) + " holds a negative or non-finite stack cost");
    }
  }
  if (last.size() != space.blocks[n].predecessors.size()) {
    fail("SHAPE_MISMATCH", "costs: the last block has " + std::to_string(space.blocks[n].predecessors.size()) + " conv1_1 branches, the list has " +
                               std::to_string(last.size()));
  }
  for (double v : last) if (!finite(v)) fail("INVALID_ARGUMENT", "costs: a conv1_1 cost is negative or non-finite");
}

DenseSuperNetImpl::DenseSuperNetImpl(DenseSpaceSpec space, at::Generator& generator, const torch::Device& device) : space_(std::move(space)) {
  space_.validate();
  const bool mbv2 = space_.net_type == "mbv2";
  const int64_t n = space_.last_block();
  const auto& bn = space_.bn;
  stem_conv_block_ = register_module("stem", std::make_shared<DenseStemImpl>(space_.in_channels, space_.init_dim, space_.stem_stride, mbv2, /*affine=*/!mbv2, bn));
  if (mbv2) {
    head_block_ = register_module("head_block", make_dense_op("mbconv_k3_t1", space_.init_dim, space_.head_dim, 1, /*affine=*/false, bn));
  }
  head_ops_.resize(n);
  stack_ops_.resize(n);
  for (int64_t j = 1; j < n; ++j) {
    const auto& b = space_.blocks[j];
    for (size_t h = 0; h < b.predecessors.size(); ++h) {
      const auto& e = b.predecessors[h];
      std::vector<std::shared_ptr<DenseOpImpl>> ops;
      for (size_t k = 0; k < space_.head_ops.size(); ++k) {
        ops.push_back(register_module("b" + std::to_string(j) + "_head" + std::to_string(h) + "_" + space_.head_ops[k],
                                      make_dense_op(space_.head_ops[k], space_.blocks[e.from].channels, b.channels, e.stride, false, bn)));
      }
      head_ops_[j].push_back(std::move(ops));
    }
    for (int64_t l = 0; l < b.num_layers; ++l) {
      std::vector<std::shared_ptr<DenseOpImpl>> ops;
      for (size_t k = 0; k < space_.stack_ops.size(); ++k) {
        ops.push_back(register_module("b" + std::to_string(j) + "_stack" + std::to_string(l) + "_" + space_.stack_ops[k],
                                      make_dense_op(space_.stack_ops[k], b.channels, b.channels, 1, false, bn)));
      }
      stack_ops_[j].push_back(std::move(ops));
    }
  }
  for (size_t h = 0; h < space_.blocks[n].predecessors.size(); ++h) {
    const auto& e = space_.blocks[n].predecessors[h];
    last_branches_.push_back(register_module("last" + std::to_string(h),
                                             std::make_shared<Conv1x1BranchImpl>(space_.blocks[e.from].channels, space_.last_dim, false, bn)));
  }
  classifier_ = register_module("classifier", torch::nn::Linear(space_.last_dim, space_.num_classes));
  init_dense_module(*this, mbv2 ? DenseInit::kHeFout : DenseInit::kKaimingFanOut, generator);
  to(device);
}

torch::Tensor DenseSuperNetImpl::mixed(const std::vector<std::shared_ptr<DenseOpImpl>>& ops, const torch::Tensor& alpha_row,
                                       const std::vector<int64_t>& chosen, const torch::Tensor& x, double temperature) {
  if (chosen.empty()) fail("INVALID_ARGUMENT", "a mixed op needs at least one sampled op");
  auto index = torch::tensor(chosen, torch::TensorOptions().dtype(torch::kInt64).device(alpha_row.device()));
  auto w = torch::softmax(alpha_row.index_select(0, index) / temperature, 0);
  torch::Tensor out;
  for (size_t k = 0; k < chosen.size(); ++k) {
    auto y = ops.at(static_cast<size_t>(chosen[k]))->forward(x) * w[static_cast<int64_t>(k)];
    out = out.defined() ? out + y : y;
  }
  return out;
}

torch::Tensor DenseSuperNetImpl::forward(const torch::Tensor& x, const DenseArch& arch, const DenseSample& sample, double temperature) {
  if (x.dim() != 4 || x.size(1) != space_.in_channels) {
    fail("SHAPE_MISMATCH", "the super network expects images [N, " + std::to_string(space_.in_channels) + ", H, W], got " + c10::str(x.sizes()));
  }
  if (!(temperature > 0)) fail("INVALID_ARGUMENT", "temperature must be > 0");
  const int64_t n = space_.last_block();
  // P_i = softmax(β_i / T) over block i's successors (§3.2).
  std::vector<torch::Tensor> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = torch::softmax(arch.betas[i] / temperature, 0);
  auto position = [&](int64_t from, int64_t to) {
    const auto& succ = space_.blocks[from].successors;
    return static_cast<int64_t>(std::find(succ.begin(), succ.end(), to) - succ.begin());
  };
  std::vector<torch::Tensor> outputs(n + 1);
  outputs[0] = stem_conv_block_->forward(x);
  if (head_block_) outputs[0] = head_block_->forward(outputs[0]);
  for (int64_t j = 1; j < n; ++j) {
    const auto& b = space_.blocks[j];
    torch::Tensor z;
    for (size_t h = 0; h < b.predecessors.size(); ++h) {
      const int64_t i = b.predecessors[h].from;
      auto m = mixed(head_ops_[j][h], arch.alpha_head[j][static_cast<int64_t>(h)], sample.head[j][h], outputs[i], temperature);
      auto term = m * p[i][position(i, j)];
      z = z.defined() ? z + term : term;
    }
    for (int64_t l = 0; l < b.num_layers; ++l) z = mixed(stack_ops_[j][l], arch.alpha_stack[j][l], sample.stack[j][l], z, temperature);
    outputs[j] = z;
  }
  // Block N: the already soft-maxed β values of its incoming edges, soft-maxed again (§3.4 quirk).
  const auto& last = space_.blocks[n];
  std::vector<torch::Tensor> incoming;
  for (const auto& e : last.predecessors) incoming.push_back(p[e.from][position(e.from, n)]);
  auto q = torch::softmax(torch::stack(incoming), 0);
  torch::Tensor merged;
  for (size_t h = 0; h < last.predecessors.size(); ++h) {
    auto term = last_branches_[h]->forward(outputs[last.predecessors[h].from]) * q[static_cast<int64_t>(h)];
    merged = merged.defined() ? merged + term : term;
  }
  auto pooled = torch::adaptive_avg_pool2d(merged, {1, 1}).flatten(1);
  return classifier_->forward(pooled);
}

torch::Tensor DenseSuperNetImpl::expected_cost(const DenseArch& arch, const DenseSample& sample, const DenseCosts& costs, double temperature) const {
  if (!(temperature > 0)) fail("INVALID_ARGUMENT", "temperature must be > 0");
  const int64_t n = space_.last_block();
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(arch.betas[0].device());
  auto weighted = [&](const torch::Tensor& alpha_row, const std::vector<int64_t>& chosen, const std::vector<double>& cost) {
    auto index = torch::tensor(chosen, torch::TensorOptions().dtype(torch::kInt64).device(alpha_row.device()));
    auto w = torch::softmax(alpha_row.index_select(0, index) / temperature, 0);
    std::vector<double> c;
    for (int64_t k : chosen) c.push_back(cost.at(static_cast<size_t>(k)));
    return (w * torch::tensor(c, options)).sum();
  };
  // S(j): the stack layers' expected cost; H(i→j): the head branch's.
  std::vector<torch::Tensor> stack_cost(n + 1);
  for (int64_t j = 1; j < n; ++j) {
    torch::Tensor s = torch::zeros({}, options);
    for (int64_t l = 0; l < space_.blocks[j].num_layers; ++l) s = s + weighted(arch.alpha_stack[j][l], sample.stack[j][l], costs.stack[j][l]);
    stack_cost[j] = s;
  }
  std::vector<torch::Tensor> e(n + 1);
  e[n] = torch::zeros({}, options);
  for (int64_t i = n - 1; i >= 0; --i) {
    auto p = torch::softmax(arch.betas[i] / temperature, 0);
    torch::Tensor total = torch::zeros({}, options);
    const auto& succ = space_.blocks[i].successors;
    for (size_t s = 0; s < succ.size(); ++s) {
      const int64_t j = succ[s];
      const auto& pred = space_.blocks[j].predecessors;
      const size_t h = static_cast<size_t>(std::find_if(pred.begin(), pred.end(), [&](const DenseEdge& x) { return x.from == i; }) - pred.begin());
      torch::Tensor head = j == n ? torch::tensor(costs.last.at(h), options)
                                  : weighted(arch.alpha_head[j][static_cast<int64_t>(h)], sample.head[j][h], costs.head[j][h]);
      auto next = j == n ? e[n] : stack_cost[j] + e[j];
      total = total + p[static_cast<int64_t>(s)] * (head + next);
    }
    e[i] = total;
  }
  return e[0] + costs.stem + costs.classifier;
}

}  // namespace torchnas
