#include "darts_network.h"

#include <algorithm>

#include "../errors.h"

namespace torchnas {

const std::array<const char*, kDartsOps> kDartsOpNames = {"none",         "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                                                          "dil_conv_3x3", "dil_conv_5x5", "avg_pool_3x3", "max_pool_3x3"};

namespace {
constexpr double kExecuteThreshold = 0.01;  // §1.3: ops at or below this weight are not executed
constexpr float kPrunedAlpha = -1000.0f;    // the original's −INF
}  // namespace

int64_t darts_edge_count(int64_t steps) { return steps * (steps + 3) / 2; }

bool darts_edge_pruned(const float* alpha_row, int ops) {
  // The original sums the row as float32 tensors; −1000·8 is exact in float32 either way.
  float sum = 0.0f;
  for (int k = 0; k < ops; ++k) sum += alpha_row[k];
  return sum <= kPrunedAlpha * static_cast<float>(ops);
}

DartsCell::DartsCell(int64_t steps, int64_t multiplier, int64_t c_prev_prev, int64_t c_prev, int64_t c, bool reduction,
                     bool reduction_prev, const std::vector<std::vector<int>>& edge_ops, BnFlags bn)
    : steps_(steps), multiplier_(multiplier), channels_(c), reduction_(reduction), edge_ops_(edge_ops) {
  // Construction order (and so RNG draws) as the original: preprocess0, preprocess1, then the edges.
  preprocess0 = register_module("preprocess0", reduction_prev ? make_cell_op("skip_connect", c_prev_prev, c, 2, bn)
                                                              : make_cell_op("nor_conv_1x1", c_prev_prev, c, 1, bn));
  preprocess1 = register_module("preprocess1", make_cell_op("nor_conv_1x1", c_prev, c, 1, bn));

  // α rows follow the sorted edge keys '{i}<-{j}' (edge2index); modules are built in (i, j) order.
  std::vector<std::string> keys;
  for (int64_t i = 0; i < steps; ++i) {
    for (int64_t j = 0; j < i + 2; ++j) keys.push_back(std::to_string(i) + "<-" + std::to_string(j));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& key : keys) {
    sorted_index_.push_back(static_cast<int>(std::find(sorted.begin(), sorted.end(), key) - sorted.begin()));
  }
  edges_.resize(keys.size());
  size_t p = 0;
  for (int64_t i = 0; i < steps; ++i) {
    for (int64_t j = 0; j < i + 2; ++j, ++p) {
      const int e = sorted_index_[p];
      const int64_t stride = reduction && j < 2 ? 2 : 1;
      for (int op_index : edge_ops_[e]) {
        auto op = make_cell_op(kDartsOpNames[op_index], c, c, stride, bn);
        register_module("edge_" + std::to_string(i) + "_" + std::to_string(j) + "_op" + std::to_string(op_index), op);
        edges_[e].push_back(op);
      }
    }
  }
}

torch::Tensor DartsCell::forward(const torch::Tensor& s0, const torch::Tensor& s1, const torch::Tensor& weights,
                                 const std::vector<bool>& pruned, const Trace& trace) {
  auto w = weights.accessor<float, 2>();
  std::vector<torch::Tensor> states{preprocess0->forward(s0, trace), preprocess1->forward(s1, trace)};
  size_t p = 0;
  for (int64_t i = 0; i < steps_; ++i) {
    torch::Tensor node;
    for (int64_t j = 0; j < i + 2; ++j, ++p) {
      const int e = sorted_index_[p];
      if (pruned[e]) continue;  // §1.4: an all-(−1000) edge contributes 0 instead of a uniform mix
      // Sum within the edge first, then over edges, in the original's order.
      torch::Tensor edge;
      for (size_t k = 0; k < edges_[e].size(); ++k) {
        const float wk = w[e][edge_ops_[e][k]];
        if (!(wk > kExecuteThreshold)) continue;
        auto out = edges_[e][k]->forward(states[j], trace) * wk;
        edge = edge.defined() ? edge + out : out;
      }
      if (edge.defined()) node = node.defined() ? node + edge : edge;
    }
    if (!node.defined()) {
      // A node with no live input is the int 0 in the original (which then fails to concat); zeros here.
      auto shape = states[1].sizes().vec();
      if (reduction_) {
        shape[2] = (shape[2] + 1) / 2;
        shape[3] = (shape[3] + 1) / 2;
      }
      node = torch::zeros(shape, states[1].options());
    }
    states.push_back(node);
  }
  return torch::cat(std::vector<torch::Tensor>(states.end() - multiplier_, states.end()), 1);
}

int64_t DartsCell::cost(int64_t side0, int64_t side1, const std::vector<std::vector<int>>& live, Cost& cost) const {
  preprocess0->cost(side0, cost);
  const int64_t in_side = preprocess1->cost(side1, cost);
  const int64_t out_side = reduction_ ? (in_side + 1) / 2 : in_side;
  size_t p = 0;
  for (int64_t i = 0; i < steps_; ++i) {
    for (int64_t j = 0; j < i + 2; ++j, ++p) {
      const int e = sorted_index_[p];
      for (size_t k = 0; k < edges_[e].size(); ++k) {
        if (std::find(live[e].begin(), live[e].end(), edge_ops_[e][k]) != live[e].end()) {
          edges_[e][k]->cost(j < 2 ? in_side : out_side, cost);
        }
      }
    }
  }
  return out_side;
}

int64_t DartsCell::live_parameter_count(const std::vector<std::vector<int>>& live) const {
  int64_t total = 0;
  for (const auto& module : {preprocess0, preprocess1}) {
    for (const auto& t : module->parameters()) total += t.numel();
  }
  for (size_t e = 0; e < edges_.size(); ++e) {
    for (size_t k = 0; k < edges_[e].size(); ++k) {
      if (std::find(live[e].begin(), live[e].end(), edge_ops_[e][k]) == live[e].end()) continue;
      for (const auto& t : edges_[e][k]->parameters()) total += t.numel();
    }
  }
  return total;
}

namespace {

void check_edge_ops(const std::vector<std::vector<int>>& edge_ops, int64_t edges, const char* which) {
  if (static_cast<int64_t>(edge_ops.size()) != edges) {
    fail("INVALID_ARGUMENT", std::string("the ") + which + " cell's op choice needs " + std::to_string(edges) +
                                 " edges, got " + std::to_string(edge_ops.size()));
  }
  for (const auto& ops : edge_ops) {
    for (size_t k = 0; k < ops.size(); ++k) {
      if (ops[k] < 0 || ops[k] >= kDartsOps) fail("INVALID_ARGUMENT", "DARTS op index out of range: " + std::to_string(ops[k]));
      if (std::count(ops.begin(), ops.end(), ops[k]) > 1) fail("INVALID_ARGUMENT", "a DARTS edge holds op " + std::to_string(ops[k]) + " twice");
    }
  }
}

// α with 0 on the held ops and −1000 elsewhere (an absent edge is all −1000, i.e. pruned).
torch::Tensor held_alpha(const std::vector<std::vector<int>>& edge_ops) {
  auto alpha = torch::full({static_cast<int64_t>(edge_ops.size()), kDartsOps}, kPrunedAlpha);
  for (size_t e = 0; e < edge_ops.size(); ++e) {
    for (int op : edge_ops[e]) alpha[e][op] = 0.0f;
  }
  return alpha;
}

}  // namespace

DartsNetworkImpl::DartsNetworkImpl(DartsOptions options) : options_(std::move(options)) {
  const int64_t c = options_.channels, n = options_.cells_per_stage;
  if (c < 1 || n < 1 || options_.num_classes < 1 || options_.in_channels < 1 || options_.stem_multiplier < 1) {
    fail("INVALID_ARGUMENT", "DARTS network needs channels, cells per stage, classes, input channels and stem multiplier >= 1");
  }
  if (options_.steps < 1 || options_.steps > 8 || options_.multiplier < 1 || options_.multiplier > options_.steps) {
    fail("INVALID_ARGUMENT", "DARTS cells need 1..8 steps and a multiplier in 1..steps");
  }
  const int64_t edges = edge_count();
  const bool supernet = options_.normal_edge_ops.empty() && options_.reduce_edge_ops.empty();
  if (supernet) {
    std::vector<int> all(kDartsOps);
    for (int k = 0; k < kDartsOps; ++k) all[k] = k;
    options_.normal_edge_ops.assign(edges, all);
    options_.reduce_edge_ops.assign(edges, all);
  }
  check_edge_ops(options_.normal_edge_ops, edges, "normal");
  check_edge_ops(options_.reduce_edge_ops, edges, "reduction");

  // The stem is always constructed (it draws from the RNG) even when unused; without it the original
  // gives it min(3, C) input channels.
  const int64_t c_stem = c * options_.stem_multiplier;
  const int64_t stem_in = options_.use_stem ? options_.in_channels : std::min(options_.in_channels, c);
  stem_conv = register_module("stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(stem_in, c_stem, 3).padding(1).bias(false)));
  stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(c_stem));

  // Layer schedule: N cells at C, a reduction cell at 2C, N−1 cells at 2C, a reduction cell at 4C, N−1 at 4C.
  std::vector<std::pair<int64_t, bool>> layers;  // (C of the cell, reduction)
  for (int64_t i = 0; i < n; ++i) layers.emplace_back(c, false);
  layers.emplace_back(2 * c, true);
  for (int64_t i = 1; i < n; ++i) layers.emplace_back(2 * c, false);
  layers.emplace_back(4 * c, true);
  for (int64_t i = 1; i < n; ++i) layers.emplace_back(4 * c, false);
  if (options_.depth > 0 && options_.depth < static_cast<int64_t>(layers.size())) layers.resize(options_.depth);

  int64_t c_prev_prev = c_stem, c_prev = c_stem;
  bool reduction_prev = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto [c_curr, reduction] = layers[i];
    cells_.push_back(register_module(
        "cell" + std::to_string(i),
        std::make_shared<DartsCell>(options_.steps, options_.multiplier, c_prev_prev, c_prev, c_curr, reduction, reduction_prev,
                                    reduction ? options_.reduce_edge_ops : options_.normal_edge_ops, options_.bn)));
    c_prev_prev = c_prev;
    c_prev = options_.multiplier * c_curr;
    reduction_prev = reduction;
  }
  last_bn = register_module("lastact_bn", torch::nn::BatchNorm2d(c_prev));
  classifier = register_module("classifier", torch::nn::Linear(c_prev, options_.num_classes));
  // The original draws both α = 1e-3·N(0,1) last (normal, then reduce); draw them so RNG streams line up.
  alpha_normal_ = 1e-3 * torch::randn({edges, kDartsOps});
  alpha_reduce_ = 1e-3 * torch::randn({edges, kDartsOps});
  if (!supernet) {
    alpha_normal_ = held_alpha(options_.normal_edge_ops);
    alpha_reduce_ = held_alpha(options_.reduce_edge_ops);
  }
}

int64_t DartsNetworkImpl::input_channels() const {
  return options_.use_stem ? options_.in_channels : options_.channels * options_.stem_multiplier;
}

void DartsNetworkImpl::check_alpha(const torch::Tensor& alpha, const std::vector<std::vector<int>>& held, const char* which) const {
  const int64_t edges = edge_count();
  if (alpha.dim() != 2 || alpha.size(0) != edges || alpha.size(1) != kDartsOps) {
    fail("SHAPE_MISMATCH", std::string("DARTS ") + which + " alpha must be [" + std::to_string(edges) + ", 8], got " +
                               c10::str(alpha.sizes()));
  }
  auto acc = alpha.accessor<float, 2>();
  for (int64_t e = 0; e < edges; ++e) {
    for (int op = 0; op < kDartsOps; ++op) {
      bool present = std::find(held[e].begin(), held[e].end(), op) != held[e].end();
      if (!present && acc[e][op] > -100) {
        fail("INVALID_ARGUMENT", std::string("the ") + which + " alpha gives weight to op '" + kDartsOpNames[op] + "' on edge " +
                                     std::to_string(e) + ", which this network does not hold");
      }
    }
  }
}

void DartsNetworkImpl::set_alpha(const torch::Tensor& normal, const torch::Tensor& reduce) {
  torch::Tensor n, r;
  if (normal.defined()) {
    n = normal.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
    check_alpha(n, options_.normal_edge_ops, "normal");
  }
  if (reduce.defined()) {
    r = reduce.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
    check_alpha(r, options_.reduce_edge_ops, "reduction");
  }
  // Both are checked before either is stored, so a failed call changes nothing.
  if (n.defined()) alpha_normal_ = n;
  if (r.defined()) alpha_reduce_ = r;
}

namespace {
std::vector<bool> pruned_edges(const torch::Tensor& alpha) {
  std::vector<bool> pruned(alpha.size(0));
  const float* data = alpha.data_ptr<float>();
  for (int64_t e = 0; e < alpha.size(0); ++e) pruned[e] = darts_edge_pruned(data + e * kDartsOps, kDartsOps);
  return pruned;
}
}  // namespace

torch::Tensor DartsNetworkImpl::forward(const torch::Tensor& x, const Trace& trace) {
  if (x.dim() != 4 || x.size(1) != input_channels()) {
    fail("SHAPE_MISMATCH", "DARTS network expects input [B, " + std::to_string(input_channels()) + ", H, W], got " +
                               c10::str(x.sizes()));
  }
  auto normal_w = torch::softmax(alpha_normal_, -1).contiguous();
  auto reduce_w = torch::softmax(alpha_reduce_, -1).contiguous();
  auto normal_pruned = pruned_edges(alpha_normal_), reduce_pruned = pruned_edges(alpha_reduce_);
  torch::Tensor s0 = options_.use_stem ? stem_bn(stem_conv(x)) : x;
  torch::Tensor s1 = s0;
  for (auto& cell : cells_) {
    auto next = cell->reduction() ? cell->forward(s0, s1, reduce_w, reduce_pruned, trace)
                                  : cell->forward(s0, s1, normal_w, normal_pruned, trace);
    s0 = s1;
    s1 = next;
  }
  auto h = trace.relu(last_bn(s1));
  h = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
  return classifier(h);
}

std::vector<std::vector<int>> DartsNetworkImpl::live_ops(const torch::Tensor& alpha, const std::vector<std::vector<int>>& held) const {
  auto weights = torch::softmax(alpha, -1).contiguous();
  auto w = weights.accessor<float, 2>();
  auto pruned = pruned_edges(alpha);
  std::vector<std::vector<int>> live(held.size());
  for (size_t e = 0; e < held.size(); ++e) {
    if (pruned[e]) continue;
    for (int op : held[e]) {
      if (w[e][op] > kExecuteThreshold) live[e].push_back(op);
    }
  }
  return live;
}

double DartsNetworkImpl::macs(int64_t side) const {
  Cost cost;
  auto normal = live_ops(alpha_normal_, options_.normal_edge_ops);
  auto reduce = live_ops(alpha_reduce_, options_.reduce_edge_ops);
  if (options_.use_stem) cost.macs += conv_macs(stem_conv, side);
  int64_t side0 = side, side1 = side;
  for (const auto& cell : cells_) {
    int64_t out = cell->cost(side0, side1, cell->reduction() ? reduce : normal, cost);
    side0 = side1;
    side1 = out;
  }
  cost.macs += static_cast<double>(classifier->options.in_features() * classifier->options.out_features());
  return cost.macs;
}

int64_t DartsNetworkImpl::live_parameter_count() const {
  auto normal = live_ops(alpha_normal_, options_.normal_edge_ops);
  auto reduce = live_ops(alpha_reduce_, options_.reduce_edge_ops);
  int64_t total = 0;
  for (const auto& module : std::vector<std::shared_ptr<torch::nn::Module>>{stem_conv.ptr(), stem_bn.ptr(), last_bn.ptr(), classifier.ptr()}) {
    for (const auto& t : module->parameters()) total += t.numel();
  }
  for (const auto& cell : cells_) total += cell->live_parameter_count(cell->reduction() ? reduce : normal);
  return total;
}

}  // namespace torchnas
