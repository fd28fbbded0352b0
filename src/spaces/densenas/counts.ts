/** Sizes of a DenseNAS space (densenas.md §1.3, §3.2): architecture parameters and stem→end paths. */
import type { DenseSpace } from './space';

/** Shapes of the architecture parameters, in the original's `arch_parameters` order (betas, alpha_head, alpha_stack). */
export interface ArchParameterShapes {
  /** |succ(i)| for blocks i = 0..N−1. */
  betas: number[];
  /** [|pred(j)|, |P_head|] for routing blocks j = 1..N−1 (entry j−1). */
  alphaHead: [number, number][];
  /** [num_layers[j], |P_stack|] for routing blocks j = 1..N−1 (entry j−1; 0-row shapes kept). */
  alphaStack: [number, number][];
}

export interface ArchParameterCounts {
  betas: number;
  alphaHead: number;
  alphaStack: number;
  total: number;
}

export function archParameterShapes(space: DenseSpace): ArchParameterShapes {
  const routing = space.blocks.slice(1, -1);
  return {
    betas: space.blocks.slice(0, -1).map((b) => b.successors.length),
    alphaHead: routing.map((b) => [b.predecessors.length, space.headOps.length]),
    alphaStack: routing.map((b) => [b.numLayers, space.stackOps.length]),
  };
}

/** Number of values of each architecture-parameter group (MBV2: 54 + 306 + 273 = 633; ResNet 87 + 84 + 226 = 397). */
export function archParameterCounts(space: DenseSpace): ArchParameterCounts {
  const shapes = archParameterShapes(space);
  const betas = shapes.betas.reduce((a, b) => a + b, 0);
  const alphaHead = shapes.alphaHead.reduce((a, [r, c]) => a + r * c, 0);
  const alphaStack = shapes.alphaStack.reduce((a, [r, c]) => a + r * c, 0);
  return { betas, alphaHead, alphaStack, total: betas + alphaHead + alphaStack };
}

/**
 * Distinct block paths from block 0 to block N (MBV2 15,456; ResNet 540,225), counted by dynamic
 * programming; exact while below 2^53.
 */
export function countPaths(space: DenseSpace): number {
  const paths = new Array<number>(space.blocks.length).fill(0);
  paths[0] = 1;
  for (const block of space.blocks.slice(1)) paths[block.index] = block.predecessors.reduce((s, p) => s + paths[p.from], 0);
  return paths[paths.length - 1];
}

/** Head branches of the routing blocks (MBV2: 51) and conv1_1 branches of block N (MBV2: 3). */
export function countBranches(space: DenseSpace): { head: number; conv1x1: number; stackLayers: number } {
  const routing = space.blocks.slice(1, -1);
  return {
    head: routing.reduce((s, b) => s + b.predecessors.length, 0),
    conv1x1: space.blocks[space.blocks.length - 1].predecessors.length,
    stackLayers: routing.reduce((s, b) => s + b.numLayers, 0),
  };
}
