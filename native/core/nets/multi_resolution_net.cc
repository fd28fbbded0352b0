#include "multi_resolution_net.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/upsampling.h>

#include "../errors.h"

namespace torchnas {

namespace F = torch::nn::functional;

namespace {

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return "[" + s + "]";
}

bool same_spatial(const torch::Tensor& a, const torch::Tensor& b) { return a.size(2) == b.size(2) && a.size(3) == b.size(3); }

// Bilinear, align_corners=False; the original resizes unconditionally, which is an exact copy when the
// sizes already match, so we skip that case.
torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w) {
  if (x.size(2) == h && x.size(3) == w) return x;
  return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
}

}  // namespace

std::string head_name(MultiResolutionHead head) {
  return head == MultiResolutionHead::kClassification ? "classification" : "segmentation";
}

MultiResolutionHead parse_head(const std::string& name) {
  if (name == "classification" || name == "cls") return MultiResolutionHead::kClassification;
  if (name == "segmentation" || name == "seg") return MultiResolutionHead::kSegmentation;
  fail("INVALID_ARGUMENT", "unknown head '" + name + "': expected 'classification' (cls) or 'segmentation' (seg)");
}

MultiResolutionSetting setting_from_embedding(const std::vector<int64_t>& e) {
  if (e.size() != 27) fail("INVALID_CODE", "a NAS-Bench-MR embedding has 27 integers, got " + std::to_string(e.size()));
  MultiResolutionSetting s;
  s.input_channel = {e[0], e[1]};
  size_t pos = 2;
  for (int64_t stage = 1; stage <= 4; ++stage) {  // stage s: n_s, s block counts, s channel counts (§2.2)
    const int64_t repeats = e[pos];
    MultiResolutionModuleSetting m;
    m.branches = stage;
    m.blocks.assign(e.begin() + static_cast<long>(pos) + 1, e.begin() + static_cast<long>(pos) + 1 + stage);
    m.channels.assign(e.begin() + static_cast<long>(pos) + 1 + stage, e.begin() + static_cast<long>(pos) + 1 + 2 * stage);
    // §2.2: counts lie in 1..4; larger ones would build absurdly deep networks (and block or exhaust memory).
    if (repeats < 1 || repeats > 4) fail("INVALID_CODE", "stage " + std::to_string(stage) + " needs 1..4 modules, got " + std::to_string(repeats));
    for (int64_t r = 0; r < repeats; ++r) s.modules.push_back(m);
    pos += static_cast<size_t>(1 + 2 * stage);
  }
  s.last_channel = e[26];
  validate_setting(s);
  return s;
}

void validate_setting(const MultiResolutionSetting& s) {
  auto bad = [](const std::string& what) { fail("INVALID_ARGUMENT", "invalid MultiResolutionNet setting: " + what); };
  if (s.input_channel[0] < 1 || s.input_channel[1] < 1) {
    bad("input channels must be >= 1, got [" + std::to_string(s.input_channel[0]) + "," + std::to_string(s.input_channel[1]) + "]");
  }
  if (s.last_channel < 1) bad("last channel must be >= 1, got " + std::to_string(s.last_channel));
  if (s.modules.empty()) bad("network_setting has no modules");
  for (size_t k = 0; k < s.modules.size(); ++k) {
    const auto& m = s.modules[k];
    const std::string where = "module " + std::to_string(k) + ": ";
    if (m.branches < 1) bad(where + "branch count must be >= 1, got " + std::to_string(m.branches));
    if (static_cast<int64_t>(m.blocks.size()) != m.branches || static_cast<int64_t>(m.channels.size()) != m.branches) {
      bad(where + std::to_string(m.branches) + " branches need as many block and channel counts, got " + join(m.blocks) +
          " and " + join(m.channels));
    }
    for (auto b : m.blocks) if (b < 1) bad(where + "block counts must be >= 1, got " + join(m.blocks));
    for (auto c : m.channels) if (c < 1) bad(where + "channel counts must be >= 1, got " + join(m.channels));
  }
}

FuseModuleImpl::FuseModuleImpl(const std::vector<int64_t>& in_c, const std::vector<int64_t>& out_c, const torch::Device& device) {
  const int64_t nin = static_cast<int64_t>(in_c.size()), nout = static_cast<int64_t>(out_c.size());
  for (int64_t i = 0; i < std::min(nin, nout); ++i) {
    std::vector<Path> row;
    for (int64_t j = i - 1; j <= i + 1; ++j) {  // order j = i-1, i, i+1: the first path sets the size
      if (j < 0 || j >= nin) continue;
      // Same branch: 3×3 (always present, even when channels match, §8.2); lower resolution: 1×1 then
      // nearest ×2 in forward; higher resolution: one 3×3 stride-2 conv.
      const int64_t kernel = j == i + 1 ? 1 : 3, stride = j == i - 1 ? 2 : 1;
      auto conv = register_module("row" + std::to_string(i) + "_from" + std::to_string(j),
                                  ConvBnRelu(in_c[j], out_c[i], kernel, stride, device));
      row.push_back({j, conv});
    }
    rows_.push_back(std::move(row));
  }
  for (int64_t b = nin; b < nout; ++b) {  // new branch from the fused, ReLU'd branch before it (§8.3)
    new_branches_.push_back(register_module("new_branch" + std::to_string(b), ConvBnRelu(out_c[b - 1], out_c[b], 3, 2, device)));
  }
}

