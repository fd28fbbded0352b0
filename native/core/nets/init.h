// Weight initialisations shared by the networks. Construction that draws from LibTorch's global
// generator is serialised by runtime.h's seeded_construction_mutex.
#pragma once
#include <torch/nn/module.h>

namespace torchnas {

// The paper-intended init of TE-NAS (specs/tenas.md §2), offered as an option: kaiming-normal with
// ReLU gain for weights of rank >= 2, other weights 1, biases 0.
void kaiming_init(torch::nn::Module& module, bool fan_out);

}  // namespace torchnas
