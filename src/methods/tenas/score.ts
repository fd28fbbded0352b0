/**
 * TE-NAS indicators of one NB201 architecture: κ_N (NTK condition number, §2) and R_N (linear regions,
 * §3), each over `repeats` repeats, with mean and standard deviation.
 */
import { isCancelled, linkCancelToken, throwIfAborted } from '../../core/cancel';
import { NativeCancelToken } from '../../native';
import { TorchnasError } from '../../core/errors';
import { checkNb201Arch, isNb201Connected } from '../../spaces/nb201';
import { InputSource } from '../../data/input-source';
import { Init, ntkNetwork, NtkMode, singlePathAlpha, thinNetwork } from './networks';

export interface ScoreOptions {
  /** NTK batch size (TE-NAS NB201: 72; the CPU-friendly default: 32). */
  batchSize?: number;
  repeats?: number;
  mode?: NtkMode;
  init?: Init;
  /** Linear-region samples per repeat and the BN batch they are split into (original: 3000 in batches of 1000). */
  linearRegionSamples?: number;
  linearRegionBatchSize?: number;
  /** Side of the square linear-region input patches (original: 3). */
  linearRegionInputSize?: number;
  numClasses?: number;
  /** Networks of repeat r are seeded seed·1000 + r (the reference runs' 1000·index + r scheme). */
  seed?: number;
  /** λ_min ≤ eps·λ_max → κ = 1e5 (0: the original's unguarded ratio). */
  singularEps?: number;
  device?: string;
  /** Threads computing NTK Jacobian rows concurrently (same κ for any count). */
  ntkWorkers?: number;
  /** Checked between the native jobs of each repeat: an abort ends the call with CANCELLED. */
  signal?: AbortSignal;
}

export interface Summary {
  mean: number;
  std: number;
  values: number[];
}

export interface ArchitectureScore {
  ops: number[];
  connected: boolean;
  kappa: Summary;
  regions: Summary;
  /** Set when R reached the sample count: every sample has its own pattern and R no longer ranks (§3, #9). */
  saturated: boolean;
  seconds: number;
}

export function summarize(values: number[]): Summary {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance), values };
}

/** Scores one architecture: per repeat, a freshly seeded NTK net and thin net, a new NTK batch and new patches. */
export async function scoreArchitecture(ops: readonly number[], source: InputSource, options: ScoreOptions = {}): Promise<ArchitectureScore> {
  // The native jobs poll this token: an abort stops a running NTK or region count, not only the next one.
  const cancel = linkCancelToken(options.signal);
  try {
    return await scoreWith(ops, source, options, cancel.token);
  } catch (e) {
    // A native job stopped by the token says where it stopped; the caller sees one message per run.
    if (isCancelled(e)) throw new TorchnasError('scoring was cancelled', 'CANCELLED', { cause: e });
    throw e;
  } finally {
    cancel.release();
  }
}

async function scoreWith(ops: readonly number[], source: InputSource, options: ScoreOptions, cancel: NativeCancelToken): Promise<ArchitectureScore> {
  const started = Date.now();
  const arch = checkNb201Arch(ops);
  const repeats = options.repeats ?? 3;
  const batchSize = options.batchSize ?? 32;
  const regionSamples = options.linearRegionSamples ?? 3000;
  const regionBatchSize = options.linearRegionBatchSize ?? 1000;
  const side = options.linearRegionInputSize ?? 3;
  if (!Number.isInteger(repeats) || repeats < 1) throw new TorchnasError(`repeats must be an integer >= 1, got ${repeats}`, 'INVALID_ARGUMENT');
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new TorchnasError(`NTK batch size must be an integer >= 2, got ${batchSize}`, 'INVALID_ARGUMENT');
  const alpha = singlePathAlpha(arch);
  const kappas: number[] = [];
  const regions: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const seed = (options.seed ?? 0) * 1000 + r;
    const net = ntkNetwork({ seed, numClasses: options.numClasses, init: options.init, device: options.device });
    throwIfAborted(options.signal, 'scoring');
    const batch = source.ntkBatch(batchSize);
    try {
      const k = await net.ntk(batch, { alpha, mode: options.mode ?? 'logit_sum', singularEps: options.singularEps ?? 0, workers: options.ntkWorkers ?? 1, cancel });
      kappas.push(k.kappa);
    } finally {
      batch.dispose();
    }
    const thin = thinNetwork({ seed, numClasses: options.numClasses, init: options.init, device: options.device });
    throwIfAborted(options.signal, 'scoring');
    const patches = source.patches(regionSamples, side);
    try {
      regions.push((await thin.linearRegions(patches, { alpha, batchSize: regionBatchSize, cancel })).regions);
    } finally {
      patches.dispose();
    }
  }
  const regionSummary = summarize(regions);
  return {
    ops: arch,
    connected: isNb201Connected(arch),
    kappa: summarize(kappas),
    regions: regionSummary,
    saturated: regions.some((r) => r >= regionSamples),
    seconds: (Date.now() - started) / 1000,
  };
}
