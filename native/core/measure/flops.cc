#include "flops.h"

namespace torchnas {

namespace {
thread_local OpCounter* current_counter = nullptr;
}

void OpCounter::add_params(const void* layer, int64_t n) {
  if (seen_.insert(layer).second) total_.params += n;
}

void OpCounter::conv2d(const void* layer, const torch::Tensor& output, int64_t in_channels, int64_t groups,
                       int64_t kernel_h, int64_t kernel_w, bool has_bias, int64_t parameter_count) {
  // thop 0.0.31 count_convNd: y.nelement() * (in_channels // groups * kernel_ops + bias_ops).
  total_.ops += output.numel() * ((in_channels / groups) * kernel_h * kernel_w + (has_bias ? 1 : 0));
  add_params(layer, parameter_count);
}

void OpCounter::batch_norm(const void* layer, const torch::Tensor& input, int64_t parameter_count) {
  total_.ops += 2 * input.numel();
  add_params(layer, parameter_count);
}

OpCounter* active_op_counter() { return current_counter; }

OpCountingScope::OpCountingScope(OpCounter& counter) : previous_(current_counter) { current_counter = &counter; }

OpCountingScope::~OpCountingScope() { current_counter = previous_; }

OpCount count_ops(const std::function<void()>& forward) {
  OpCounter counter;
  {
    OpCountingScope scope(counter);
    forward();
  }
  return counter.total();
}

}  // namespace torchnas
