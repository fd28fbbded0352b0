// Tensor and module-state files. Writes are atomic (temp file in the same folder, then rename),
// so an interrupted save never leaves a half-written checkpoint in place of a good one.
#pragma once
#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace torchnas {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Runs `write(tmp_path)` and renames tmp_path onto `path`; removes the temp file on failure.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

void save_tensors(const std::string& path, const NamedTensors& tensors);
NamedTensors load_tensors(const std::string& path, const torch::Device& device);

void save_module(const std::string& path, const torch::nn::Module& module);
void load_module(const std::string& path, torch::nn::Module& module, const torch::Device& device);

}  // namespace torchnas
