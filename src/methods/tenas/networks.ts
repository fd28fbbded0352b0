/**
 * The two small networks TE-NAS scores (specs/tenas.md §1.3): the NTK network (C=3, N=1, stem, every
 * edge holding all five ops) and the thin linear-region network (C=1, one cell on a 1-channel input, no
 * stem). Both are driven by α, so a single architecture is the supernet with a single-path α.
 */
import { native, PACKAGE_ROOT } from '../../native';
import { NB201_NUM_EDGES, NB201_NUM_OPS } from '../../spaces/nb201';

export type Init = 'default' | 'kaiming_normal';

export interface NativeNb201Network {
  ntk(
    inputs: unknown,
    options?: { alpha?: Float32Array; mode?: NtkMode; singularEps?: number; fallback?: number; workers?: number },
  ): Promise<{ kappa: number; lambdaMax: number; lambdaMin: number; columns: number; fallback: boolean }>;
  linearRegions(inputs: unknown, options?: { alpha?: Float32Array; batchSize?: number }): Promise<{ regions: number; samples: number; features: number }>;
  forward(inputs: unknown): Promise<unknown>;
  setAlpha(alpha: Float32Array): void;
  macs(side?: number): { macs: number; parameters: number; allParameters: number };
  parameter(name: string): { toArray(): Float32Array };
  parameterSummary(): { count: number; sum: number; weightCount: number; names: string[] };
  copyParametersFrom(other: NativeNb201Network): void;
}

export type NtkMode = 'logit_sum' | 'per_class_trace' | 'full';

export interface ScoringNetworkOptions {
  seed: number;
  numClasses?: number;
  init?: Init;
  device?: string;
}

type Ctor = new (options: Record<string, unknown>) => NativeNb201Network;

function ctor(): Ctor {
  return (native() as unknown as { Nb201Network: Ctor }).Nb201Network;
}

/** TE-NAS's NTK network: C=3, N=1, stem, all five ops per edge (seeded construction, §6(b)). */
export function ntkNetwork(options: ScoringNetworkOptions): NativeNb201Network {
  return new (ctor())({
    channels: 3,
    cellsPerStage: 1,
    numClasses: options.numClasses ?? 10,
    inChannels: 3,
    seed: options.seed,
    device: options.device ?? 'cpu',
    // The paper intended kaiming-normal fan_out for the NTK net; the original code applies none (§2).
    init: options.init === 'kaiming_normal' ? 'kaiming_normal_fanout' : 'default',
  });
}

/** TE-NAS's thin linear-region network: one C=1 cell on a 1-channel input, no stem (§1.3). */
export function thinNetwork(options: ScoringNetworkOptions): NativeNb201Network {
  return new (ctor())({
    channels: 1,
    cellsPerStage: 1,
    numClasses: options.numClasses ?? 10,
    inChannels: 1,
    useStem: false,
    depth: 1,
    seed: options.seed,
    device: options.device ?? 'cpu',
    init: options.init === 'kaiming_normal' ? 'kaiming_normal_fanin' : 'default',
  });
}

/** The benchmark's single-architecture network TinyNetwork(C, N) holding only the chosen ops. */
export function benchmarkNetwork(ops: readonly number[], options: { channels?: number; cellsPerStage?: number; numClasses?: number; seed?: number } = {}): NativeNb201Network {
  return new (ctor())({
    channels: options.channels ?? 16,
    cellsPerStage: options.cellsPerStage ?? 5,
    numClasses: options.numClasses ?? 100,
    ops: [...ops],
    seed: options.seed ?? 0,
  });
}

/** α with 0 on each edge's chosen op and −1000 elsewhere (a single path). */
export function singlePathAlpha(ops: readonly number[]): Float32Array {
  const a = new Float32Array(NB201_NUM_EDGES * NB201_NUM_OPS).fill(-1000);
  ops.forEach((op, e) => {
    a[e * NB201_NUM_OPS + op] = 0;
  });
  return a;
}

export { PACKAGE_ROOT };
