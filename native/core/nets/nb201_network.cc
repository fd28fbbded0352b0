#include "nb201_network.h"

#include <torch/nn/functional/pooling.h>

#include "../errors.h"

namespace torchnas {

const std::array<const char*, kNb201Ops> kNb201OpNames = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                          "avg_pool_3x3"};

namespace {
constexpr double kExecuteThreshold = 0.01;  // §1.3: ops at or below this weight are not executed
}

Nb201Cell::Nb201Cell(int64_t channels, const std::vector<std::vector<int>>& edge_ops, BnFlags bn) : edge_ops_(edge_ops) {
  // Edges in the original's construction order: for i in 1..3, for j < i (which is also edge2index order).
  edges_.resize(kNb201Edges);
  int e = 0;
  for (int i = 1; i < 4; ++i) {
    for (int j = 0; j < i; ++j, ++e) {
      for (size_t k = 0; k < edge_ops_[e].size(); ++k) {
        auto op = make_cell_op(kNb201OpNames[edge_ops_[e][k]], channels, channels, 1, bn);
        register_module("edge_" + std::to_string(i) + "_" + std::to_string(j) + "_op" + std::to_string(edge_ops_[e][k]), op);
        edges_[e].push_back(op);
      }
    }
  }
}

torch::Tensor Nb201Cell::forward(const torch::Tensor& x, const torch::Tensor& weights, const Trace& trace) {
  auto w = weights.accessor<float, 2>();
  std::vector<torch::Tensor> nodes{x};
  int e = 0;
  for (int i = 1; i < 4; ++i) {
    torch::Tensor node;
    for (int j = 0; j < i; ++j, ++e) {
      for (size_t k = 0; k < edges_[e].size(); ++k) {
        const float wk = w[e][edge_ops_[e][k]];
        if (!(wk > kExecuteThreshold)) continue;
        auto out = trace.scale(edges_[e][k]->forward(nodes[j], trace), wk);
        node = node.defined() ? trace.add(node, out) : out;
      }
    }
    // A node with no live input is the Python int 0 in the original; as a tensor it is zeros.
    nodes.push_back(node.defined() ? node : trace.constant(torch::zeros_like(x)));
  }
  return nodes.back();
}

int64_t Nb201Cell::cost(int64_t side, const std::vector<std::vector<int>>& live, Cost& cost) const {
  for (int e = 0; e < kNb201Edges; ++e) {
    for (size_t k = 0; k < edges_[e].size(); ++k) {
      for (int op : live[e]) {
        if (op == edge_ops_[e][k]) edges_[e][k]->cost(side, cost);
      }
    }
  }
  return side;
}

Nb201NetworkImpl::Nb201NetworkImpl(Nb201Options options) : options_(std::move(options)) {
  const int64_t c = options_.channels, n = options_.cells_per_stage;
  if (c < 1 || n < 1 || options_.num_classes < 1 || options_.in_channels < 1) {
    fail("INVALID_ARGUMENT", "NB201 network needs channels, cells per stage, classes and input channels >= 1");
  }
  if (options_.edge_ops.empty()) {
    options_.edge_ops.assign(kNb201Edges, {0, 1, 2, 3, 4});
  }
  if (options_.edge_ops.size() != kNb201Edges) fail("INVALID_ARGUMENT", "NB201 cells have 6 edges");
  for (const auto& ops : options_.edge_ops) {
    if (ops.empty()) fail("INVALID_ARGUMENT", "every NB201 edge needs at least one op");
    for (int op : ops) {
      if (op < 0 || op >= kNb201Ops) fail("INVALID_ARGUMENT", "NB201 op index out of range: " + std::to_string(op));
    }
  }
  // §1.3: the stem is always constructed (it draws from the RNG) even when unused.
  stem_conv = register_module("stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.in_channels, c, 3).padding(1).bias(false)));
  stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(c));

  std::vector<std::pair<int64_t, bool>> layers;  // (channels, reduction)
  for (int64_t i = 0; i < n; ++i) layers.emplace_back(c, false);
  layers.emplace_back(2 * c, true);
  for (int64_t i = 0; i < n; ++i) layers.emplace_back(2 * c, false);
  layers.emplace_back(4 * c, true);
  for (int64_t i = 0; i < n; ++i) layers.emplace_back(4 * c, false);
  if (options_.depth > 0 && options_.depth < static_cast<int64_t>(layers.size())) layers.resize(options_.depth);

  int64_t c_prev = options_.use_stem ? c : options_.in_channels;
  if (!options_.use_stem && options_.in_channels != c) {
    fail("INVALID_ARGUMENT", "without a stem the input channels (" + std::to_string(options_.in_channels) +
                                 ") must equal C (" + std::to_string(c) + ")");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    auto [c_curr, reduction] = layers[i];
    if (reduction) {
      blocks_.push_back(register_module("block" + std::to_string(i), std::make_shared<ResNetBasicBlock>(c_prev, c_curr, 2, BnFlags{})));
    } else {
      cells_.push_back(register_module("cell" + std::to_string(i), std::make_shared<Nb201Cell>(c_curr, options_.edge_ops, options_.bn)));
    }
    is_cell_.push_back(!reduction);
    layer_channels_.push_back(c_curr);
    c_prev = c_curr;
  }
  last_bn = register_module("lastact_bn", torch::nn::BatchNorm2d(c_prev));
  classifier = register_module("classifier", torch::nn::Linear(c_prev, options_.num_classes));
  // The original draws α = 1e-3·N(0,1) last and overwrites it at once; draw it too so RNG streams line up.
  alpha_ = 1e-3 * torch::randn({kNb201Edges, kNb201Ops});
  std::vector<int> first_ops;
  bool single = true;
  for (const auto& ops : options_.edge_ops) single = single && ops.size() == 1;
  if (single) {
    for (const auto& ops : options_.edge_ops) first_ops.push_back(ops[0]);
    alpha_ = single_path_alpha(first_ops);
  }
}

