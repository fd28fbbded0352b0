/**
 * Inputs for TE-NAS's two indicators (specs/tenas.md §2.1, §3): image batches for the NTK network and
 * 1×3×3 single-channel patches for the linear-region network. Sources: Fashion-MNIST (Debian), CIFAR-10
 * binary batches, or N(0,1) noise. Every stream is seeded.
 *
 * Fashion-MNIST is brought to the NTK network's 3×32×32 input by zero-padding 28→32 (before normalising,
 * as the reference runs do), then the CIFAR training augmentation (random crop 32 with padding 4, random
 * horizontal flip), then replication to 3 channels.
 */
import { TorchnasError } from '../core/errors';
import { Random } from '../core/random';
import { tensor, Tensor } from '../core/tensor';
import { CIFAR10_MEAN, CIFAR10_STD, loadCifar10 } from './cifar10';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, loadFashionMnist } from './fashion-mnist';
import { loadImageFolder } from './image-folder';
import { native, NativeGenerator } from '../native';

export type InputSourceSpec = 'fashion-mnist' | 'random' | `cifar10:${string}` | `folder:${string}`;

export interface InputSource {
  readonly name: string;
  /** A training-augmented batch [B, 3, 32, 32] for the NTK. */
  ntkBatch(batchSize: number): Tensor;
  /** `count` single-channel patches [count, 1, side, side] for linear regions. */
  patches(count: number, side: number): Tensor;
  /**
   * An independent stream over the same data, seeded by this source's seed and `key` only: what it draws does not
   * depend on what this source or other forks drew before. A correlation study draws each architecture's inputs
   * from `fork(index)`, so the architectures can be scored in any order, on any machine, with identical inputs.
   */
  fork(key: number): InputSource;
}

/** The seed of a fork: the source's seed and the key mixed by a 32-bit hash (splitmix32 finaliser). */
export function forkSeed(seed: number, key: number): number {
  if (!Number.isInteger(key)) throw new TorchnasError(`input stream key must be an integer, got ${key}`, 'INVALID_ARGUMENT');
  let z = (Math.imul(Math.trunc(seed) >>> 0, 0x9e3779b1) ^ (key >>> 0) ^ Math.imul(Math.floor(key / 2 ** 32) >>> 0, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Grayscale or RGB uint8 images with per-channel normalisation. */
interface ImageSet {
  images: Uint8Array;
  count: number;
  channels: number;
  side: number;
  mean: readonly number[];
  std: readonly number[];
}

class ImageSource implements InputSource {
  private readonly random: Random;
  constructor(readonly name: string, private readonly set: ImageSet, private readonly seed: number, private readonly padTo = 32) {
    this.random = new Random(seed);
  }

  fork(key: number): InputSource {
    return new ImageSource(this.name, this.set, forkSeed(this.seed, key), this.padTo);
  }

  ntkBatch(batchSize: number): Tensor {
    const { images, count, channels, side, mean, std } = this.set;
    const out = new Float32Array(batchSize * 3 * 32 * 32);
    const offset = (this.padTo - side) / 2; // 2 for 28×28 Fashion-MNIST, 0 for CIFAR
    for (let b = 0; b < batchSize; b++) {
      const index = this.random.int(0, count - 1);
      // RandomCrop(32, padding=4) then RandomHorizontalFlip on the (zero-)padded canvas.
      const dy = this.random.int(0, 8) - 4;
      const dx = this.random.int(0, 8) - 4;
      const flip = this.random.next() < 0.5;
      for (let c = 0; c < 3; c++) {
        const sourceChannel = channels === 1 ? 0 : c;
        const m = mean[sourceChannel];
        const s = std[sourceChannel];
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            const cy = y + dy - offset;
            const cxRaw = flip ? 31 - x : x;
            const cx = cxRaw + dx - offset;
            let pixel = 0;
            if (cy >= 0 && cy < side && cx >= 0 && cx < side) {
              pixel = images[((index * channels + sourceChannel) * side + cy) * side + cx];
            }
            out[((b * 3 + c) * 32 + y) * 32 + x] = (pixel / 255 - m) / s;
          }
        }
      }
    }
    return tensor(out, [batchSize, 3, 32, 32]);
  }

  patches(count: number, side: number): Tensor {
    const set = this.set;
    if (side > set.side) throw new TorchnasError(`patch side ${side} exceeds the image side ${set.side}`, 'INVALID_ARGUMENT');
    const out = new Float32Array(count * side * side);
    for (let n = 0; n < count; n++) {
      const index = this.random.int(0, set.count - 1);
      const row = this.random.int(0, set.side - side);
      const col = this.random.int(0, set.side - side);
      const channel = set.channels === 1 ? 0 : this.random.int(0, set.channels - 1); // RandChannel(1)
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const pixel = set.images[((index * set.channels + channel) * set.side + row + y) * set.side + col + x];
          out[(n * side + y) * side + x] = (pixel / 255 - set.mean[channel]) / set.std[channel];
        }
      }
    }
    return tensor(out, [count, 1, side, side]);
  }
}

