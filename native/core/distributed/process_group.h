// Data parallelism on PyTorch's c10d (no protocol of our own): a TCPStore at the master address for rendezvous
// and a process group for the collectives: Gloo (CPU tensors) or, on a CUDA device, NCCL. Built only where the
// LibTorch found ships the c10d headers with Gloo's (TORCHNAS_HAVE_GLOO) and/or has CUDA with NCCL's headers
// (TORCHNAS_HAVE_NCCL), as set by CMakeLists.txt / scripts/torch-paths.js; elsewhere every entry point fails with
// DISTRIBUTED_UNAVAILABLE. A tensor not on the group's device (a CPU metric on an NCCL group, say) goes through a
// copy on that device, so callers need not care which backend runs.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torchnas {

struct DistributedSettings {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  int64_t timeout_ms = 300000;  // rendezvous and every collective
  // Gradient all-reduce packs gradients into flat buckets of at most this many bytes (like DDP's bucket_cap_mb).
  int64_t bucket_bytes = 25 << 20;
  // Where the collectives run: "cpu" (Gloo) or "cuda[:N]" (NCCL where built, else Gloo through CPU copies).
  std::string device = "cpu";
  // "" (by device: nccl on CUDA where built, else gloo), "gloo" or "nccl".
  std::string backend;
};

// Whether any backend is built in; the names of those built ("gloo", "nccl").
bool distributed_available();
std::vector<std::string> distributed_backends();

class DistributedContext {
 public:
  // Joins the group: rank 0 serves the TCPStore, the others connect to it (blocks until everyone is there or the
  // timeout passes: a clear DISTRIBUTED_TIMEOUT naming the address).
  explicit DistributedContext(const DistributedSettings& settings);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int64_t rank() const { return settings_.rank; }
  int64_t world_size() const { return settings_.world_size; }
  const DistributedSettings& settings() const { return settings_; }
  // "gloo" or "nccl", and the device its collectives run on.
  const std::string& backend() const;
  torch::Device device() const;

  // In place: every rank's tensors become root's (parameters and buffers at the start of a run).
  void broadcast(const std::vector<torch::Tensor>& tensors, int64_t root = 0);
  // In place sum, or mean (sum / world size), of one tensor over the ranks.
  void all_reduce(torch::Tensor& tensor, bool mean);
  // Every rank's tensor (same shape on every rank), in rank order.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  void barrier();
  // True when `value` is true on every rank (one tiny all-reduce).
  bool all_true(bool value);
  // Averages the gradients of `parameters` over the ranks, flattened into buckets. A parameter whose gradient is
  // undefined on some ranks (an op not sampled there) takes a zero gradient on those ranks when any rank has one,
  // so every rank steps the same parameters with the same averaged gradient; undefined everywhere stays undefined.
  // `written` (one flag per parameter, optional): which gradients this step's backward wrote on this rank. Only
  // those written on some rank are reduced: a gradient zeroed by zero_grad and untouched by the step on every rank
  // (an op sampled on no rank; LibTorch 1.x keeps zero tensors) is zero everywhere and stays as it is, so a search
  // over a 90 M-weight super network exchanges only the sampled ops' gradients.
  void average_gradients(const std::vector<torch::Tensor>& parameters, const std::vector<char>* written = nullptr);

 private:
  struct Impl;
  DistributedSettings settings_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchnas
