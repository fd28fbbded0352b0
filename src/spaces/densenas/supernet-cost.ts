/**
 * The dense super network counted in closed form (densenas.md §2, §3.1, §5.3): its weights and the
 * FLOPs cost list of §5.3 (each candidate op in isolation, batch 1, MAdds / 1e6), in the positional layout.
 */
import { TorchnasError } from '../../core/errors';
import type { DenseCostList } from './cost-list';
import { ModuleCount, conv1x1BranchCount, linearCount, opCount, stemCount } from './ops';
import type { DenseSpace } from './space';

/** Per-part counts of the super net: every candidate op of every branch and layer. */
export interface SuperNetCount {
  /** Weights (trainable parameters excluding architecture parameters; BN running statistics are buffers). */
  params: number;
  /** Multiply-adds per image summed over all modules (every candidate op), conv and Linear only (§5.3). */
  madds: number;
  /**
   * The total the original logs while building the FLOPs cost list: {@link madds} without the MBV2
   * head_block (cosmetic omission, §5.3; the list's stem entry includes it). The §8 super net: 754.0 M.
   */
  loggedMadds: number;
  /** The same counts per part: stem (MBV2: with head_block), routing blocks (head, stack), conv1_1, classifier. */
  parts: { stem: ModuleCount; headBlock: ModuleCount | null; blocks: { head: ModuleCount[][]; stack: ModuleCount[][] }[]; conv1x1: ModuleCount[]; classifier: ModuleCount };
}

/**
 * Counts the super net as the original builds it (§2, §3.1): BN affine=False everywhere except the ResNet
 * stem's BN and the last BN of the MBV2 head_block (mbconv_k3_t1); skip_connect with stride 1; Linear with bias.
 */
export function countSuperNet(space: DenseSpace): SuperNetCount {
  const N = space.blocks.length - 1;
  const size = space.inputSize;
  const mbv2 = space.netType === 'mbv2';
  const stem = stemCount(space.inChannels, space.initDim, space.stemStride, size, size, !mbv2);
  const headBlock = mbv2 ? opCount('mbconv_k3_t1', space.initDim, space.headDim, 1, stem.outH, stem.outW, false) : null;
  const blocks = space.blocks.slice(1, -1).map((block) => ({
    head: block.predecessors.map((p) => {
      const from = space.blocks[p.from];
      return space.headOps.map((op) => opCount(op, from.channels, block.channels, p.stride, from.fmSize, from.fmSize, false));
    }),
    stack: Array.from({ length: block.numLayers }, () =>
      space.stackOps.map((op) => opCount(op, block.channels, block.channels, 1, block.fmSize, block.fmSize, false)),
    ),
  }));
  const last = space.blocks[N];
  const conv1x1 = last.predecessors.map((p) => {
    const from = space.blocks[p.from];
    return conv1x1BranchCount(from.channels, last.channels, from.fmSize, from.fmSize, false);
  });
  const classifier = linearCount(space.lastDim, space.numClasses);
  const all = [stem, ...(headBlock ? [headBlock] : []), ...blocks.flatMap((b) => [...b.head.flat(), ...b.stack.flat()]), ...conv1x1, classifier];
  return {
    params: all.reduce((s, c) => s + c.params, 0),
    madds: all.reduce((s, c) => s + c.madds, 0),
    loggedMadds: all.reduce((s, c) => s + c.madds, 0) - (headBlock?.madds ?? 0),
    parts: { stem, headBlock, blocks, conv1x1, classifier },
  };
}

/**
 * The FLOPs cost list of §5.3 in MMAdds (MAdds / 1e6, batch 1 at the configured input size), stem entry
 * including the head_block. With `skipReg` (the config's optim.sub_obj.skip_reg) every skip_connect entry
 * of a stack layer is that layer's first entry / 10 (§5.1); head layers keep their counted value.
 * @throws TorchnasError CONFIG_INVALID when skipReg is set and skip_connect is the first P_stack op (the
 *   original has no earlier entry to divide then).
 */
export function flopsCostList(space: DenseSpace, options: { skipReg?: boolean } = {}): DenseCostList {
  const count = countSuperNet(space);
  const m = (c: ModuleCount) => c.madds / 1e6;
  const skip = space.stackOps.map((op) => op === 'skip_connect');
  if (options.skipReg && skip[0] && space.blocks.some((b) => b.numLayers > 0)) {
    throw new TorchnasError("search_params.PRIMITIVES_stack: with skip_reg, skip_connect cannot be the first op (its cost is the first op's / 10)", 'CONFIG_INVALID');
  }
  return {
    stem: m(count.parts.stem) + (count.parts.headBlock ? m(count.parts.headBlock) : 0),
    blocks: count.parts.blocks.map((b) => ({
      head: b.head.map((r) => r.map(m)),
      stack: b.stack.map((r) => {
        const values = r.map(m);
        return options.skipReg ? values.map((v, k) => (skip[k] ? values[0] / 10 : v)) : values;
      }),
    })),
    conv1x1: count.parts.conv1x1.map(m),
    classifier: m(count.parts.classifier),
  };
}
