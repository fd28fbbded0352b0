// Tensor and module-state files. Writes are atomic (temp file in the same folder, fsync, rename, fsync of
// the folder), so an interrupted save never leaves a half-written checkpoint in place of a good one.
// Archives are sealed (verified_archive.h) and checked before LibTorch parses them.
#pragma once
#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace torchnas {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Runs `write(tmp_path)`, fsyncs tmp_path, renames it onto `path` and fsyncs the folder; removes the
// temp file on failure.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Writes `archive` to `path` atomically, sealed (verified_archive.h). Use this, not save_to, for every
// archive torchnas writes.
void save_archive(const std::string& path, torch::serialize::OutputArchive& archive);
// Reads `path` once, verifies it (FILE_NOT_FOUND / INVALID_ARGUMENT / FILE_CORRUPT naming the file and
// what failed) and only then lets LibTorch parse the verified bytes. `what` names the content in errors.
torch::serialize::InputArchive read_verified_archive(const std::string& path, const torch::Device& device,
                                                     const std::string& what = "an archive");

void save_tensors(const std::string& path, const NamedTensors& tensors);
NamedTensors load_tensors(const std::string& path, const torch::Device& device);

void save_module(const std::string& path, const torch::nn::Module& module);

void load_module(const std::string& path, torch::nn::Module& module, const torch::Device& device);

}  // namespace torchnas
