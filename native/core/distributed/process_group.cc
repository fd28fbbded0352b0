#include "process_group.h"

#include <algorithm>
#include <chrono>

#include "../errors.h"
#include "../runtime.h"

#ifdef TORCHNAS_HAVE_C10D
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#ifdef TORCHNAS_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef TORCHNAS_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace torchnas {

std::vector<std::string> distributed_backends() {
  std::vector<std::string> names;
#ifdef TORCHNAS_HAVE_GLOO
  names.push_back("gloo");
#endif
#ifdef TORCHNAS_HAVE_NCCL
  names.push_back("nccl");
#endif
  return names;
}

#ifdef TORCHNAS_HAVE_C10D

bool distributed_available() { return true; }

namespace {

// PyTorch 2.x asks for shutdown() before a NCCL group goes (else it warns and aborts the communicators); 1.x has none.
template <typename Group>
auto shutdown_group(Group& group, int) -> decltype(group.shutdown(), void()) {
  group.shutdown();
}
template <typename Group>
void shutdown_group(Group&, long) {}

}  // namespace

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
#ifdef TORCHNAS_HAVE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef TORCHNAS_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::string backend;
  torch::Device device{torch::kCPU};

  ~Impl() {
#ifdef TORCHNAS_HAVE_NCCL
    if (nccl) {
      try {
        shutdown_group(*nccl, 0);
      } catch (...) {
      }
    }
#endif
  }

  // Runs `start(group)` (which returns the collective's Work) on whichever group this is, and waits for it: a
  // failure (a peer gone, a timeout) becomes DISTRIBUTED_ERROR naming the collective.
  template <typename Start>
  void collective(const char* what, Start&& start) {
    try {
#ifdef TORCHNAS_HAVE_NCCL
      if (nccl) {
        start(*nccl)->wait();
        return;
      }
#endif
#ifdef TORCHNAS_HAVE_GLOO
      if (gloo) {
        start(*gloo)->wait();
        return;
      }
#endif
    } catch (const std::exception& e) {
      fail("DISTRIBUTED_ERROR", std::string(what) + " failed (" + backend + "): " + e.what());
    }
    fail("INTERNAL", std::string(what) + ": no process group");
  }

  // The tensor the collective works on: `t` itself when it is contiguous and on the group's device, else a copy there.
  torch::Tensor staged(const torch::Tensor& t, const char* what) const {
    if (!t.defined()) fail("INVALID_ARGUMENT", std::string(what) + ": undefined tensor");
    if (t.device() == device && t.is_contiguous()) return t;
    return t.to(device).contiguous();
  }
};

namespace {

bool is_loopback(const std::string& addr) { return addr == "127.0.0.1" || addr == "localhost" || addr == "::1"; }

// The backend a settings object asks for: explicit, or NCCL for a CUDA device where built, else Gloo.
std::string pick_backend(const DistributedSettings& s, const torch::Device& device) {
  const auto built = distributed_backends();
  auto has = [&](const std::string& name) { return std::find(built.begin(), built.end(), name) != built.end(); };
  std::string list;
  for (const auto& b : built) list += (list.empty() ? "" : ", ") + b;
  if (!s.backend.empty()) {
    if (s.backend != "gloo" && s.backend != "nccl") fail("INVALID_ARGUMENT", "unknown backend '" + s.backend + "': expected 'gloo' or 'nccl'");
    if (!has(s.backend)) fail("DISTRIBUTED_UNAVAILABLE", "backend '" + s.backend + "' is not built into this torchnas (built: " + list + ")");
    if (s.backend == "nccl" && !device.is_cuda()) fail("INVALID_ARGUMENT", "the NCCL backend needs a CUDA device, got '" + s.device + "'");
    return s.backend;
  }
  if (device.is_cuda() && has("nccl")) return "nccl";
  if (has("gloo")) return "gloo";
  fail("DISTRIBUTED_UNAVAILABLE", "no backend of this torchnas build (" + list + ") runs on device '" + s.device +
                                      "': NCCL needs a CUDA device and Gloo's headers were not found at build time");
}

}  // namespace

