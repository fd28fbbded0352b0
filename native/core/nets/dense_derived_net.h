// The network DenseNAS derives (specs/densenas.md §4.4 step 4): a stem (conv3×3, stride 2 by default,
// affine BN, ReLU6), then per net_config entry a head op (C_in→C_out, stride) followed by its stack ops
// (C_out→C_out, stride 1), all BN affine; MBV2 ends with the conv1_1 entry; then global average pooling
// and a Linear classifier. Parameter names (state-dict exports): stem.conv.weight, stem.bn.*,
// blocks_<e>_head.*, blocks_<e>_stack<l>.* (MBConv: expand, expand_bn, depthwise, depthwise_bn, project,
// project_bn; basic_block: conv1, bn1, conv2, bn2, shortcut, shortcut_bn), last.conv.weight, last.bn.*,
// classifier.weight / classifier.bias.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "densenas_ops.h"

namespace torchnas {

struct DerivedEntry {
  bool conv1_1 = false;  // the MBV2 [[C, last_dim], 'conv1_1'] entry
  int64_t in = 0, out = 0;
  std::string head_op;
  std::vector<std::string> stack_ops;
  int64_t stride = 1;
};

struct DerivedNetSpec {
  std::string net_type = "mbv2";
  int64_t in_channels = 3;
  int64_t num_classes = 1000;
  int64_t stem_stride = 2;
  DenseBnSettings bn;
  std::vector<DerivedEntry> entries;
  void validate() const;  // INVALID_ARGUMENT naming the entry
};

class DenseDerivedNetImpl : public torch::nn::Module {
 public:
  DenseDerivedNetImpl(DerivedNetSpec spec, at::Generator& generator);
  torch::Tensor forward(const torch::Tensor& x);
  const DerivedNetSpec& spec() const { return spec_; }

 private:
  DerivedNetSpec spec_;
  std::shared_ptr<DenseStemImpl> stem_;
  std::vector<std::vector<std::shared_ptr<DenseOpImpl>>> blocks_;  // head then stack ops, per entry
  std::shared_ptr<DenseOpImpl> last_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(DenseDerivedNet);

}  // namespace torchnas
