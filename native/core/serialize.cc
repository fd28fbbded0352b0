#include "serialize.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "errors.h"
#include "verified_archive.h"

namespace fs = std::filesystem;

namespace torchnas {

namespace {

[[noreturn]] void rethrow_as_corrupt(const std::string& path, const std::string& what, const std::string& detail) {
  // c10 messages can run to many lines; the first one names the problem.
  std::string first = detail.substr(0, detail.find('\n'));
  fail("FILE_CORRUPT", "cannot read " + what + " from " + path + ": the file is truncated or not a torchnas/LibTorch "
                       "archive (" + first + ")");
}

// fsync of a file or folder; `flags` O_RDONLY (| O_DIRECTORY).
void sync_path(const std::string& path, int flags, const std::string& what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("INTERNAL", "cannot open " + what + " " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a folder (EINVAL); the rename itself is still atomic there.
  if (rc != 0 && !(err == EINVAL && (flags & O_DIRECTORY))) {
    fail("INTERNAL", "cannot sync " + what + " " + path + ": " + std::strerror(err));
  }
}

void write_bytes(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("INVALID_ARGUMENT", "cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail("INTERNAL", "cannot write " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) fail("INTERNAL", "cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  static std::atomic<uint64_t> counter{0};
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("FILE_NOT_FOUND", "cannot write " + path + ": folder " + dir.string() + " does not exist");
  // Only a regular file (or a symlink, which the rename replaces) may be replaced: renaming onto a device
  // such as /dev/null as root would swap the device for a file.
  const fs::file_status existing = fs::symlink_status(target, ec);
  if (fs::is_directory(existing)) fail("INVALID_ARGUMENT", "cannot write " + path + ": it is a directory");
  if (fs::exists(existing) && !fs::is_regular_file(existing) && !fs::is_symlink(existing)) {
    fail("INVALID_ARGUMENT", "cannot write " + path + ": it exists and is not a regular file (a device, FIFO or socket)");
  }
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  try {
    write(tmp);
    sync_path(tmp, O_RDONLY, "file");  // the data reaches the disk before the rename makes it visible
    fs::rename(tmp, target, ec);
    if (ec) fail("INVALID_ARGUMENT", "cannot write " + path + ": " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  sync_path(dir.string(), O_RDONLY | O_DIRECTORY, "folder");  // and the rename itself survives a crash
}

void save_archive(const std::string& path, torch::serialize::OutputArchive& archive) {
  std::string zip;
  archive.save_to([&zip](const void* data, size_t size) -> size_t {
    zip.append(static_cast<const char*>(data), size);
    return size;
  });
  const std::string sealed = seal_archive(std::move(zip));
  write_atomically(path, [&](const std::string& tmp) { write_bytes(tmp, sealed); });
}

torch::serialize::InputArchive read_verified_archive(const std::string& path, const torch::Device& device,
                                                     const std::string& what) {
  // Parse the very bytes that were verified (no second read that could see another file).
  const std::string bytes = read_regular_file(path, what);
  verify_archive(bytes, path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size(), device);
  } catch (const c10::Error& e) {
    rethrow_as_corrupt(path, what, e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    rethrow_as_corrupt(path, what, e.what());
  }
  return archive;
}

void save_tensors(const std::string& path, const NamedTensors& tensors) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) fail("INVALID_ARGUMENT", "tensor names must not be empty");
    if (!tensor.defined()) fail("TENSOR_DISPOSED", "tensor '" + name + "' was disposed and cannot be saved");
    archive.write(name, tensor.detach().cpu());
  }
  save_archive(path, archive);
}

NamedTensors load_tensors(const std::string& path, const torch::Device& device) {
  auto archive = read_verified_archive(path, device, "tensors");
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
  save_archive(path, archive);
}

void load_module(const std::string& path, torch::nn::Module& module, const torch::Device& device) {
  auto archive = read_verified_archive(path, device, "module state");
  try {
    module.load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail("FILE_CORRUPT", "the file " + path + " does not hold the state of a " + module.name() +
                             " of this shape (" + msg.substr(0, msg.find('\n')) + ")");
  }
}

}  // namespace torchnas
