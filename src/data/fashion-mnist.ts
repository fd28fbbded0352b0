/**
 * Fashion-MNIST from any folder holding the four original IDX files (gzipped or not): the folder passed in,
 * else `$TORCHNAS_FASHION_MNIST`, else Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';
import { readIdxFile } from './idx';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Where Fashion-MNIST is read from: `dir`, else `$TORCHNAS_FASHION_MNIST` (when not empty), else Debian's folder. */
export function fashionMnistDir(dir?: string): string {
  return dir ?? (process.env.TORCHNAS_FASHION_MNIST || FASHION_MNIST_DEFAULT_DIR);
}
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;
/** Pixel statistics of the training set after scaling to [0, 1] (as the TE-NAS reference runs use). */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

export interface ImageSplit {
  /** uint8 pixels, row-major [count, height, width]. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function locate(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new TorchnasError(
    `Fashion-MNIST file ${stem}(.gz) not found in ${dir}: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), ` +
      'or put the four original files in a folder and set TORCHNAS_FASHION_MNIST=<folder> (or pass the folder)',
    'FILE_NOT_FOUND',
  );
}

/** Loads one split; `limit` keeps only the first N examples. */
export async function loadFashionMnist(
  split: 'train' | 'test',
  options: { dir?: string; limit?: number } = {},
): Promise<ImageSplit> {
  const dir = fashionMnistDir(options.dir);
  const [imagesStem, labelsStem] = FILES[split];
  const [images, labels] = await Promise.all([readIdxFile(locate(dir, imagesStem)), readIdxFile(locate(dir, labelsStem))]);
  if (images.shape.length !== 3) throw new TorchnasError(`${imagesStem}: expected 3-D images, got [${images.shape}]`, 'FILE_CORRUPT');
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new TorchnasError(`${labelsStem}: ${labels.shape[0]} labels for ${images.shape[0]} images`, 'FILE_CORRUPT');
  }
  const [n, h, w] = images.shape;
  const count = Math.min(n, options.limit ?? n);
  return {
    images: images.data.subarray(0, count * h * w),
    labels: labels.data.subarray(0, count),
    count,
    height: h,
    width: w,
  };
}
