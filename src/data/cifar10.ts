/**
 * CIFAR-10 in its original binary form (cifar-10-batches-bin): data_batch_1..5.bin and test_batch.bin,
 * each a sequence of 3073-byte records (1 label byte, then 1024 red, 1024 green, 1024 blue pixels).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';

export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;
const RECORD = 3073;

export interface Cifar10Split {
  /** uint8 pixels [count, 3, 32, 32], channel-planar as stored. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

function parseBatch(bytes: Uint8Array, file: string): Cifar10Split {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new TorchnasError(`${file}: ${bytes.length} bytes is not a whole number of 3073-byte CIFAR-10 records (truncated?)`, 'FILE_CORRUPT');
  }
  const count = bytes.length / RECORD;
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = bytes[i * RECORD];
    if (label > 9) throw new TorchnasError(`${file}: record ${i} has label ${label}, expected 0..9`, 'FILE_CORRUPT');
    labels[i] = label;
    images.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * 3072);
  }
  return { images, labels, count };
}

/** Loads the training (5 batches) or test split from a cifar-10-batches-bin folder. */
export async function loadCifar10(dir: string, split: 'train' | 'test' = 'train'): Promise<Cifar10Split> {
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const parts: Cifar10Split[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      throw new TorchnasError(`CIFAR-10 file ${file} not found: pass the cifar-10-batches-bin folder (binary version)`, 'FILE_NOT_FOUND');
    }
    parts.push(parseBatch(await fs.promises.readFile(file), file));
  }
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { images, labels, count };
}
