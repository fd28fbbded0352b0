#include "linear_regions.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>

#include "../errors.h"

namespace torchnas {

int64_t count_distinct_rows(const torch::Tensor& signs) {
  if (signs.dim() != 2) fail("SHAPE_MISMATCH", "sign patterns must be [n, D], got " + c10::str(signs.sizes()));
  const int64_t n = signs.size(0), d = signs.size(1);
  if (n == 0) return 0;
  auto bits = signs.to(torch::kCPU, torch::kUInt8).contiguous();
  const uint8_t* data = bits.data_ptr<uint8_t>();
  const int64_t words = (d + 63) / 64;
  std::unordered_set<std::string> seen;
  seen.reserve(static_cast<size_t>(n) * 2);
  std::string key(static_cast<size_t>(words) * sizeof(uint64_t), '\0');
  for (int64_t i = 0; i < n; ++i) {
    std::memset(key.data(), 0, key.size());
    auto* packed = reinterpret_cast<uint64_t*>(key.data());
    const uint8_t* row = data + i * d;
    for (int64_t j = 0; j < d; ++j) {
      if (row[j]) packed[j >> 6] |= (uint64_t{1} << (j & 63));
    }
    seen.insert(key);
  }
  return static_cast<int64_t>(seen.size());
}

int64_t count_distinct_patterns(const std::vector<torch::Tensor>& relu_outputs) {
  if (relu_outputs.empty()) fail("INVALID_ARGUMENT", "no ReLU outputs were recorded: the network has no live ReLU");
  const int64_t n = relu_outputs[0].size(0);
  std::vector<torch::Tensor> flat;
  flat.reserve(relu_outputs.size());
  for (const auto& t : relu_outputs) {
    if (t.size(0) != n) fail("SHAPE_MISMATCH", "ReLU outputs disagree on the sample count");
    flat.push_back(t.reshape({n, -1}).gt(0));
  }
  return count_distinct_rows(torch::cat(flat, 1));
}

torch::Tensor sign_patterns(const TracedForward& forward, const torch::Tensor& x, int64_t batch,
                            const std::atomic<bool>* cancelled) {
  const int64_t n = x.size(0);
  if (n < 1) fail("INVALID_ARGUMENT", "linear regions need at least one input sample");
  if (batch < 1) fail("INVALID_ARGUMENT", "the linear-region batch size must be >= 1");
  std::vector<torch::Tensor> per_batch;
  for (int64_t start = 0; start < n; start += batch) {
    if (cancelled && cancelled->load()) fail("CANCELLED", "the linear-region job was cancelled after " + std::to_string(start) + " samples");
    std::vector<torch::Tensor> relus;
    Trace trace{&relus};
    forward(x.slice(0, start, std::min(n, start + batch)), trace);
    std::vector<torch::Tensor> flat;
    for (auto& r : relus) flat.push_back(r.reshape({r.size(0), -1}).gt(0));
    if (flat.empty()) fail("INVALID_ARGUMENT", "the network recorded no ReLU outputs");
    per_batch.push_back(torch::cat(flat, 1));
  }
  return torch::cat(per_batch, 0);
}

RegionCount count_linear_regions(const TracedForward& forward, const torch::Tensor& x, int64_t batch,
                                 const std::atomic<bool>* cancelled) {
  auto signs = sign_patterns(forward, x, batch, cancelled);
  return {count_distinct_rows(signs), x.size(0), signs.size(1)};
}

}  // namespace torchnas
