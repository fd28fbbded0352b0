// Process-wide LibTorch facts and settings: versions, devices, seed, threads.
#pragma once
#include <torch/types.h>

#include <mutex>
#include <string>

namespace torchnas {

struct RuntimeInfo {
  std::string torch_version;
  bool cuda_available;
  int cuda_device_count;
  int num_threads;
  int num_interop_threads;
  bool mkldnn_available;
  // The GEMM of the ranker's linears (ops/gemm.h): "onednn" or "aten".
  std::string sgemm;
  // OpenBLAS when it is the BLAS in this process (found by soname, whatever the alternatives point at):
  // its build string (openblas_get_config), threading model (openblas_get_parallel: 0 sequential,
  // 1 pthreads, 2 OpenMP) and thread count. blas_threads is -1 when no OpenBLAS is loaded.
  std::string blas_config;
  int blas_parallel = -1;
  int blas_threads = -1;
};

RuntimeInfo runtime_info();

// Seeds LibTorch's CPU and (if present) CUDA generators.
void set_seed(uint64_t seed);

// Seeded construction draws from the global generator: every family that does it holds this lock
// from set_seed to the end of construction, so concurrent constructions cannot interleave draws.
std::mutex& seeded_construction_mutex();

// The process's configured intra-op thread count (setThreads / --threads). Jobs apply it on their own
// thread when they start (apply_job_threads), so a job that changes its own thread count (NTK row
// workers run one thread each) cannot leak that into another job or into the JS thread.
// One setting governs LibTorch's intra-op pool, OpenMP and the BLAS: set_num_threads also sets
// OpenBLAS's count when OpenBLAS is loaded (its pthreads build keeps its own pool, which would otherwise
// stay at the machine's core count), and the first call pins OpenBLAS to LibTorch's default.
void set_num_threads(int n);
int get_num_threads();
// Sets the calling thread's intra-op thread count to n (0: the configured count). OpenMP keeps the
// count per thread; LibTorch also stores it in a process-wide default that only newly started pool
// threads read, and every job sets its own, so nothing carries over between jobs.
void apply_job_threads(int n);

// Parses "cpu", "cuda" or "cuda:N"; throws INVALID_ARGUMENT for anything else and
// DEVICE_UNAVAILABLE when the CUDA device is not there.
torch::Device parse_device(const std::string& spec);

std::string device_string(const torch::Device& device);

}  // namespace torchnas
