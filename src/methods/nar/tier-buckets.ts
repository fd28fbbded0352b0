/**
 * NAR's tier buckets (nar.md §2.3): per tier, the running mean of the encoder outputs (n_patch × d_model) of every
 * architecture assigned to that tier so far, plus the latest histograms of the tier's FLOPs, params and node counts
 * (NB101) or op counts (NB201). The stacked means are the decoder's tier embeddings. The original enforces "exactly
 * 5 buckets at a time" with a class counter; here one TierBuckets object owns all of them and `reset()` renews them.
 */
import { TorchnasError, showValue } from '../../core/errors';

/** Number of tiers of NAR. */
export const NAR_NUM_TIERS = 5;

/** The histograms a bucket keeps (§2.3): `n_nodes` for NB101, `edges` for NB201. */
export interface TierCounts {
  params: number[];
  flops: number[];
  n_nodes?: number[];
  edges?: number[];
}

export interface TierBucketsOptions {
  /** Tokens per architecture (19 for NB101, 31 for NB201). */
  patches: number;
  /** Width of a token (d_model: 256 for NB101, 128 for NB201). */
  modelDim: number;
  /** Number of tiers (default 5). */
  tiers?: number;
}

/**
 * The buckets of all tiers. Tiers are numbered from 0 (the best, the paper's tier 1) to tiers − 1. Sums are kept in
 * float64 and the means returned as float32, so they may differ from the original's float32 running sums in the
 * last bits.
 */
export class TierBuckets {
  readonly tiers: number;
  readonly patches: number;
  readonly modelDim: number;
  private sums: Float64Array[] = [];
  private counts: number[] = [];
  private histograms: (TierCounts | undefined)[] = [];

  constructor(options: TierBucketsOptions) {
    const positive = (v: unknown, name: string) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TorchnasError(`TierBuckets: ${name} must be a positive integer, got ${showValue(v)}`, 'INVALID_ARGUMENT');
      return v;
    };
    this.patches = positive(options.patches, 'patches');
    this.modelDim = positive(options.modelDim, 'modelDim');
    this.tiers = positive(options.tiers ?? NAR_NUM_TIERS, 'tiers');
    this.reset();
  }

  /** Empties every bucket (means back to zeros, counts to 0, no histograms): start of an epoch, a validation, a search. */
  reset(): void {
    const size = this.patches * this.modelDim;
    this.sums = Array.from({ length: this.tiers }, () => new Float64Array(size));
    this.counts = new Array<number>(this.tiers).fill(0);
    this.histograms = new Array<TierCounts | undefined>(this.tiers).fill(undefined);
  }

  private checkTier(tier: number): void {
    if (!Number.isInteger(tier) || tier < 0 || tier >= this.tiers) throw new TorchnasError(`TierBuckets: tier must be an integer in 0..${this.tiers - 1}, got ${showValue(tier)}`, 'INVALID_ARGUMENT');
  }

  /**
   * Adds encoder outputs to a tier: `embeddings` holds k architectures × patches × modelDim values (k ≥ 1).
   * @throws TorchnasError SHAPE_MISMATCH when the length is not a positive multiple of patches × modelDim.
   */
  add(tier: number, embeddings: ArrayLike<number>): void {
    this.checkTier(tier);
    const size = this.patches * this.modelDim;
    if (embeddings.length === 0 || embeddings.length % size !== 0) {
      throw new TorchnasError(`TierBuckets.add: expected k × ${this.patches} × ${this.modelDim} values, got ${embeddings.length}`, 'SHAPE_MISMATCH');
    }
    const sum = this.sums[tier];
    for (let k = 0; k < embeddings.length; k += size) for (let i = 0; i < size; i++) sum[i] += embeddings[k + i];
    this.counts[tier] += embeddings.length / size;
  }

  /** Architectures added to a tier since the last reset. */
  count(tier: number): number {
    this.checkTier(tier);
    return this.counts[tier];
  }

  /** A tier's embedding: the mean of its encoder outputs (zeros while empty), patches × modelDim. */
  mean(tier: number): Float32Array {
    this.checkTier(tier);
    const out = new Float32Array(this.patches * this.modelDim);
    const n = this.counts[tier];
    if (n > 0) this.sums[tier].forEach((v, i) => (out[i] = v / n));
    return out;
  }

  /** All tier embeddings stacked: tiers × patches × modelDim (the decoder's target sequence). */
  stacked(): Float32Array {
    const size = this.patches * this.modelDim;
    const out = new Float32Array(this.tiers * size);
    for (let t = 0; t < this.tiers; t++) out.set(this.mean(t), t * size);
    return out;
  }

  /** Replaces a tier's histograms (the latest batch's, §4.6). */
  setCounts(tier: number, counts: TierCounts): void {
    this.checkTier(tier);
    this.histograms[tier] = { ...counts, params: [...counts.params], flops: [...counts.flops], ...(counts.n_nodes ? { n_nodes: [...counts.n_nodes] } : {}), ...(counts.edges ? { edges: [...counts.edges] } : {}) };
  }

  /** A copy of a tier's latest histograms, or undefined before any were set. */
  getCounts(tier: number): TierCounts | undefined {
    this.checkTier(tier);
    const h = this.histograms[tier];
    return h === undefined ? undefined : (JSON.parse(JSON.stringify(h)) as TierCounts);
  }
}
