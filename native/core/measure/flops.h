// FLOPs/params counting with the 2020-era thop rules (thop 0.0.31), the rules that reproduce the stored
// flops/params of NAS-Bench-MR (spec ncp.md §4). It works like thop's forward hooks: the counted leaf
// layers (ops/counted_layers.h) report every call to the OpCounter that is active on the calling thread,
// so the count follows the forward that actually ran, whatever network is built from those layers.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <unordered_set>

namespace torchnas {

struct OpCount {
  int64_t ops = 0;     // multiply-accumulates by thop's rules (what the benchmark calls "flops")
  int64_t params = 0;  // parameters of the counted layers that ran, each layer once
};

class OpCounter {
 public:
  // Conv2d: output elements × (in_channels/groups × kh × kw + 1 if the conv has a bias).
  void conv2d(const void* layer, const torch::Tensor& output, int64_t in_channels, int64_t groups, int64_t kernel_h,
              int64_t kernel_w, bool has_bias, int64_t parameter_count);
  // BatchNorm2d: 2 × input elements (thop 0.0.31 in eval mode; newer thop counts 4× for affine BN).
  void batch_norm(const void* layer, const torch::Tensor& input, int64_t parameter_count);
  // ReLU, nearest upsampling and functional calls (interpolate, add, cat, avg_pool) count 0 under these
  // rules, so the layers do not report them.

  const OpCount& total() const { return total_; }

 private:
  void add_params(const void* layer, int64_t n);

  OpCount total_;
  std::unordered_set<const void*> seen_;  // params are counted once per layer, ops once per call
};

// The counter the current thread reports to, or nullptr when no count is running.
OpCounter* active_op_counter();

// Makes `counter` active on this thread for the scope's lifetime (scopes nest; the previous one returns).
class OpCountingScope {
 public:
  explicit OpCountingScope(OpCounter& counter);
  ~OpCountingScope();
  OpCountingScope(const OpCountingScope&) = delete;
  OpCountingScope& operator=(const OpCountingScope&) = delete;

 private:
  OpCounter* previous_;
};

// Runs `forward` with a fresh counter active and returns what the layers reported.
OpCount count_ops(const std::function<void()>& forward);

}  // namespace torchnas