DistributedContext::DistributedContext(const DistributedSettings& settings) : settings_(settings), impl_(std::make_unique<Impl>()) {
  if (settings.world_size < 1) fail("INVALID_ARGUMENT", "world size must be >= 1, got " + std::to_string(settings.world_size));
  if (settings.rank < 0 || settings.rank >= settings.world_size)
    fail("INVALID_ARGUMENT", "rank " + std::to_string(settings.rank) + " must be in 0.." + std::to_string(settings.world_size - 1));
  if (settings.master_port < 1 || settings.master_port > 65535) fail("INVALID_ARGUMENT", "master port must be in 1..65535, got " + std::to_string(settings.master_port));
  if (settings.timeout_ms < 1) fail("INVALID_ARGUMENT", "timeout must be positive");
  impl_->device = parse_device(settings.device);
  if (impl_->device.is_cuda() && !impl_->device.has_index()) impl_->device = torch::Device(torch::kCUDA, 0);
  impl_->backend = pick_backend(settings, impl_->device);
  // Gloo's collectives here take CPU tensors (CUDA tensors go through CPU copies).
  if (impl_->backend == "gloo") impl_->device = torch::Device(torch::kCPU);
  const auto timeout = std::chrono::milliseconds(settings.timeout_ms);
  const std::string where = settings.master_addr + ":" + std::to_string(settings.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(settings.master_port);
    options.isServer = settings.rank == 0;
    options.numWorkers = static_cast<std::size_t>(settings.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(settings.master_addr, options);
  } catch (const std::exception& e) {
    fail("DISTRIBUTED_TIMEOUT", "rank " + std::to_string(settings.rank) + " could not join the store at " + where + " (world size " +
                                    std::to_string(settings.world_size) + "): " + e.what());
  }
  try {
#ifdef TORCHNAS_HAVE_NCCL
    if (impl_->backend == "nccl") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, static_cast<int>(settings.rank), static_cast<int>(settings.world_size), options);
    }
#endif
#ifdef TORCHNAS_HAVE_GLOO
    if (impl_->backend == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // GLOO_SOCKET_IFNAME picks the network interface (as in PyTorch); a loopback master means a one-host run.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname)
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(settings.master_addr))
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, static_cast<int>(settings.rank), static_cast<int>(settings.world_size), options);
    }
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("DISTRIBUTED_ERROR", "rank " + std::to_string(settings.rank) + " could not create the " + impl_->backend + " process group via " + where + ": " + e.what());
  }
}

DistributedContext::~DistributedContext() = default;

const std::string& DistributedContext::backend() const { return impl_->backend; }
torch::Device DistributedContext::device() const { return impl_->device; }

void DistributedContext::broadcast(const std::vector<torch::Tensor>& tensors, int64_t root) {
  if (root < 0 || root >= settings_.world_size) fail("INVALID_ARGUMENT", "broadcast root " + std::to_string(root) + " is not a rank");
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    // a non-contiguous view, or a tensor on another device, is broadcast through a contiguous copy
    std::vector<torch::Tensor> one{impl_->staged(t, "broadcast")};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    impl_->collective("broadcast", [&](auto& group) { return group.broadcast(one, options); });
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

void DistributedContext::all_reduce(torch::Tensor& tensor, bool mean) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> one{impl_->staged(tensor, "all_reduce")};
  impl_->collective("all_reduce", [&](auto& group) { return group.allreduce(one); });
  if (mean) one[0].div_(static_cast<double>(settings_.world_size));
  if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
}

std::vector<torch::Tensor> DistributedContext::all_gather(const torch::Tensor& tensor) {
  std::vector<torch::Tensor> input{impl_->staged(tensor, "all_gather")};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int64_t r = 0; r < settings_.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->collective("all_gather", [&](auto& group) { return group.allgather(output, input); });
  // on the caller's device
  for (auto& t : output[0])
    if (t.device() != tensor.device()) t = t.to(tensor.device());
  return output[0];
}

