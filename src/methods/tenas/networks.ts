/**
 * The two small networks TE-NAS scores (specs/tenas.md §1.3): the NTK network (C=3, N=1, stem, every
 * edge holding all five ops) and the thin linear-region network (C=1, one cell on a 1-channel input, no
 * stem). Both are driven by α, so a single architecture is the supernet with a single-path α.
 */
import { native, NativeNb201Network, NtkMode, PACKAGE_ROOT } from '../../native';
import { NB201_NUM_EDGES, NB201_NUM_OPS } from '../../spaces/nb201';

export type { NativeNb201Network, NtkMode };

export type Init = 'default' | 'kaiming_normal';



export interface ScoringNetworkOptions {
  seed: number;
  numClasses?: number;
  init?: Init;
  device?: string;
}

function ctor() {
  return native().Nb201Network;
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
