/**
 * The contract between NAR's training (the ranker, nar.md §4) and its tier-guided search (§5). Training records,
 * per batch of the checkpoint's epoch, which architectures the batch held and their true tiers (the raw form of the
 * original's `distri_list`); the search derives its tier statistics (histograms of FLOPs, params, op or node counts,
 * §4.6 and §5 "prob_calculate") from those records and the benchmark's costs. The search talks to a trained ranker
 * only through {@link NarSearchRanker}.
 */

/** One training batch of the epoch a checkpoint was written at, in the order the batches ran. */
export interface NarBatchRecord {
  /** Benchmark indices of the batch's architectures, in batch order. */
  indices: number[];
  /** Their true tiers (0 = the best tier, the paper's tier 1), same order. */
  tiers: number[];
}

/** A trained ranker as the search (§5) uses it. */
export interface NarSearchRanker {
  /** 'nb201' (31×4×4 feature tensors) or 'nb101' (19×7×7). */
  readonly space: 'nb201' | 'nb101';
  /** Number of tiers (5). */
  readonly tiers: number;
  /** Empties the persistent search buckets (§5: one set of buckets persists across all search iterations). */
  resetSearchBuckets(): void;
  /**
   * One eval-mode forward of a search batch (§5 step 3) with the current search-bucket means as tier embeddings,
   * then adds each architecture's encoder output to the bucket of its **predicted** tier (argmax).
   * `features` holds n feature tensors back to back (n × 31×4×4 or n × 19×7×7 float32 values).
   * Returns the softmax tier probabilities (n × tiers, row-major, column 0 = best tier) and the score head's
   * output `val_acc_pred` (n values; higher = better).
   */
  rankSearchBatch(features: Float32Array, n: number): Promise<{ tierProbs: Float32Array; scores: Float32Array }>;
}
