// MultiResolutionNet, the NAS-Bench-MR supernet (spec ncp.md §3): a stride-4 stem, then modules of
// FuseModule (transition between branch lists) + ParallelModule (BasicBlocks per branch), then a
// classification or segmentation head. Built from counted layers, so it can be built on the meta device
// and counted by thop's 2020 rules (§4) without computing anything.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <array>
#include <string>
#include <vector>

#include "../measure/flops.h"
#include "../ops/conv_blocks.h"

namespace torchnas {

// One entry of network_setting (spec §2.3): branch count, BasicBlocks per branch, channels per branch.
struct MultiResolutionModuleSetting {
  int64_t branches = 0;
  std::vector<int64_t> blocks;
  std::vector<int64_t> channels;
};

struct MultiResolutionSetting {
  std::array<int64_t, 2> input_channel{};  // the two stride-2 stem convolutions
  std::vector<MultiResolutionModuleSetting> modules;
  int64_t last_channel = 0;  // width of the head's 1×1 "transform" convolution
};

enum class MultiResolutionHead { kClassification, kSegmentation };

struct MultiResolutionNetOptions {
  MultiResolutionSetting setting;
  int64_t num_classes = 19;  // the original's default; the benchmark's stored costs use 50 (§4)
  MultiResolutionHead head = MultiResolutionHead::kSegmentation;
};

// Decodes the 27-number embedding (spec §2.2) into a setting; repeats each stage's entry n_s times.
MultiResolutionSetting setting_from_embedding(const std::vector<int64_t>& embedding);

// Throws INVALID_ARGUMENT naming the first inconsistency (positive counts/channels, list lengths).
// The network builds for any positive channel counts; the space's multiple-of-8 rule is not checked here.
void validate_setting(const MultiResolutionSetting& setting);

std::string head_name(MultiResolutionHead head);
MultiResolutionHead parse_head(const std::string& name);  // "classification"/"cls", "segmentation"/"seg"

// Transition from `in_channels` branches to `out_channels` branches (spec §3.2, neighbours only,
// direct downsampling): row i sums the paths from input branches i-1 (3×3 stride 2), i (3×3) and
// i+1 (1×1 then nearest ×2), then ReLU; extra output branches come from the fused row before them.
class FuseModuleImpl : public torch::nn::Module {
 public:
  FuseModuleImpl(const std::vector<int64_t>& in_channels, const std::vector<int64_t>& out_channels,
                 const torch::Device& device);
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& x);

 private:
  struct Path {
    int64_t from;  // input branch index j
    ConvBnRelu conv{nullptr};
  };
  std::vector<std::vector<Path>> rows_;
  std::vector<ConvBnRelu> new_branches_;
};
TORCH_MODULE(FuseModule);

class ParallelModuleImpl : public torch::nn::Module {
 public:
  ParallelModuleImpl(const std::vector<int64_t>& blocks, const std::vector<int64_t>& channels, const torch::Device& device);
  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> x);

 private:
  std::vector<torch::nn::Sequential> branches_;
};
TORCH_MODULE(ParallelModule);

class MultiResolutionNetImpl : public torch::nn::Module {
 public:
  // On the meta device nothing is allocated or initialised (for counting); elsewhere the weights are
  // initialised from `seed` (spec §3.4) on the CPU and then moved to `device`.
  MultiResolutionNetImpl(const MultiResolutionNetOptions& options, const torch::Device& device, uint64_t seed);
  // [N, 3, H, W] → classification [N, K, 1, 1]; segmentation [N, K, H/4, W/4] (no final upsampling).
  torch::Tensor forward(const torch::Tensor& x);

  // Counts ops/params by thop's 2020 rules for one forward of a [batch, 3, height, width] input, on a
  // meta input when the net lives on the meta device, else on zeros (eval mode for the count).
  OpCount count_ops(int64_t height, int64_t width, int64_t batch = 1);

  const MultiResolutionNetOptions& options() const { return options_; }

 private:
  MultiResolutionNetOptions options_;
  torch::Device device_;
  torch::nn::Sequential stem_{nullptr};
  std::vector<FuseModule> fuse_;
  std::vector<ParallelModule> parallel_;
  ConvBnRelu transform_{nullptr};
  Conv2dLayer classifier_{nullptr};
};
TORCH_MODULE(MultiResolutionNet);

// Builds the net on the meta device and counts it: exact FLOPs/params in milliseconds, no memory.
OpCount count_multi_resolution_ops(const MultiResolutionNetOptions& options, int64_t height = 128, int64_t width = 128);

}  // namespace torchnas
