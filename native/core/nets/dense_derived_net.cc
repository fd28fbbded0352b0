#include "dense_derived_net.h"

#include <torch/nn/functional/pooling.h>

#include "../errors.h"

namespace torchnas {

void DerivedNetSpec::validate() const {
  if (net_type != "mbv2" && net_type != "res") fail("INVALID_ARGUMENT", "net_type must be 'mbv2' or 'res', got '" + net_type + "'");
  if (in_channels < 1 || in_channels > 64) fail("INVALID_ARGUMENT", "in_channels must be in 1..64");
  if (num_classes < 1 || num_classes > 100000) fail("INVALID_ARGUMENT", "num_classes must be in 1..100000");
  if (stem_stride != 1 && stem_stride != 2) fail("INVALID_ARGUMENT", "stem_stride must be 1 or 2");
  if (entries.empty() || entries.size() > 256) fail("INVALID_ARGUMENT", "a net_config needs 1..256 entries");
  for (size_t e = 0; e < entries.size(); ++e) {
    const auto& entry = entries[e];
    const std::string where = "net_config entry " + std::to_string(e);
    if (entry.in < 1 || entry.out < 1 || entry.in > 65536 || entry.out > 65536) fail("INVALID_ARGUMENT", where + ": channels must be in 1..65536");
    if (e > 0 && entry.in != entries[e - 1].out) {
      fail("INVALID_ARGUMENT", where + ": takes " + std::to_string(entry.in) + " channels but the entry before gives " + std::to_string(entries[e - 1].out));
    }
    if (entry.conv1_1) {
      if (net_type != "mbv2" || e + 1 != entries.size()) fail("INVALID_ARGUMENT", where + ": conv1_1 may only end an mbv2 net_config");
      continue;
    }
    if (!is_dense_op(entry.head_op)) fail("INVALID_ARGUMENT", where + ": unknown op '" + entry.head_op + "'");
    if (entry.stride != 1 && entry.stride != 2) fail("INVALID_ARGUMENT", where + ": stride must be 1 or 2");
    if (entry.stack_ops.size() > 64) fail("INVALID_ARGUMENT", where + ": more than 64 stack ops");
    for (const auto& op : entry.stack_ops) {
      if (!is_dense_op(op)) fail("INVALID_ARGUMENT", where + ": unknown op '" + op + "'");
    }
  }
}

DenseDerivedNetImpl::DenseDerivedNetImpl(DerivedNetSpec spec, at::Generator& generator) : spec_(std::move(spec)) {
  spec_.validate();
  const bool mbv2 = spec_.net_type == "mbv2";
  // The derived nets' stem: affine BN, ReLU6 in both spaces (RES_Net uses ReLU6, unlike its super net).
  stem_ = register_module("stem", std::make_shared<DenseStemImpl>(spec_.in_channels, spec_.entries[0].in, spec_.stem_stride, true, true, spec_.bn));
  int64_t channels = spec_.entries[0].in;
  for (size_t e = 0; e < spec_.entries.size(); ++e) {
    const auto& entry = spec_.entries[e];
    if (entry.conv1_1) {
      last_ = register_module("last", std::make_shared<Conv1x1BranchImpl>(entry.in, entry.out, /*affine=*/true, spec_.bn));
      channels = entry.out;
      continue;
    }
    std::vector<std::shared_ptr<DenseOpImpl>> ops;
    const std::string prefix = "blocks_" + std::to_string(e) + "_";
    ops.push_back(register_module(prefix + "head", make_dense_op(entry.head_op, entry.in, entry.out, entry.stride, true, spec_.bn)));
    for (size_t l = 0; l < entry.stack_ops.size(); ++l) {
      ops.push_back(register_module(prefix + "stack" + std::to_string(l), make_dense_op(entry.stack_ops[l], entry.out, entry.out, 1, true, spec_.bn)));
    }
    blocks_.push_back(std::move(ops));
    channels = entry.out;
  }
  classifier_ = register_module("classifier", torch::nn::Linear(channels, spec_.num_classes));
  init_dense_module(*this, mbv2 ? DenseInit::kHeFout : DenseInit::kKaimingFanOut, generator);
}

torch::Tensor DenseDerivedNetImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != spec_.in_channels) {
    fail("SHAPE_MISMATCH", "the derived network expects images [N, " + std::to_string(spec_.in_channels) + ", H, W], got " + c10::str(x.sizes()));
  }
  auto h = stem_->forward(x);
  for (auto& ops : blocks_) {
    for (auto& op : ops) h = op->forward(h);
  }
  if (last_) h = last_->forward(h);
  return classifier_->forward(torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1));
}

}  // namespace torchnas