void Nb201NetworkImpl::set_alpha(const torch::Tensor& alpha) {
  if (alpha.dim() != 2 || alpha.size(0) != kNb201Edges || alpha.size(1) != kNb201Ops) {
    fail("SHAPE_MISMATCH", "NB201 alpha must be [6, 5], got " + c10::str(alpha.sizes()));
  }
  auto a = alpha.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
  auto acc = a.accessor<float, 2>();
  for (int e = 0; e < kNb201Edges; ++e) {
    for (int op = 0; op < kNb201Ops; ++op) {
      bool present = false;
      for (int held : options_.edge_ops[e]) present = present || held == op;
      if (!present && acc[e][op] > -100) {
        fail("INVALID_ARGUMENT", "alpha gives weight to op '" + std::string(kNb201OpNames[op]) + "' on edge " +
                                     std::to_string(e) + ", which this network does not hold");
      }
    }
  }
  alpha_ = a;
}

torch::Tensor Nb201NetworkImpl::forward(const torch::Tensor& x, const Trace& trace) {
  if (x.dim() != 4 || x.size(1) != options_.in_channels) {
    fail("SHAPE_MISMATCH", "NB201 network expects input [B, " + std::to_string(options_.in_channels) + ", H, W], got " +
                               c10::str(x.sizes()));
  }
  auto weights = torch::softmax(alpha_, -1).contiguous();
  const int64_t copies = trace.copies;
  torch::Tensor h = copies > 1 ? x.repeat({1, copies, 1, 1}) : x;
  if (options_.use_stem) h = trace.bn(stem_bn, trace.conv(stem_conv, h));
  size_t ci = 0, bi = 0;
  for (bool cell : is_cell_) {
    h = cell ? cells_[ci++]->forward(h, weights, trace) : blocks_[bi++]->forward(h, trace);
  }
  h = trace.relu(trace.bn(last_bn, h));
  h = trace.global_avg_pool(h);
  if (copies == 1) return trace.linear(classifier, h);
  // Wide mode: logits [B, copies, classes], each copy with its own (expanded) classifier weight.
  auto weight = classifier->weight.unsqueeze(0).repeat({copies, 1, 1});
  if (trace.expanded) trace.expanded->push_back(weight);
  return torch::einsum("bkc,koc->bko", {h.view({h.size(0), copies, -1}), weight}) + classifier->bias;
}

std::vector<std::vector<int>> Nb201NetworkImpl::live_ops() const {
  auto weights = torch::softmax(alpha_, -1).contiguous();
  auto w = weights.accessor<float, 2>();
  std::vector<std::vector<int>> live(kNb201Edges);
  for (int e = 0; e < kNb201Edges; ++e) {
    for (int op : options_.edge_ops[e]) {
      if (w[e][op] > kExecuteThreshold) live[e].push_back(op);
    }
  }
  return live;
}

double Nb201NetworkImpl::macs(int64_t side) const {
  Cost cost;
  auto live = live_ops();
  if (options_.use_stem) {
    cost.macs += conv_macs(stem_conv, side);
  }
  size_t ci = 0, bi = 0;
  for (bool cell : is_cell_) {
    side = cell ? cells_[ci++]->cost(side, live, cost) : blocks_[bi++]->cost(side, cost);
  }
  cost.macs += static_cast<double>(classifier->options.in_features() * classifier->options.out_features());
  return cost.macs;
}

int64_t Nb201NetworkImpl::live_parameter_count() const {
  auto live = live_ops();
  int64_t total = 0;
  for (const auto& item : named_parameters(true)) {
    const auto& name = item.key();
    // Cell op parameters are named "cell<k>.edge_<i>_<j>_op<o>.…"; keep those of live ops only.
    auto pos = name.find(".edge_");
    if (pos != std::string::npos) {
      auto rest = name.substr(pos + 6);  // "<i>_<j>_op<o>.…"
      int i = rest[0] - '0', j = rest[2] - '0';
      int op = rest[6] - '0';
      int e = i * (i - 1) / 2 + j;
      bool alive = false;
      for (int l : live[e]) alive = alive || l == op;
      if (!alive) continue;
    }
    total += item.value().numel();
  }
  return total;
}

torch::Tensor single_path_alpha(const std::vector<int>& ops) {
  if (ops.size() != kNb201Edges) fail("INVALID_ARGUMENT", "an NB201 architecture has 6 edge ops, got " + std::to_string(ops.size()));
  auto alpha = torch::full({kNb201Edges, kNb201Ops}, -1000.0f);
  for (int e = 0; e < kNb201Edges; ++e) {
    if (ops[e] < 0 || ops[e] >= kNb201Ops) fail("INVALID_ARGUMENT", "NB201 op index out of range: " + std::to_string(ops[e]));
    alpha[e][ops[e]] = 0.0f;
  }
  return alpha;
}

}  // namespace torchnas
