// Training and use of NAR's ranker (spec nar.md §4.2–4.6, §5): tier buckets, the epoch step (CE on tiers +
// loss_factor · rank loss, AdamW under the Noam schedule through the shared TrainingLoop, buckets filled with
// detached encoder outputs by true tier after each step), validation with fresh buckets filled by true
// labels, scoring, and the search's persistent buckets filled by predicted tier.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../nets/nar_ranker.h"
#include "../serialize.h"
#include "training_loop.h"

namespace torchnas {

// One running mean of encoder outputs per tier (bucket.py): sums and counts, zeros until filled, on `device` (the
// ranker's, so even the empty buckets' means can enter its first forward).
class NarBuckets {
 public:
  NarBuckets(int64_t tiers, int64_t n_patch, int64_t d_model, torch::Device device = torch::kCPU);
  void reset();
  torch::Tensor means() const;  // [T, P, D]
  void add(const torch::Tensor& enc, const torch::Tensor& tiers);  // enc [B, P, D] (detached), tiers [B] int64
  const torch::Tensor& counts() const { return counts_; }

 private:
  torch::Tensor sums_, counts_;
};

struct NarOptimSettings {
  double lr_mul = 0.07;
  int64_t warmup_steps = 30;
  double beta1 = 0.9, beta2 = 0.99, eps = 1e-9, weight_decay = 1e-2;
};

// Rank loss (ReNAS): mean over ordered pairs i≠j of log(1 + exp(−(s_i − s_j)·sign(y_i − y_j))); equal labels
// give log 2. scores [B] or [B,1], labels [B]. Zero for B < 2.
torch::Tensor nar_rank_loss(const torch::Tensor& scores, const torch::Tensor& labels);

struct NarEpochStats {
  std::vector<double> loss, ce, rank, lr;  // per step; lr = the lr that step used
  int64_t correct = 0, count = 0;           // train tier accuracy over the steps
  double seconds = 0;
};

struct NarPrediction {
  torch::Tensor logits;  // [N, T] float32 (CPU)
  torch::Tensor scores;  // [N] float32 (CPU)
};

class NarTrainer {
 public:
  NarTrainer(const NarRankerOptions& options, uint64_t seed, const NarOptimSettings& optim, torch::Device device);

  NarRanker& model() { return model_; }
  TrainingLoop& loop() { return *loop_; }
  torch::Device device() const { return device_; }

  // One epoch over `batches` (indices into features/acc/tiers, in order), fresh buckets at its start.
  // on_step(step index, loss) after each step; stops between steps when `cancelled` is set (CANCELLED).
  NarEpochStats train_epoch(const torch::Tensor& features, const torch::Tensor& acc, const torch::Tensor& tiers,
                            const std::vector<std::vector<int64_t>>& batches, double loss_factor, bool aux_loss,
                            const std::function<void(int64_t, double)>& on_step, const std::atomic<bool>* cancelled);
  // Validation (§4.6): eval mode, no grad, fresh buckets filled after each batch with its encoder outputs by
  // true tier; batches of `batch_size` in order.
  NarPrediction validate(const torch::Tensor& features, const torch::Tensor& tiers, int64_t batch_size);
  // Eval-mode score head only, batches in order → [N].
  torch::Tensor scores(const torch::Tensor& features, int64_t batch_size, const std::atomic<bool>* cancelled);
  // Eval-mode per-tier means of encoder outputs → [T, P, D] (tiers[i] in 0..T−1).
  torch::Tensor tier_means(const torch::Tensor& features, const torch::Tensor& tiers, int64_t batch_size);
  // Eval-mode forward with fixed tier embeddings `trg` [T, P, D].
  NarPrediction predict(const torch::Tensor& features, const torch::Tensor& trg, int64_t batch_size, const std::atomic<bool>* cancelled);
  // The search's persistent buckets (§5): reset, and one batch ranked then added by predicted tier.
  void reset_search_buckets() { search_buckets_.reset(); }
  NarPrediction rank_search_batch(const torch::Tensor& features);

  void save_checkpoint(const std::string& path, const NamedTensors& extra);
  NamedTensors load_checkpoint(const std::string& path);

 private:
  torch::Tensor on_device(const torch::Tensor& t) const { return t.to(device_); }

  NarRanker model_{nullptr};
  std::unique_ptr<TrainingLoop> loop_;
  torch::Device device_;
  NarBuckets search_buckets_;
};

}  // namespace torchnas