void DistributedContext::barrier() {
  c10d::BarrierOptions options;
  if (impl_->device.is_cuda()) options.device_ids = {impl_->device.index()};
  impl_->collective("barrier", [&](auto& group) { return group.barrier(options); });
}

bool DistributedContext::all_true(bool value) {
  auto flag = torch::full({1}, value ? 0.0 : 1.0, torch::kFloat64);  // count of ranks where it is false
  all_reduce(flag, /*mean=*/false);
  return flag.item<double>() == 0.0;
}

void DistributedContext::average_gradients(const std::vector<torch::Tensor>& parameters, const std::vector<char>* written) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(parameters.size());
  if (n == 0 || settings_.world_size == 1) return;
  if (written && static_cast<int64_t>(written->size()) != n) fail("INTERNAL", "average_gradients: one written flag per parameter expected");
  // which parameters have a (written) gradient on any rank (a CPU tensor: all_reduce stages it when the group is on CUDA)
  auto defined = torch::zeros({n}, torch::kFloat64);
  auto* d = defined.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) d[i] = parameters[i].grad().defined() && (!written || (*written)[static_cast<size_t>(i)]) ? 1.0 : 0.0;
  all_reduce(defined, /*mean=*/false);
  std::vector<torch::Tensor> grads;
  for (int64_t i = 0; i < n; ++i) {
    if (d[i] == 0.0) continue;
    auto p = parameters[i];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // flat buckets by dtype and device, in parameter order
  size_t i = 0;
  while (i < grads.size()) {
    const auto dtype = grads[i].scalar_type();
    const auto device = grads[i].device();
    std::vector<torch::Tensor> bucket;
    int64_t bytes = 0;
    while (i < grads.size() && grads[i].scalar_type() == dtype && grads[i].device() == device &&
           (bucket.empty() || bytes + grads[i].numel() * static_cast<int64_t>(grads[i].element_size()) <= settings_.bucket_bytes)) {
      bytes += grads[i].numel() * static_cast<int64_t>(grads[i].element_size());
      bucket.push_back(grads[i++]);
    }
    std::vector<torch::Tensor> flat_views;
    for (const auto& g : bucket) flat_views.push_back(g.reshape({-1}));
    auto flat = torch::cat(flat_views);
    all_reduce(flat, /*mean=*/true);
    int64_t offset = 0;
    for (auto& g : bucket) {
      g.copy_(flat.narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

#else  // no c10d in this LibTorch

bool distributed_available() { return false; }

struct DistributedContext::Impl {};

[[noreturn]] static void unavailable() {
  fail("DISTRIBUTED_UNAVAILABLE",
       "this torchnas build has no c10d process groups: the LibTorch it was built against lacks the c10d/Gloo headers "
       "(Debian: apt-get install libgloo-dev, then rebuild) and has no CUDA with NCCL's headers");
}

DistributedContext::DistributedContext(const DistributedSettings& settings) : settings_(settings) { unavailable(); }
DistributedContext::~DistributedContext() = default;
const std::string& DistributedContext::backend() const { unavailable(); }
torch::Device DistributedContext::device() const { unavailable(); }
void DistributedContext::broadcast(const std::vector<torch::Tensor>&, int64_t) { unavailable(); }
void DistributedContext::all_reduce(torch::Tensor&, bool) { unavailable(); }
std::vector<torch::Tensor> DistributedContext::all_gather(const torch::Tensor&) { unavailable(); }
void DistributedContext::barrier() { unavailable(); }
bool DistributedContext::all_true(bool) { unavailable(); }
void DistributedContext::average_gradients(const std::vector<torch::Tensor>&, const std::vector<char>*) { unavailable(); }

#endif

}  // namespace torchnas
