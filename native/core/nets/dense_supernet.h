// The DenseNAS super network (specs/densenas.md §3): blocks 0..N, where block 0 is the stem (MBV2: plus
// the fixed mbconv_k3_t1 head block), blocks 1..N−1 are routing blocks (one head mixed op per predecessor,
// then num_layers stack mixed ops) and block N merges one conv1_1 branch per predecessor; then global
// average pooling and a Linear classifier.
//
// The space (connectivity, widths, strides, op lists) is resolved in TypeScript (src/spaces/densenas) and
// handed over as a DenseSpaceSpec. Architecture parameters are plain tensors in a DenseArch, owned by the
// search and not by this module, so they are never lost on replication and never reach the weight
// optimizer.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "densenas_ops.h"

namespace torchnas {

struct DenseEdge {
  int64_t from;
  int64_t stride;
};

struct DenseBlockSpec {
  int64_t channels;
  int64_t num_layers;
  std::vector<DenseEdge> predecessors;  // nearest first
  std::vector<int64_t> successors;      // ascending
};

struct DenseSpaceSpec {
  std::string net_type;  // "mbv2" or "res"
  int64_t in_channels = 3;
  int64_t num_classes = 1000;
  int64_t stem_stride = 2;
  int64_t init_dim = 16;
  int64_t head_dim = 16;
  int64_t last_dim = 1984;
  DenseBnSettings bn;
  std::vector<std::string> head_ops, stack_ops;
  std::vector<DenseBlockSpec> blocks;  // 0..N

  int64_t last_block() const { return static_cast<int64_t>(blocks.size()) - 1; }
  // Checks the connectivity (successor/predecessor lists agree, indices in range, strides 1 or 2, op
  // names known, channel counts): INVALID_ARGUMENT naming the block.
  void validate() const;
};

// β_i per block 0..N−1 (over its successors), α_head_j [|pred j| × |P_head|] and α_stack_j
// [num_layers_j × |P_stack|] per block 1..N−1 (index 0 and N hold empty tensors), all 1e-3·N(0, 1).
struct DenseArch {
  std::vector<torch::Tensor> betas, alpha_head, alpha_stack;

  static DenseArch initial(const DenseSpaceSpec& space, at::Generator& generator, const torch::Device& device);
  std::vector<torch::Tensor> alphas() const;  // non-empty alpha tensors, head then stack, by block
  std::vector<torch::Tensor> all_betas() const;
  int64_t count() const;
  // The same values without gradient tracking (weight steps train the weights only, §4.2).
  DenseArch detached() const;
};

// The op subset of every mixed-op row for one step (§3.3): head[j][h] and stack[j][l], sorted ascending.
struct DenseSample {
  std::vector<std::vector<std::vector<int64_t>>> head, stack;
};

enum class DenseSamplePolicy { kUniform, kProb, kAll };

// k ops per row: all when k >= the row's op count or the policy is kAll; kUniform: k distinct indices
// uniformly; kProb: k distinct indices by a multinomial draw on softmax(α_row) (no temperature).
DenseSample sample_ops(const DenseSpaceSpec& space, const DenseArch& arch, int64_t k, DenseSamplePolicy policy,
                       at::Generator& generator);

// A sample given by the caller instead of drawn: one row per mixed op of every block (head[j] and stack[j] for
// j = 1..N−1, entries 0 and N empty or absent), each row non-empty, strictly ascending, within the row's ops.
// Fails with INVALID_ARGUMENT naming the first offending row; returns the sample padded to N+1 blocks.
DenseSample checked_sample(const DenseSpaceSpec& space, const DenseArch& arch, DenseSample given);

// Per-op costs in the positional layout of a lat_list (§5.2), already cut to the space's layers.
struct DenseCosts {
  double stem = 0;
  std::vector<std::vector<std::vector<double>>> head;   // [j][h][op], j = 1..N−1 (index 0 unused)
  std::vector<std::vector<std::vector<double>>> stack;  // [j][l][op]
  std::vector<double> last;                             // conv1_1 branches, nearest predecessor first
  double classifier = 0;
  void validate(const DenseSpaceSpec& space) const;
};

class DenseSuperNetImpl : public torch::nn::Module {
 public:
  // Builds every op on `device`, initialised from `generator` (he_fout for mbv2, kaiming fan_out for res).
  DenseSuperNetImpl(DenseSpaceSpec space, at::Generator& generator, const torch::Device& device);

  // §3.4: logits for `x` with the sampled ops and temperature T (BN in training mode throughout).
  torch::Tensor forward(const torch::Tensor& x, const DenseArch& arch, const DenseSample& sample, double temperature);

  // §3.5: the chained (expected) cost c_stem + E(0) + c_classifier, differentiable in β and the sampled α.
  torch::Tensor expected_cost(const DenseArch& arch, const DenseSample& sample, const DenseCosts& costs, double temperature) const;

  const DenseSpaceSpec& space() const { return space_; }
  std::vector<torch::Tensor> weights() { return parameters(true); }

 private:
  torch::Tensor mixed(const std::vector<std::shared_ptr<DenseOpImpl>>& ops, const torch::Tensor& alpha_row,
                      const std::vector<int64_t>& chosen, const torch::Tensor& x, double temperature);

  DenseSpaceSpec space_;
  std::shared_ptr<DenseOpImpl> stem_conv_block_;  // stem conv + BN + activation, as one op
  std::shared_ptr<DenseOpImpl> head_block_;       // mbv2 only
  // head_ops_[j][h][op], stack_ops_[j][l][op]
  std::vector<std::vector<std::vector<std::shared_ptr<DenseOpImpl>>>> head_ops_, stack_ops_;
  std::vector<std::shared_ptr<DenseOpImpl>> last_branches_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(DenseSuperNet);

}  // namespace torchnas
