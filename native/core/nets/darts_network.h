// The DARTS (NASNet-like) cell network TE-NAS searches (specs/tenas.md §1.4): stem → cells with two
// inputs each (normal cells, and reduction cells at the stage boundaries) → BN+ReLU → GAP → Linear.
// Edges hold either all eight ops (the mixed-op supernet, weighted by softmax(α) and skipping ops at
// or below the 0.01 threshold) or a chosen subset (a genotype: one op on each kept edge, none elsewhere).
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

constexpr int kDartsOps = 8;
// `DARTS_SPACE` in the original's order, which is also the α column order.
extern const std::array<const char*, kDartsOps> kDartsOpNames;

// Number of edges of a cell with `steps` intermediate nodes: 2 + 3 + … + (steps + 1).
int64_t darts_edge_count(int64_t steps);

struct DartsOptions {
  int64_t channels = 16;        // C
  int64_t cells_per_stage = 5;  // N
  int64_t steps = 4;            // intermediate nodes per cell
  int64_t multiplier = 4;       // how many of the last states are concatenated into the output
  int64_t stem_multiplier = 3;
  int64_t num_classes = 10;
  int64_t in_channels = 3;  // the stem's input channels (the original hardwires 3)
  bool use_stem = true;
  // Keep only the first `depth` cells (-1: all). TE-NAS's DARTS nets use depth 2 (a normal and a reduction cell).
  int64_t depth = -1;
  // Per edge (sorted-key order), the op indices (into kDartsOpNames) the edge holds; an empty list is an
  // absent edge. Empty outer vector: all eight ops on every edge (supernet).
  std::vector<std::vector<int>> normal_edge_ops, reduce_edge_ops;
  BnFlags bn;
};

// `NASNetSearchCell`: s0 = preprocess0(c_{k-2}), s1 = preprocess1(c_{k-1}); node i = Σ_{j<i+2} edge_{i<-j}(state j);
// the output concatenates the last `multiplier` states along channels.
class DartsCell : public torch::nn::Module {
 public:
  DartsCell(int64_t steps, int64_t multiplier, int64_t c_prev_prev, int64_t c_prev, int64_t c, bool reduction,
            bool reduction_prev, const std::vector<std::vector<int>>& edge_ops, BnFlags bn);
  // weights: [E][8] softmax(α) in sorted-key edge order; pruned[e]: the edge's α are all −1000 (it contributes 0).
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1, const torch::Tensor& weights,
                        const std::vector<bool>& pruned, const Trace& trace);
  // Adds the MACs of the preprocessing and the live ops; returns the output side.
  int64_t cost(int64_t side0, int64_t side1, const std::vector<std::vector<int>>& live, Cost& cost) const;
  // Parameters of the preprocessing and of the live ops.
  int64_t live_parameter_count(const std::vector<std::vector<int>>& live) const;
  bool reduction() const { return reduction_; }

 private:
  // Edge position in construction order (node i, source j) → index in sorted-key order.
  std::vector<int> sorted_index_;
  int64_t steps_, multiplier_, channels_;
  bool reduction_;
  std::shared_ptr<CellOp> preprocess0, preprocess1;
  // edges_[e][k] is the module for op edge_ops_[e][k], e in sorted-key order.
  std::vector<std::vector<CellOpPtr>> edges_;
  std::vector<std::vector<int>> edge_ops_;
};

class DartsNetworkImpl : public torch::nn::Module {
 public:
  explicit DartsNetworkImpl(DartsOptions options);

  // Logits [B, classes]. ReLU outputs go to trace (linear regions).
  torch::Tensor forward(const torch::Tensor& x, const Trace& trace = {});

  // α for normal and reduction cells, each [E, 8]; an undefined tensor keeps the current one.
  // Pruned ops are at −1000; an edge with every α at −1000 contributes 0 (§1.4).
  void set_alpha(const torch::Tensor& normal, const torch::Tensor& reduce);
  const torch::Tensor& alpha_normal() const { return alpha_normal_; }
  const torch::Tensor& alpha_reduce() const { return alpha_reduce_; }

  // MACs of one forward at side × side for the live ops of the current α (conv and linear only).
  double macs(int64_t side) const;
  // Parameters of the modules that the current α executes (every module outside the cells included).
  int64_t live_parameter_count() const;

  int64_t edge_count() const { return darts_edge_count(options_.steps); }
  // Channels of the input the network expects: 3 with the stem, C·stem_multiplier without it.
  int64_t input_channels() const;
  const DartsOptions& options() const { return options_; }

 private:
  // live[e]: op indices that run on edge e (held, weight > 0.01, edge not pruned).
  std::vector<std::vector<int>> live_ops(const torch::Tensor& alpha, const std::vector<std::vector<int>>& held) const;
  void check_alpha(const torch::Tensor& alpha, const std::vector<std::vector<int>>& held, const char* which) const;

  DartsOptions options_;
  torch::nn::Conv2d stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr}, last_bn{nullptr};
  torch::nn::Linear classifier{nullptr};
  std::vector<std::shared_ptr<DartsCell>> cells_;
  torch::Tensor alpha_normal_, alpha_reduce_;
};
TORCH_MODULE(DartsNetwork);

// Whether an edge's α row counts as pruned: the original tests Σα ≤ −1000·(number of ops).
bool darts_edge_pruned(const float* alpha_row, int ops);

}  // namespace torchnas
