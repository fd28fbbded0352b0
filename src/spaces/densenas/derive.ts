/**
 * Architecture derivation (densenas.md §4.4): the most probable block path by Viterbi over softmax(β)
 * (no temperature; strict `>` so ties go to the nearest predecessor), then argmax ops per layer (ties to
 * the first op), skip_connect stack layers dropped; MBV2 prepends the head_block entry and appends conv1_1,
 * ResNet has neither.
 */
import { TorchnasError } from '../../core/errors';
import { DenseArchParameters, checkArchParameters, softmax } from './arch';
import type { NetConfig, NetConfigEntry } from './net-config';
import type { DenseSpace } from './space';

export interface Derivation {
  netConfig: NetConfig;
  /** Block indices 0 = b_0 < b_1 < … < b_m = N of the chosen path. */
  path: number[];
  /** Its probability Π softmax(β_{b_k})[pos(b_{k+1})]. */
  pathProbability: number;
}

/** Index of the first maximum (Python's `list.index(max(list))`). */
function firstArgmax(values: number[]): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** Derives the architecture of `arch` in `space`. @throws TorchnasError INVALID_ARGUMENT for wrong shapes or no path of positive probability. */
export function deriveArchitecture(space: DenseSpace, arch: DenseArchParameters): Derivation {
  checkArchParameters(space, arch);
  const N = space.blocks.length - 1;
  const P = arch.betas.map((b) => softmax(b));
  const best: { from: number; p: number }[] = [{ from: 0, p: 1 }];
  for (let j = 1; j <= N; j++) {
    let choice = { from: -1, p: 0 };
    for (const { from } of space.blocks[j].predecessors) {
      const p = best[from].p * P[from][space.blocks[from].successors.indexOf(j)];
      if (p > choice.p) choice = { from, p };
    }
    if (choice.from < 0) throw new TorchnasError(`derivation: no predecessor of block ${j} has a path of positive probability (betas underflow)`, 'INVALID_ARGUMENT');
    best.push(choice);
  }
  const path = [N];
  while (path[0] !== 0) path.unshift(best[path[0]].from);

  const entries: NetConfigEntry[] = [];
  if (space.netType === 'mbv2') entries.push({ kind: 'block', inChannels: space.initDim, outChannels: space.headDim, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 });
  for (let k = 1; k < path.length - 1; k++) {
    const block = space.blocks[path[k]];
    const h = block.predecessors.findIndex((p) => p.from === path[k - 1]);
    const headOp = space.headOps[firstArgmax(softmax(arch.alphaHead[block.index - 1][h]))];
    const stackOps = arch.alphaStack[block.index - 1].map((row) => space.stackOps[firstArgmax(softmax(row))]).filter((op) => op !== 'skip_connect');
    entries.push({
      kind: 'block',
      inChannels: space.blocks[path[k - 1]].channels,
      outChannels: block.channels,
      headOp,
      stackOps,
      stride: block.predecessors[h].stride,
    });
  }
  if (space.netType === 'mbv2') entries.push({ kind: 'conv1_1', inChannels: space.blocks[path[path.length - 2]].channels, outChannels: space.lastDim });
  return { netConfig: { netType: space.netType, entries }, path, pathProbability: best[N].p };
}
