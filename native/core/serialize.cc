#include "serialize.h"

#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <atomic>
#include <filesystem>
#include <system_error>
#include <unistd.h>

#include "errors.h"

namespace fs = std::filesystem;

namespace torchnas {

namespace {

void require_readable(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("FILE_NOT_FOUND", "file not found: " + path);
  if (fs::is_directory(path, ec)) fail("INVALID_ARGUMENT", "expected a file but found a directory: " + path);
}

[[noreturn]] void rethrow_as_corrupt(const std::string& path, const std::string& what, const std::string& detail) {
  // c10 messages can run to many lines; the first one names the problem.
  std::string first = detail.substr(0, detail.find('\n'));
  fail("FILE_CORRUPT", "cannot read " + what + " from " + path + ": the file is truncated or not a torchnas/LibTorch "
                       "archive (" + first + ")");
}

torch::serialize::InputArchive open_archive(const std::string& path, const torch::Device& device,
                                            const std::string& what) {
  require_readable(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    rethrow_as_corrupt(path, what, e.what_without_backtrace());
  } catch (const std::exception& e) {
    rethrow_as_corrupt(path, what, e.what());
  }
  return archive;
}

}  // namespace

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  static std::atomic<uint64_t> counter{0};
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("FILE_NOT_FOUND", "cannot write " + path + ": folder " + dir.string() + " does not exist");
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    write(tmp);
    fs::rename(tmp, target);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void save_tensors(const std::string& path, const NamedTensors& tensors) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) fail("INVALID_ARGUMENT", "tensor names must not be empty");
    if (!tensor.defined()) fail("TENSOR_DISPOSED", "tensor '" + name + "' was disposed and cannot be saved");
    archive.write(name, tensor.detach().cpu());
  }
  write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

NamedTensors load_tensors(const std::string& path, const torch::Device& device) {
  auto archive = open_archive(path, device, "tensors");
  NamedTensors out;
  try {
    for (const auto& key : archive.keys()) {
      torch::Tensor t;
      archive.read(key, t);
      out.emplace_back(key, t);
    }
  } catch (const c10::Error& e) {
    rethrow_as_corrupt(path, "tensors", e.what_without_backtrace());
  }
  return out;
}

void save_module(const std::string& path, const torch::nn::Module& module) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

void load_module(const std::string& path, torch::nn::Module& module, const torch::Device& device) {
  auto archive = open_archive(path, device, "module state");
  try {
    module.load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail("FILE_CORRUPT", "the file " + path + " does not hold the state of a " + module.name() +
                             " of this shape (" + msg.substr(0, msg.find('\n')) + ")");
  }
}

}  // namespace torchnas
