#include "process_group.h"

#include <chrono>

#include "../errors.h"

#ifdef TORCHNAS_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace torchnas {

#ifdef TORCHNAS_HAVE_C10D

bool distributed_available() { return true; }

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

bool is_loopback(const std::string& addr) { return addr == "127.0.0.1" || addr == "localhost" || addr == "::1"; }

template <typename WorkPtr>
void wait(const WorkPtr& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    fail("DISTRIBUTED_ERROR", std::string(what) + " failed: " + e.what());
  }
}

void check_cpu(const torch::Tensor& t, const char* what) {
  if (!t.defined()) fail("INVALID_ARGUMENT", std::string(what) + ": undefined tensor");
  if (!t.device().is_cpu()) fail("DEVICE_UNAVAILABLE", std::string(what) + ": the Gloo process group takes CPU tensors, got one on " + t.device().str());
}

}  // namespace

DistributedContext::DistributedContext(const DistributedSettings& settings) : settings_(settings), impl_(std::make_unique<Impl>()) {
  if (settings.world_size < 1) fail("INVALID_ARGUMENT", "world size must be >= 1, got " + std::to_string(settings.world_size));
  if (settings.rank < 0 || settings.rank >= settings.world_size)
    fail("INVALID_ARGUMENT", "rank " + std::to_string(settings.rank) + " must be in 0.." + std::to_string(settings.world_size - 1));
  if (settings.master_port < 1 || settings.master_port > 65535) fail("INVALID_ARGUMENT", "master port must be in 1..65535, got " + std::to_string(settings.master_port));
  if (settings.timeout_ms < 1) fail("INVALID_ARGUMENT", "timeout must be positive");
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
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // GLOO_SOCKET_IFNAME picks the network interface (as in PyTorch); a loopback master means a one-host run.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(settings.master_addr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, static_cast<int>(settings.rank), static_cast<int>(settings.world_size), options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("DISTRIBUTED_ERROR", "rank " + std::to_string(settings.rank) + " could not create the Gloo process group via " + where + ": " + e.what());
  }
}

DistributedContext::~DistributedContext() = default;

void DistributedContext::broadcast(const std::vector<torch::Tensor>& tensors, int64_t root) {
  if (root < 0 || root >= settings_.world_size) fail("INVALID_ARGUMENT", "broadcast root " + std::to_string(root) + " is not a rank");
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    check_cpu(t, "broadcast");
    // a non-contiguous view is broadcast through a contiguous copy
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    wait(impl_->group->broadcast(one, options), "broadcast");
    if (!t.is_contiguous()) t.copy_(one[0]);
  }
}

void DistributedContext::all_reduce(torch::Tensor& tensor, bool mean) {
  check_cpu(tensor, "all_reduce");
  torch::NoGradGuard no_grad;
  if (!tensor.is_contiguous()) tensor = tensor.contiguous();
  std::vector<torch::Tensor> one{tensor};
  wait(impl_->group->allreduce(one), "all_reduce");
  if (mean) tensor.div_(static_cast<double>(settings_.world_size));
}

std::vector<torch::Tensor> DistributedContext::all_gather(const torch::Tensor& tensor) {
  check_cpu(tensor, "all_gather");
  std::vector<torch::Tensor> input{tensor.contiguous()};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int64_t r = 0; r < settings_.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
  wait(impl_->group->allgather(output, input), "all_gather");
  return output[0];
}

void DistributedContext::barrier() { wait(impl_->group->barrier(), "barrier"); }

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
  // which parameters have a (written) gradient on any rank
  auto defined = torch::zeros({n}, torch::kFloat64);
  auto* d = defined.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) d[i] = parameters[i].grad().defined() && (!written || (*written)[static_cast<size_t>(i)]) ? 1.0 : 0.0;
  all_reduce(defined, /*mean=*/false);
  std::vector<torch::Tensor> grads;
  for (int64_t i = 0; i < n; ++i) {
    if (d[i] == 0.0) continue;
    auto p = parameters[i];
    check_cpu(p, "average_gradients");
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // flat buckets by dtype, in parameter order
  size_t i = 0;
  while (i < grads.size()) {
    const auto dtype = grads[i].scalar_type();
    std::vector<torch::Tensor> bucket;
    int64_t bytes = 0;
    while (i < grads.size() && grads[i].scalar_type() == dtype &&
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
       "(Debian: apt-get install libgloo-dev, then rebuild)");
}

DistributedContext::DistributedContext(const DistributedSettings& settings) : settings_(settings) { unavailable(); }
DistributedContext::~DistributedContext() = default;
void DistributedContext::broadcast(const std::vector<torch::Tensor>&, int64_t) { unavailable(); }
void DistributedContext::all_reduce(torch::Tensor&, bool) { unavailable(); }
std::vector<torch::Tensor> DistributedContext::all_gather(const torch::Tensor&) { unavailable(); }
void DistributedContext::barrier() { unavailable(); }
bool DistributedContext::all_true(bool) { unavailable(); }
void DistributedContext::average_gradients(const std::vector<torch::Tensor>&, const std::vector<char>*) { unavailable(); }

#endif

}  // namespace torchnas
