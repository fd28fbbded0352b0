/**
 * Parameters and MAdds of the derived network a net_config describes (densenas.md §4.4 item 4, §5.3):
 * stem (3×3 conv + affine BN), each entry's head op and stack ops with affine BN, MBV2's conv1_1, then
 * global pooling and Linear(·, classes). DenseNAS-C at 224², 1000 classes: 360.81 MMAdds, 6.13 M params.
 */
import { TorchnasError } from '../../core/errors';
import { NetConfig, validateNetConfig } from './net-config';
import { ModuleCount, conv1x1BranchCount, linearCount, opCount, stemCount } from './ops';

export interface DerivedNetOptions {
  /** Square input size (default 224, the original's). */
  inputSize?: number;
  /** Image channels (default 3). */
  inChannels?: number;
  /** Classifier outputs (default 1000, the original's derived nets). */
  numClasses?: number;
  /** Stride of the stem conv (default 2). */
  stemStride?: number;
}

export interface DerivedNetCount {
  params: number;
  madds: number;
  /** Spatial size entering global pooling. */
  finalSize: number;
}

/** Counts the derived net of `config` (validated first). @throws TorchnasError INVALID_CODE / INVALID_ARGUMENT. */
export function countDerivedNet(config: NetConfig, options: DerivedNetOptions = {}): DerivedNetCount {
  validateNetConfig(config);
  const inputSize = options.inputSize ?? 224;
  const inChannels = options.inChannels ?? 3;
  const numClasses = options.numClasses ?? 1000;
  const stemStride = options.stemStride ?? 2;
  for (const [key, v] of Object.entries({ inputSize, inChannels, numClasses, stemStride })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TorchnasError(`${key} must be a positive integer, got ${String(v)}`, 'INVALID_ARGUMENT');
  }
  const parts: ModuleCount[] = [];
  let size = inputSize;
  const add = (c: ModuleCount): void => {
    parts.push(c);
    size = c.outH;
  };
  add(stemCount(inChannels, config.entries[0].inChannels, stemStride, size, size, true));
  for (const e of config.entries) {
    if (e.kind === 'conv1_1') {
      add(conv1x1BranchCount(e.inChannels, e.outChannels, size, size, true));
      continue;
    }
    add(opCount(e.headOp, e.inChannels, e.outChannels, e.stride, size, size, true));
    for (const op of e.stackOps) add(opCount(op, e.outChannels, e.outChannels, 1, size, size, true));
  }
  const last = config.entries[config.entries.length - 1].outChannels;
  const finalSize = size;
  parts.push(linearCount(last, numClasses));
  return { params: parts.reduce((s, c) => s + c.params, 0), madds: parts.reduce((s, c) => s + c.madds, 0), finalSize };
}
