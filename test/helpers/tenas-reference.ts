/**
 * The reference protocol of specs/tenas.md §6(b), reproduced exactly: inputs drawn from one LibTorch
 * generator seeded 12345 and networks seeded 1000·index + repeat. With it, per-architecture κ and R can be
 * checked against the numbers measured with the original code (Appendix A). Test-only: it lives in test/helpers.
 */
import { tensor, Tensor } from '../../src/core/tensor';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, ImageSplit, loadFashionMnist } from '../../src/data/fashion-mnist';
import { native } from '../../src/native';

const GENERATOR_SEED = 12345;
const REGION_BATCH = 1000;

export interface ReferenceInputs {
  batchSize: number;
  /** NTK batches of N(0,1), one per repeat: randn(B, 3, 32, 32). */
  ntkNormal: Tensor[];
  /** Batch-16 run only: Fashion-MNIST NTK batches (padded 28→32 before normalising, 3 channels). */
  ntkFashionMnist: Tensor[];
  /** 9 batches of 1000 Fashion-MNIST 3×3 crops (repeat r uses batches 3r..3r+2). */
  regionFashionMnist: Tensor[];
  /** 9 batches of 1000 N(0,1) 1×3×3 inputs. */
  regionNormal: Tensor[];
}

// torchvision's ToTensor + Normalize work in float32: (fround(p/255) − mean) / std, each step rounded.
const MEAN32 = Math.fround(FASHION_MNIST_MEAN);
const STD32 = Math.fround(FASHION_MNIST_STD);
function normalize(pixel: number): number {
  return Math.fround(Math.fround(Math.fround(pixel / 255) - MEAN32) / STD32);
}

function toNumbers(t: Tensor): number[] {
  return Array.from(t.toArray() as BigInt64Array, Number);
}

function crops(train: ImageSplit, index: number[], rows: number[], cols: number[]): Tensor {
  const out = new Float32Array(index.length * 9);
  for (let n = 0; n < index.length; n++) {
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 3; x++) {
        const pixel = train.images[(index[n] * 28 + rows[n] + y) * 28 + cols[n] + x];
        out[n * 9 + y * 3 + x] = normalize(pixel);
      }
    }
  }
  return tensor(out, [index.length, 1, 3, 3]);
}

function paddedImages(train: ImageSplit, index: number[]): Tensor {
  const out = new Float32Array(index.length * 3 * 32 * 32);
  for (let n = 0; n < index.length; n++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const pixel = inside ? train.images[(index[n] * 28 + y - 2) * 28 + x - 2] : 0;
        const v = normalize(pixel);
        for (let c = 0; c < 3; c++) out[((n * 3 + c) * 32 + y) * 32 + x] = v;
      }
    }
  }
  return tensor(out, [index.length, 3, 32, 32]);
}

/**
 * Draws the inputs of one reference run (batch size B = 72, 32 or 16) in the generator order of §6(b):
 * the 3 N(0,1) NTK batches, then (B = 16) the Fashion-MNIST NTK batches, otherwise the 9 Fashion-MNIST linear-region
 * batches (indices, rows, columns), then the 9 N(0,1) linear-region batches.
 */
export async function referenceInputs(batchSize: number, options: { dataDir?: string } = {}): Promise<ReferenceInputs> {
  const g = new (native().Generator)(GENERATOR_SEED);
  const train = await loadFashionMnist('train', { dir: options.dataDir });
  const ntkNormal = [0, 1, 2].map(() => g.randn([batchSize, 3, 32, 32]) as Tensor);
  const ntkFashionMnist: Tensor[] = [];
  const regionFashionMnist: Tensor[] = [];
  const regionNormal: Tensor[] = [];
  if (batchSize === 16) {
    for (let r = 0; r < 3; r++) ntkFashionMnist.push(paddedImages(train, toNumbers(g.randint(0, 60000, [16]) as Tensor)));
  } else {
    for (let b = 0; b < 9; b++) {
      const index = toNumbers(g.randint(0, 60000, [REGION_BATCH]) as Tensor);
      const rows = toNumbers(g.randint(0, 26, [REGION_BATCH]) as Tensor);
      const cols = toNumbers(g.randint(0, 26, [REGION_BATCH]) as Tensor);
      regionFashionMnist.push(crops(train, index, rows, cols));
    }
    for (let b = 0; b < 9; b++) regionNormal.push(g.randn([REGION_BATCH, 1, 3, 3]) as Tensor);
  }
  return { batchSize, ntkNormal, ntkFashionMnist, regionFashionMnist, regionNormal };
}

/** The 3 linear-region batches of repeat r concatenated (3000 samples, BN still sees 1000 at a time). */
export function referenceRegionInputs(batches: Tensor[], repeat: number): Tensor {
  const parts = batches.slice(3 * repeat, 3 * repeat + 3).map((t) => t.toArray() as Float32Array);
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return tensor(out, [out.length / 9, 1, 3, 3]);
}
