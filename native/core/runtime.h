// Process-wide LibTorch facts and settings: versions, devices, seed, threads.
#pragma once
#include <torch/types.h>

#include <string>

namespace torchnas {

struct RuntimeInfo {
  std::string torch_version;
  bool cuda_available;
  int cuda_device_count;
  int num_threads;
  int num_interop_threads;
  bool mkldnn_available;
};

RuntimeInfo runtime_info();

// Seeds LibTorch's CPU and (if present) CUDA generators.
void set_seed(uint64_t seed);

void set_num_threads(int n);
int get_num_threads();

// Parses "cpu", "cuda" or "cuda:N"; throws INVALID_ARGUMENT for anything else and
// DEVICE_UNAVAILABLE when the CUDA device is not there.
torch::Device parse_device(const std::string& spec);

std::string device_string(const torch::Device& device);

}  // namespace torchnas
