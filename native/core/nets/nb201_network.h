// The NB201 cell network (specs/tenas.md §1.1–§1.3): stem → N cells (C) → ResBlock → N cells (2C) →
// ResBlock → N cells (4C) → BN+ReLU → GAP → Linear. Edges hold either all five ops (TE-NAS's mixed-op
// supernet, weighted by softmax(α) and skipping ops at or below the 0.01 threshold) or one op each
// (a single architecture, as the benchmark's TinyNetwork).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <array>
#include <string>
#include <vector>

#include "../ops/cell_ops.h"

namespace torchnas {

constexpr int kNb201Edges = 6;
constexpr int kNb201Ops = 5;
// The original op order, which is also the α column order.
extern const std::array<const char*, kNb201Ops> kNb201OpNames;

struct Nb201Options {
  int64_t channels = 16;     // C
  int64_t cells_per_stage = 5;  // N
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  bool use_stem = true;
  // Keep only the first `depth` cells/blocks (-1: all). TE-NAS's thin LR net uses depth 1 without stem.
  int64_t depth = -1;
  // Per edge, the op indices (into kNb201OpNames) the edge holds. Empty: all five (supernet).
  std::vector<std::vector<int>> edge_ops;
  BnFlags bn;
};

class Nb201Cell : public torch::nn::Module {
 public:
  Nb201Cell(int64_t channels, const std::vector<std::vector<int>>& edge_ops, BnFlags bn);
  // weights: [6][5] softmax(α); an op runs only when its weight is > 0.01.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights, const Trace& trace);
  int64_t cost(int64_t side, const std::vector<std::vector<int>>& live, Cost& cost) const;

 private:
  // edges_[e][k] is the module for op edge_ops_[e][k].
  std::vector<std::vector<CellOpPtr>> edges_;
  std::vector<std::vector<int>> edge_ops_;
};

class Nb201NetworkImpl : public torch::nn::Module {
 public:
  explicit Nb201NetworkImpl(Nb201Options options);

  // Logits [B, classes]. relu outputs go to trace (linear regions).
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace = {});

  // α is [6, 5]; pruned/absent ops must be at -1000 (softmax ≈ 0).
  void set_alpha(const torch::Tensor& alpha);
  const torch::Tensor& alpha() const { return alpha_; }

  // MACs of one forward at side × side for the live ops of the current α (NB201 table convention).
  double macs(int64_t side) const;
  // Parameters of the modules that the current α executes (the whole module for single architectures).
  int64_t live_parameter_count() const;

  const Nb201Options& options() const { return options_; }

 private:
  std::vector<std::vector<int>> live_ops() const;

  Nb201Options options_;
  torch::nn::Conv2d stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr}, last_bn{nullptr};
  torch::nn::Linear classifier{nullptr};
  std::vector<std::shared_ptr<Nb201Cell>> cells_;
  std::vector<std::shared_ptr<ResNetBasicBlock>> blocks_;
  std::vector<bool> is_cell_;  // layer order: cell or block
  std::vector<int64_t> layer_channels_;
  torch::Tensor alpha_;
};
TORCH_MODULE(Nb201Network);

// α for a single path: 0 for each edge's chosen op, -1000 elsewhere.
torch::Tensor single_path_alpha(const std::vector<int>& ops);

}  // namespace torchnas
