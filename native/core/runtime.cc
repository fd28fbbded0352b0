#include "runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <atomic>
#include <regex>

#include "errors.h"
#include "ops/gemm.h"

namespace torchnas {

namespace {
// OpenBLAS's extension API, looked up in the already loaded library (RTLD_NOLOAD: never loads one).
// The addon is dlopen'ed locally, so its dependencies are not in the global scope: look the library up
// by soname rather than with RTLD_DEFAULT.
struct OpenBlasApi {
  void (*set_threads)(int) = nullptr;
  int (*get_threads)() = nullptr;
  char* (*get_config)() = nullptr;
  int (*get_parallel)() = nullptr;
};

const OpenBlasApi& openblas() {
  static const OpenBlasApi api = [] {
    OpenBlasApi a;
    void* h = nullptr;
    for (const char* soname : {"libopenblas.so.0", "libopenblas.so"}) {
      h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
      if (h) break;
    }
    if (!h) return a;
    a.set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
    a.get_threads = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
    a.get_config = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_config"));
    a.get_parallel = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_parallel"));
    return a;
  }();
  return api;
}

void set_blas_threads(int n) {
  const auto& b = openblas();
  if (b.set_threads && (!b.get_threads || b.get_threads() != n)) b.set_threads(n);
}
}  // namespace

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  info.num_threads = get_num_threads();
  info.num_interop_threads = at::get_num_interop_threads();
  info.mkldnn_available = at::hasMKLDNN();
  info.sgemm = sgemm_backend();
  const auto& b = openblas();
  if (b.get_config) info.blas_config = b.get_config();
  if (b.get_parallel) info.blas_parallel = b.get_parallel();
  if (b.get_threads) info.blas_threads = b.get_threads();
  return info;
}

void set_seed(uint64_t seed) { torch::manual_seed(seed); }

std::mutex& seeded_construction_mutex() {
  static std::mutex m;
  return m;
}

namespace {
// LibTorch keeps one process-wide "last set" count that new threads adopt, so a job that sets its own
// count would leak it into every later thread. The process's count is therefore pinned here from the
// start (LibTorch's default, read on the first call: the addon's init, on the JS thread) and every job
// applies it, or its own, explicitly.
std::atomic<int>& configured_threads() {
  static std::atomic<int> n{[] {
    int t = at::get_num_threads();
    set_blas_threads(t);  // no BLAS pool left at its own default
    return t;
  }()};
  return n;
}
}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > 4096) fail("INVALID_ARGUMENT", "thread count must be in 1..4096, got " + std::to_string(n));
  configured_threads().store(n);
  at::set_num_threads(n);
  set_blas_threads(n);
}

int get_num_threads() { return configured_threads().load(); }

void apply_job_threads(int n) {
  if (n <= 0) n = configured_threads().load();
  if (at::get_num_threads() != n) at::set_num_threads(n);
}

torch::Device parse_device(const std::string& spec) {
  static const std::regex pattern("^(cpu|cuda)(?::([0-9]+))?$");
  std::smatch m;
  if (!std::regex_match(spec, m, pattern)) {
    fail("INVALID_ARGUMENT", "unknown device '" + spec + "': expected 'cpu', 'cuda' or 'cuda:N'");
  }
  if (m[1] == "cpu") {
    if (m[2].matched) fail("INVALID_ARGUMENT", "device 'cpu' takes no index, got '" + spec + "'");
    return torch::Device(torch::kCPU);
  }
  if (!torch::cuda::is_available()) {
    fail("DEVICE_UNAVAILABLE",
         "device '" + spec + "' requested but CUDA is not available in this LibTorch build (" TORCH_VERSION
         "); build against a CUDA LibTorch via Torch_DIR or use 'cpu'");
  }
  int index = m[2].matched ? std::stoi(m[2].str()) : 0;
  int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    fail("DEVICE_UNAVAILABLE", "device '" + spec + "' requested but only " + std::to_string(count) +
                                   " CUDA device(s) are present");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string device_string(const torch::Device& device) { return device.str(); }

}  // namespace torchnas