std::vector<torch::Tensor> FuseModuleImpl::forward(const std::vector<torch::Tensor>& x) {
  std::vector<torch::Tensor> out;
  out.reserve(rows_.size() + new_branches_.size());
  for (size_t i = 0; i < rows_.size(); ++i) {
    torch::Tensor y;
    for (auto& path : rows_[i]) {
      if (path.from >= static_cast<int64_t>(x.size())) {
        fail("SHAPE_MISMATCH", "FuseModule expected at least " + std::to_string(path.from + 1) + " input branches, got " +
                                   std::to_string(x.size()));
      }
      auto t = path.conv->forward(x[path.from]);
      if (path.from == static_cast<int64_t>(i) + 1) {
        t = F::interpolate(t, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
      }
      if (!y.defined()) {
        y = t;
      } else {
        y = y + (same_spatial(t, y) ? t : resize_bilinear(t, y.size(2), y.size(3)));
      }
    }
    out.push_back(relu_any_device(y));
  }
  for (auto& branch : new_branches_) out.push_back(branch(out.back()));
  return out;
}

ParallelModuleImpl::ParallelModuleImpl(const std::vector<int64_t>& blocks, const std::vector<int64_t>& channels,
                                       const torch::Device& device) {
  for (size_t i = 0; i < blocks.size(); ++i) {
    torch::nn::Sequential seq;
    for (int64_t b = 0; b < blocks[i]; ++b) seq->push_back(BasicBlock(channels[i], device));
    branches_.push_back(register_module("branch" + std::to_string(i), seq));
  }
}

std::vector<torch::Tensor> ParallelModuleImpl::forward(std::vector<torch::Tensor> x) {
  if (x.size() != branches_.size()) {
    fail("SHAPE_MISMATCH", "ParallelModule expects " + std::to_string(branches_.size()) + " branches, got " + std::to_string(x.size()));
  }
  for (size_t i = 0; i < x.size(); ++i) x[i] = branches_[i]->forward(x[i]);
  return x;
}

MultiResolutionNetImpl::MultiResolutionNetImpl(const MultiResolutionNetOptions& options, const torch::Device& device, uint64_t seed)
    : options_(options), device_(device) {
  validate_setting(options_.setting);
  if (options_.num_classes < 1) fail("INVALID_ARGUMENT", "num_classes must be >= 1, got " + std::to_string(options_.num_classes));
  const auto& s = options_.setting;
  const bool meta = device.type() == torch::kMeta;
  const torch::Device build(meta ? torch::kMeta : torch::kCPU);

  stem_ = register_module("stem", torch::nn::Sequential(ConvBnRelu(3, s.input_channel[0], 3, 2, build),
                                                        ConvBnRelu(s.input_channel[0], s.input_channel[1], 3, 2, build)));
  std::vector<int64_t> in_channels{s.input_channel[1]};
  for (size_t k = 0; k < s.modules.size(); ++k) {
    const auto& m = s.modules[k];
    fuse_.push_back(register_module("fuse" + std::to_string(k), FuseModule(in_channels, m.channels, build)));
    parallel_.push_back(register_module("parallel" + std::to_string(k), ParallelModule(m.blocks, m.channels, build)));
    in_channels = m.channels;
  }
  int64_t concat = 0;
  for (auto c : in_channels) concat += c;
  transform_ = register_module("transform", ConvBnRelu(concat, s.last_channel, 1, 1, build));
  classifier_ = register_module("classifier", Conv2dLayer(Conv2dLayerOptions{s.last_channel, options_.num_classes, 1, 1, 0, true}, build));

  if (!meta) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    init_counted_convs(*this, generator);
    if (device.type() != torch::kCPU) to(device);
  }
}

torch::Tensor MultiResolutionNetImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != 3) fail("SHAPE_MISMATCH", "MultiResolutionNet expects [N, 3, H, W], got " + c10::str(x.sizes()));
  std::vector<torch::Tensor> branches{stem_->forward(x)};
  for (size_t k = 0; k < fuse_.size(); ++k) branches = parallel_[k]->forward(fuse_[k]->forward(branches));
  // Head (§3.3): classification resizes every branch to the lowest resolution, segmentation to the highest.
  const auto& anchor = options_.head == MultiResolutionHead::kClassification ? branches.back() : branches.front();
  const int64_t h = anchor.size(2), w = anchor.size(3);
  std::vector<torch::Tensor> resized;
  for (const auto& b : branches) resized.push_back(resize_bilinear(b, h, w));
  auto y = transform_(torch::cat(resized, 1));
  if (options_.head == MultiResolutionHead::kClassification) y = torch::avg_pool2d(y, {y.size(2), y.size(3)});
  return classifier_(y);
}

OpCount MultiResolutionNetImpl::count_ops(int64_t height, int64_t width, int64_t batch) {
  if (height < 4 || width < 4 || batch < 1) fail("INVALID_ARGUMENT", "count_ops needs a batch >= 1 and an input of at least 4×4");
  const bool was_training = is_training();
  eval();  // thop counts BN as 2× in eval mode (§4)
  torch::NoGradGuard no_grad;
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  auto input = device_.type() == torch::kMeta ? torch::empty({batch, 3, height, width}, options)
                                              : torch::zeros({batch, 3, height, width}, options);
  OpCount result;
  try {
    result = torchnas::count_ops([&] { forward(input); });
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  return result;
}

OpCount count_multi_resolution_ops(const MultiResolutionNetOptions& options, int64_t height, int64_t width) {
  MultiResolutionNet net(options, torch::Device(torch::kMeta), 0);
  return net->count_ops(height, width);
}

}  // namespace torchnas
