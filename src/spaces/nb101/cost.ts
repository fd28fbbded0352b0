/**
 * Per-vertex FLOPs and params of the NB101 network in the TF-profiler convention of NAR's NB101 file
 * (nar.md §1.1): 3 stacks × 3 modules of 128/256/512 channels at 32/16/8 px, NB101's channel allocation,
 * FLOPs = 2 × MACs of convolutions (with the 1×1 input projections), one FLOP per element per addition, 9 per
 * element for max-pool 3×3; params = conv weights plus BN γ/β.
 */
import { Nb101Cell, NB101_CONV_1X1, NB101_CONV_3X3, NB101_MAXPOOL_3X3, checkNb101Cell } from './cell';

/** The 9 cell keys of `vertex_flops` / `vertex_params`, in file order. */
export const NB101_CELL_KEYS: readonly string[] = Object.freeze([0, 1, 2].flatMap((s) => [0, 1, 2].map((m) => `stack${s}/module${m}`)));

/** Stem output channels. */
const STEM_CHANNELS = 128;
const STACK_CHANNELS = [128, 256, 512];
const STACK_RESOLUTION = [32, 32 / 2, 32 / 4];
const NUM_CLASSES = 10;

/**
 * NB101's channel allocation for one module: the output's channels split evenly over the vertices feeding the output
 * (remainder to the lowest-numbered), every other interior vertex the largest of its successors' channels.
 */
export function nb101VertexChannels(matrix: readonly (readonly number[])[], inChannels: number, outChannels: number): number[] {
  const v = matrix.length;
  const channels = new Array<number>(v).fill(0);
  channels[0] = inChannels;
  channels[v - 1] = outChannels;
  if (v === 2) return channels;
  let feeding = 0;
  for (let i = 1; i < v - 1; i++) feeding += matrix[i][v - 1];
  // A cell whose output is fed by the input alone has no channels to give its interior vertices.
  if (feeding === 0) return channels;
  const share = Math.floor(outChannels / feeding);
  let remainder = outChannels % feeding;
  for (let i = 1; i < v - 1; i++) {
    if (matrix[i][v - 1]) {
      channels[i] = share + (remainder > 0 ? 1 : 0);
      if (remainder > 0) remainder--;
    }
  }
  for (let i = v - 2; i >= 1; i--) {
    if (matrix[i][v - 1]) continue;
    for (let j = i + 1; j < v - 1; j++) if (matrix[i][j]) channels[i] = Math.max(channels[i], channels[j]);
  }
  return channels;
}

/** Costs of one module: one FLOPs and one params value per vertex. */
export interface Nb101ModuleCost {
  flops: number[];
  params: number[];
}

/**
 * Per-vertex costs of one module with `inChannels` input channels, `outChannels` output channels at `resolution`².
 * An edge input→output adds a 1×1 projection of the input to the output channels, summed with the concatenation:
 * its conv + BN and the addition are put on the output vertex (nar.md §1.1 leaves this unobserved; our choice).
 */
export function nb101ModuleCost(cell: Nb101Cell, inChannels: number, outChannels: number, resolution: number): Nb101ModuleCost {
  const { matrix, ops } = checkNb101Cell(cell.matrix, cell.ops);
  const v = matrix.length;
  const hw = resolution * resolution;
  const channels = nb101VertexChannels(matrix, inChannels, outChannels);
  const flops = new Array<number>(v).fill(0);
  const params = new Array<number>(v).fill(0);
  // 1×1 projection conv + BN from the module input to c channels.
  const projection = (c: number) => ({ flops: 2 * inChannels * c * hw, params: inChannels * c + 2 * c });
  for (let t = 1; t < v - 1; t++) {
    const c = channels[t];
    let inputs = 0;
    for (let s = 0; s < t; s++) {
      if (!matrix[s][t]) continue;
      inputs++;
      if (s === 0) {
        const p = projection(c);
        flops[t] += p.flops;
        params[t] += p.params;
      }
    }
    if (inputs > 1) flops[t] += (inputs - 1) * c * hw;
    const op = ops[t];
    if (op === NB101_CONV_3X3 || op === NB101_CONV_1X1) {
      const k2 = op === NB101_CONV_3X3 ? 9 : 1;
      flops[t] += 2 * k2 * c * c * hw;
      params[t] += k2 * c * c + 2 * c;
    } else if (op === NB101_MAXPOOL_3X3) {
      flops[t] += 9 * c * hw;
    }
  }
  if (matrix[0][v - 1]) {
    const p = projection(outChannels);
    let interior = 0;
    for (let s = 1; s < v - 1; s++) interior += matrix[s][v - 1];
    flops[v - 1] += p.flops + (interior > 0 ? outChannels * hw : 0);
    params[v - 1] += p.params;
  }
  return { flops, params };
}

/** Per-vertex costs of all 9 modules and the whole-network totals. */
export interface Nb101NetworkCost {
  /** Keyed `stack{s}/module{m}` in file order, each a V-length list. */
  vertexFlops: Record<string, number[]>;
  vertexParams: Record<string, number[]>;
  /** Whole-network FLOPs: modules + stem conv + 2 downsampling max-pools + global pool + dense. */
  flops: number;
  /** Whole-network trainable parameters: modules + stem conv/BN + dense. */
  trainableParameters: number;
}

/**
 * The costs NAR's NB101 file stores for a cell (`vertex_flops`, `vertex_params`, `flops`, `trainable_parameters`;
 * nar.md §1.1). Module 0 of stacks 1 and 2 reads the previous stack's output (half the channels).
 * @throws TorchnasError INVALID_CODE for a malformed cell.
 */
export function nb101NetworkCost(cell: Nb101Cell): Nb101NetworkCost {
  const checked = checkNb101Cell(cell.matrix, cell.ops);
  const vertexFlops: Record<string, number[]> = {};
  const vertexParams: Record<string, number[]> = {};
  let flops = 0;
  let params = 0;
  for (let s = 0; s < 3; s++) {
    for (let m = 0; m < 3; m++) {
      const inChannels = s === 0 ? STEM_CHANNELS : m === 0 ? STACK_CHANNELS[s - 1] : STACK_CHANNELS[s];
      const cost = nb101ModuleCost(checked, inChannels, STACK_CHANNELS[s], STACK_RESOLUTION[s]);
      const key = `stack${s}/module${m}`;
      vertexFlops[key] = cost.flops;
      vertexParams[key] = cost.params;
      flops += cost.flops.reduce((a, b) => a + b, 0);
      params += cost.params.reduce((a, b) => a + b, 0);
    }
  }
  const lastChannels = STACK_CHANNELS[2];
  const lastHw = STACK_RESOLUTION[2] ** 2;
  flops += 2 * 9 * 3 * STEM_CHANNELS * 32 * 32; // stem conv3x3 (its BN and ReLU count 0)
  // 2×2 max-pool downsampling after stacks 0 and 1: 4 FLOPs per output element.
  for (let s = 0; s < 2; s++) flops += 4 * STACK_CHANNELS[s] * (STACK_RESOLUTION[s] / 2) ** 2;
  flops += lastChannels * lastHw; // global average pool
  flops += 2 * lastChannels * NUM_CLASSES + NUM_CLASSES; // dense
  params += 9 * 3 * STEM_CHANNELS + 2 * STEM_CHANNELS + lastChannels * NUM_CLASSES + NUM_CLASSES;
  return { vertexFlops, vertexParams, flops, trainableParameters: params };
}
