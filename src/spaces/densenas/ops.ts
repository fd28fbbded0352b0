/**
 * DenseNAS candidate operations (densenas.md §2) counted in closed form: parameters and multiply-adds
 * (MAdds, §5.3: convolutions and Linear layers only, per image) of each op exactly as the original builds it.
 */
import { TorchnasError } from '../../core/errors';

/** The op table of models/operations.py that torchnas supports (bottle_neck is refused, see {@link parseDenseOp}). */
export const DENSENAS_OPS = [
  'mbconv_k3_t1',
  'mbconv_k3_t3',
  'mbconv_k3_t6',
  'mbconv_k5_t3',
  'mbconv_k5_t6',
  'mbconv_k7_t3',
  'mbconv_k7_t6',
  'basic_block',
  'skip_connect',
] as const;

export type DenseOpName = (typeof DENSENAS_OPS)[number];

export type DenseOp =
  | { kind: 'mbconv'; kernel: 3 | 5 | 7; expansion: 1 | 3 | 6 }
  | { kind: 'basic_block' }
  | { kind: 'skip_connect' };

export function isDenseOpName(name: unknown): name is DenseOpName {
  return typeof name === 'string' && (DENSENAS_OPS as readonly string[]).includes(name);
}

/**
 * The op a name denotes, or a message saying why it is not one (`bottle_neck` is defined by the original
 * but unused by its configs and changes the meaning of every width, §2; torchnas does not build it).
 */
export function parseDenseOp(name: string): DenseOp | string {
  if (name === 'bottle_neck') return "'bottle_neck' is not supported by torchnas (unused by the original's configs)";
  if (!isDenseOpName(name)) return `unknown op ${showName(name)} (known: ${DENSENAS_OPS.join(', ')})`;
  if (name === 'basic_block') return { kind: 'basic_block' };
  if (name === 'skip_connect') return { kind: 'skip_connect' };
  const m = /^mbconv_k(\d)_t(\d)$/.exec(name)!;
  return { kind: 'mbconv', kernel: Number(m[1]) as 3 | 5 | 7, expansion: Number(m[2]) as 1 | 3 | 6 };
}

function showName(name: unknown): string {
  return typeof name === 'string' ? `'${name.length > 40 ? `${name.slice(0, 40)}…` : name}'` : String(name);
}

/** Parameters and per-image MAdds of a module, with the spatial size of its output. */
export interface ModuleCount {
  params: number;
  madds: number;
  outH: number;
  outW: number;
}

/** Output size of a k×k convolution with padding (k−1)/2 (odd k): ⌊(n + 2p − k)/s⌋ + 1 = ⌈n/s⌉. */
export function convOutSize(n: number, kernel: number, stride: number): number {
  const pad = (kernel - 1) >> 1;
  return Math.floor((n + 2 * pad - kernel) / stride) + 1;
}

/** Conv2d without bias (every conv DenseNAS builds), padding (k−1)/2. */
export function convCount(cIn: number, cOut: number, kernel: number, stride: number, groups: number, h: number, w: number): ModuleCount {
  const outH = convOutSize(h, kernel, stride);
  const outW = convOutSize(w, kernel, stride);
  const perPosition = (kernel * kernel * cIn * cOut) / groups;
  return { params: perPosition, madds: perPosition * outH * outW, outH, outW };
}

/** BatchNorm2d: weight and bias when affine (running statistics are buffers, not parameters); no MAdds. */
export const bnParams = (channels: number, affine: boolean): number => (affine ? 2 * channels : 0);

function chain(h: number, w: number, parts: ((h: number, w: number) => ModuleCount)[]): ModuleCount {
  let params = 0;
  let madds = 0;
  for (const part of parts) {
    const c = part(h, w);
    params += c.params;
    madds += c.madds;
    h = c.outH;
    w = c.outW;
  }
  return { params, madds, outH: h, outW: w };
}

const bn = (channels: number, affine: boolean) => (h: number, w: number): ModuleCount => ({ params: bnParams(channels, affine), madds: 0, outH: h, outW: w });
const conv = (cIn: number, cOut: number, k: number, s: number, g = 1) => (h: number, w: number) => convCount(cIn, cOut, k, s, g, h, w);

/**
 * Parameters and MAdds of one candidate op on a (h, w) input (§2). `affine` is the BN flag the caller
 * passes (super net false, derived net true); MBConv t=1 keeps its last BN affine whatever the flag.
 * `skip_connect` ignores `stride` (the op table builds it with stride 1).
 * @throws TorchnasError INVALID_ARGUMENT for an unknown op or non-positive sizes.
 */
export function opCount(name: string, cIn: number, cOut: number, stride: number, h: number, w: number, affine: boolean): ModuleCount {
  const op = parseDenseOp(name);
  if (typeof op === 'string') throw new TorchnasError(op, 'INVALID_ARGUMENT');
  for (const [key, v] of Object.entries({ cIn, cOut, stride, h, w })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TorchnasError(`${name}: ${key} must be a positive integer, got ${String(v)}`, 'INVALID_ARGUMENT');
  }
  switch (op.kind) {
    case 'mbconv': {
      const k = op.kernel;
      if (op.expansion === 1) {
        return chain(h, w, [conv(cIn, cIn, k, stride, cIn), bn(cIn, affine), conv(cIn, cOut, 1, 1), bn(cOut, true)]);
      }
      const hidden = cIn * op.expansion; // input-based hidden width
      return chain(h, w, [
        conv(cIn, hidden, 1, 1),
        bn(hidden, affine),
        conv(hidden, hidden, k, stride, hidden),
        bn(hidden, affine),
        conv(hidden, cOut, 1, 1),
        bn(cOut, affine),
      ]);
    }
    case 'basic_block': {
      const main = chain(h, w, [conv(cIn, cOut, 3, stride), bn(cOut, affine), conv(cOut, cOut, 3, 1), bn(cOut, affine)]);
      if (stride === 1 && cIn === cOut) return main;
      const shortcut = chain(h, w, [conv(cIn, cOut, 1, stride), bn(cOut, affine)]);
      return { ...main, params: main.params + shortcut.params, madds: main.madds + shortcut.madds };
    }
    case 'skip_connect':
      if (cIn === cOut) return { params: 0, madds: 0, outH: h, outW: w };
      return chain(h, w, [conv(cIn, cOut, 1, 1), bn(cOut, affine)]);
  }
}

/** The conv1_1 branch of block N and of derived MBV2 nets: 1×1 conv, BN, ReLU6. */
export function conv1x1BranchCount(cIn: number, cOut: number, h: number, w: number, affine: boolean): ModuleCount {
  return chain(h, w, [conv(cIn, cOut, 1, 1), bn(cOut, affine)]);
}

/** The stem: 3×3 conv with stride `stride` from the image channels, BN, ReLU/ReLU6. */
export function stemCount(inChannels: number, cOut: number, stride: number, h: number, w: number, affine: boolean): ModuleCount {
  return chain(h, w, [conv(inChannels, cOut, 3, stride), bn(cOut, affine)]);
}

/** Linear(in, out) with bias: in·out + out parameters, in·out MAdds per image (bias not counted, §5.3). */
export function linearCount(inFeatures: number, outFeatures: number): ModuleCount {
  return { params: inFeatures * outFeatures + outFeatures, madds: inFeatures * outFeatures, outH: 1, outW: 1 };
}