class RandomSource implements InputSource {
  readonly name = 'random';
  private readonly generator: NativeGenerator;
  constructor(private readonly seed: number) {
    this.generator = new (native().Generator)(seed);
  }
  fork(key: number): InputSource {
    return new RandomSource(forkSeed(this.seed, key));
  }
  ntkBatch(batchSize: number): Tensor {
    return this.generator.randn([batchSize, 3, 32, 32]) as Tensor;
  }
  patches(count: number, side: number): Tensor {
    return this.generator.randn([count, 1, side, side]) as Tensor;
  }
}

const cache = new Map<string, Promise<ImageSet>>();

function loadSet(spec: InputSourceSpec, dataDir?: string): Promise<ImageSet> {
  const key = `${spec}|${dataDir ?? ''}`;
  let p = cache.get(key);
  if (!p) {
    if (spec === 'fashion-mnist') {
      p = loadFashionMnist('train', { dir: dataDir }).then((s) => ({
        images: s.images,
        count: s.count,
        channels: 1,
        side: s.height,
        mean: [FASHION_MNIST_MEAN],
        std: [FASHION_MNIST_STD],
      }));
    } else if (spec.startsWith('folder:')) {
      // Resized to 32×32 RGB like CIFAR-10; normalised with the folder's own per-channel mean/std.
      p = loadImageFolder(spec.slice('folder:'.length), 'train', { channels: 3, height: 32, width: 32 }).then((s) => {
        const stats = channelStats(s.images, s.count, 3, 32 * 32);
        return { images: s.images, count: s.count, channels: 3, side: 32, mean: stats.mean, std: stats.std };
      });
    } else {
      const dir = spec.slice('cifar10:'.length);
      p = loadCifar10(dir, 'train').then((s) => ({ images: s.images, count: s.count, channels: 3, side: 32, mean: CIFAR10_MEAN, std: CIFAR10_STD }));
    }
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Parses 'fashion-mnist', 'random', 'cifar10:DIR' or 'folder:DIR'. */
export function parseInputSource(text: string): InputSourceSpec {
  if (text === 'fashion-mnist' || text === 'random') return text;
  if (text.startsWith('cifar10:') && text.length > 'cifar10:'.length) return text as InputSourceSpec;
  if (text.startsWith('folder:') && text.length > 'folder:'.length) return text as InputSourceSpec;
  throw new TorchnasError(`unknown data source '${text}': expected fashion-mnist, random, cifar10:DIR or folder:DIR`, 'INVALID_ARGUMENT');
}

/** Per-channel mean and standard deviation (fractions of 255) of uint8 images [count, channels, plane]. */
function channelStats(images: Uint8Array, count: number, channels: number, plane: number): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < count; i++) {
      const offset = (i * channels + c) * plane;
      for (let p = 0; p < plane; p++) {
        const v = images[offset + p] / 255;
        sum += v;
        squares += v * v;
      }
    }
    const n = Math.max(1, count * plane);
    mean.push(sum / n);
    std.push(Math.max(1e-3, Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2))));
  }
  return { mean, std };
}

/** An input stream seeded by `seed`. */
export async function openInputSource(spec: InputSourceSpec, seed: number, options: { dataDir?: string } = {}): Promise<InputSource> {
  if (spec === 'random') return new RandomSource(seed);
  return new ImageSource(spec, await loadSet(spec, options.dataDir), seed);
}
