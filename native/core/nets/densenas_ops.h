// The candidate operations of DenseNAS (specs/densenas.md §2): MBConv (mbconv_k{3,5,7}_t{1,3,6}), the
// ResNet basic_block, skip_connect, and the conv1_1 branch of the last block. Built exactly as the
// original builds them, quirks included:
// - MBConv: hidden width t·C_in; t = 1 has no expansion and its last BN is always affine; residual iff the
//   output shape equals the input shape (C_in == C_out and stride 1); ReLU6; no SE.
// - skip_connect ignores the requested stride (identity, or 1×1 conv + BN when C_in ≠ C_out); a stride-2
//   skip would not match its siblings' shapes, so it is refused at construction instead of failing later.
// - BN: affine as the caller says (super net: affine=False with running stats; derived net: affine),
//   momentum/eps from the space (MBV2: 0.1 / 1e-3; ResNet super net: PyTorch's defaults).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <memory>
#include <string>

namespace torchnas {

struct DenseBnSettings {
  double momentum = 0.1;
  double eps = 1e-5;
};

// Initialisation of a DenseNAS network (§2 "Init"): he_fout for MBV2 (N(0, sqrt(2 / (K·K·C_out/groups)))),
// kaiming-normal fan_out (ReLU gain, no groups) for ResNet convs; affine BN 1/0; Linear bias 0.
enum class DenseInit { kHeFout, kKaimingFanOut };

class DenseOpImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// conv(k, s, groups) without bias, padding (k-1)/2.
torch::nn::Conv2d dense_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups);
torch::nn::BatchNorm2d dense_bn(int64_t channels, bool affine, const DenseBnSettings& bn);

class MbConvImpl : public DenseOpImpl {
 public:
  MbConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t expansion, int64_t stride, bool affine, const DenseBnSettings& bn);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d expand{nullptr}, depthwise{nullptr}, project{nullptr};
  torch::nn::BatchNorm2d expand_bn{nullptr}, depthwise_bn{nullptr}, project_bn{nullptr};
  bool residual;
  int64_t stride_, padding_;  // of the depthwise conv (run by depthwise_conv2d: its own weight gradient)
};

class DenseBasicBlockImpl : public DenseOpImpl {
 public:
  DenseBasicBlockImpl(int64_t in, int64_t out, int64_t stride, bool affine, const DenseBnSettings& bn);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, shortcut_bn{nullptr};
};

class SkipConnectImpl : public DenseOpImpl {
 public:
  SkipConnectImpl(int64_t in, int64_t out, bool affine, const DenseBnSettings& bn);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};

// Block N's branch: 1×1 conv in→last_dim, BN, ReLU6.
class Conv1x1BranchImpl : public DenseOpImpl {
 public:
  Conv1x1BranchImpl(int64_t in, int64_t out, bool affine, const DenseBnSettings& bn);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};

// Stem: conv3×3 (stem stride) in→out, BN, ReLU6 (mbv2) or ReLU (the res super net) (§2). The super nets'
// stem BN: MBV2 affine=False like its other BNs, ResNet affine (the spec names it so).
class DenseStemImpl : public DenseOpImpl {
 public:
  DenseStemImpl(int64_t in, int64_t out, int64_t stride, bool relu6, bool affine, const DenseBnSettings& bn);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d norm{nullptr};
  bool relu6_;
};

// An op by its DenseNAS name (mbconv_k3_t6, basic_block, skip_connect); INVALID_ARGUMENT names an
// unknown op or a stride the op cannot take.
std::shared_ptr<DenseOpImpl> make_dense_op(const std::string& name, int64_t in, int64_t out, int64_t stride, bool affine,
                                           const DenseBnSettings& bn);

// True for a known op name.
bool is_dense_op(const std::string& name);

// Applies `init` to every Conv2d, BatchNorm2d and Linear below `module` (not `module` itself, so that a
// constructor can call it), drawing from `generator`.
void init_dense_module(torch::nn::Module& module, DenseInit init, at::Generator& generator);

}  // namespace torchnas
