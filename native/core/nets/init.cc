#include "init.h"

#include <torch/nn/init.h>

namespace torchnas {

void kaiming_init(torch::nn::Module& module, bool fan_out) {
  torch::NoGradGuard no_grad;
  auto mode = fan_out ? torch::nn::init::FanModeType(torch::kFanOut) : torch::nn::init::FanModeType(torch::kFanIn);
  for (auto& item : module.named_parameters(true)) {
    const auto& name = item.key();
    auto& p = item.value();
    const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    if (is_weight && p.dim() >= 2) {
      torch::nn::init::kaiming_normal_(p, 0.0, mode, torch::kReLU);
    } else if (is_weight) {
      p.fill_(1.0);
    } else {
      p.zero_();
    }
  }
}

}  // namespace torchnas
