/**
 * Plain image folders, ImageNet style (`--data folder:DIR`): `DIR/train/CLASS/*.{jpg,jpeg,png}` for training and
 * `DIR/val/CLASS/…` (or `DIR/test/CLASS/…`) for testing. Classes are the training split's sub-folders in sorted
 * order (label = index), so labels do not depend on the platform's directory order (the original's bug, densenas.md
 * §4.1). Every image is decoded, converted to the requested channels (RGB, or luminance for one channel) and resized
 * to the requested size with bilinear interpolation (half-pixel centres, no antialiasing: torchvision's
 * Resize((H, W), antialias=False)), giving uint8 [count, C, H, W] like the Fashion-MNIST and CIFAR-10 loaders.
 *
 * Decoders: jpeg-js and pngjs, both pure JavaScript with no dependencies of their own, so reading a folder adds no
 * native library to build or ship (LibTorch 1.13's C++ API has no image decoding). They are loaded on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';

export interface ImageFolderOptions {
  /** 1 (luminance) or 3 (RGB). */
  channels: number;
  height: number;
  width: number;
  /** Decode at most this many images, taken round-robin over the classes so a limit keeps them balanced. */
  limit?: number;
  /** The class names to label with (a test split uses the training split's); default: this split's sorted sub-folders. */
  classes?: readonly string[];
}

export interface ImageFolderSplit {
  /** uint8 pixels [count, channels, height, width]. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  /** Class names, label order. */
  classes: string[];
  /** The folder read (DIR/train, DIR/val or DIR/test). */
  dir: string;
}

const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per sample. */
  data: Uint8Array;
}

interface Decoders {
  jpeg: (bytes: Uint8Array) => RgbaImage;
  png: (bytes: Uint8Array) => RgbaImage;
}

let decoders: Decoders | undefined;

function loadDecoders(): Decoders {
  if (decoders) return decoders;
  let jpegJs: { decode(data: Uint8Array, options: Record<string, unknown>): RgbaImage };
  let pngJs: { PNG: { sync: { read(data: Buffer): RgbaImage } } };
  try {
    /* eslint-disable @typescript-eslint/no-var-requires */
    jpegJs = require('jpeg-js');
    pngJs = require('pngjs');
    /* eslint-enable @typescript-eslint/no-var-requires */
  } catch (e) {
    throw new TorchnasError(`reading image folders needs the packages jpeg-js and pngjs (dependencies of torchnas): run npm install (${(e as Error).message})`, 'DEPENDENCY_MISSING', {
      cause: e,
    });
  }
  decoders = {
    jpeg: (bytes) => jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 200, maxMemoryUsageInMB: 1024 }),
    png: (bytes) => pngJs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
  };
  return decoders;
}

/** Decodes a JPEG or PNG (by its signature, not its name) to RGBA; FILE_CORRUPT naming the file otherwise. */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  const d = loadDecoders();
  const png = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const jpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!png && !jpeg) throw new TorchnasError(`${file}: not a JPEG or PNG image (unknown signature)`, 'FILE_CORRUPT');
  let image: RgbaImage;
  try {
    image = png ? d.png(bytes) : d.jpeg(bytes);
  } catch (e) {
    throw new TorchnasError(`${file}: cannot decode this ${png ? 'PNG' : 'JPEG'} image: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
  }
  if (!(image.width > 0 && image.height > 0) || image.data.length < image.width * image.height * 4) {
    throw new TorchnasError(`${file}: the decoded ${png ? 'PNG' : 'JPEG'} image is empty or truncated`, 'FILE_CORRUPT');
  }
  return image;
}

/**
 * Writes `image` into `out` at `offset` as [channels, height, width] uint8: RGB, or luminance (ITU-R 601-2,
 * as PIL's convert('L')) for one channel, bilinearly resized with half-pixel centres (edge pixels clamped).
 */
export function resizeInto(image: RgbaImage, channels: number, height: number, width: number, out: Uint8Array, offset: number): void {
  const { width: sw, height: sh, data } = image;
  const sy = sh / height;
  const sx = sw / width;
  const plane = height * width;
  const sample = (x: number, y: number, c: number) => {
    const i = (y * sw + x) * 4;
    if (channels === 3) return data[i + c];
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  };
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const top = sample(x0, y0, c) * (1 - wx) + sample(x1, y0, c) * wx;
        const bottom = sample(x0, y1, c) * (1 - wx) + sample(x1, y1, c) * wx;
        out[offset + c * plane + y * width + x] = Math.min(255, Math.max(0, Math.round(top * (1 - wy) + bottom * wy)));
      }
    }
  }
}

function listDir(dir: string): fs.Dirent[] {
  return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** DIR/train, or DIR/val (else DIR/test) for the test split; FILE_NOT_FOUND saying what is expected. */
export function imageFolderSplitDir(root: string, split: 'train' | 'test'): string {
  const layout = `expected ${path.join(root, 'train', 'CLASS', '*.jpg|png')} and ${path.join(root, 'val', 'CLASS', '…')} (or test/)`;
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new TorchnasError(`image folder ${root} not found: ${layout}`, 'FILE_NOT_FOUND');
  const names = split === 'train' ? ['train'] : ['val', 'test'];
  for (const name of names) {
    const dir = path.join(root, name);
    if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) return dir;
  }
  throw new TorchnasError(`image folder ${root} has no ${names.join('/')} folder: ${layout}`, 'FILE_NOT_FOUND');
}

/**
 * Loads one split of an image folder (see the file comment). FILE_NOT_FOUND for a missing folder, INVALID_ARGUMENT
 * for an empty one (no class folders, a training class without images, a test class the training split lacks),
 * FILE_CORRUPT naming an image that cannot be decoded.
 */
export async function loadImageFolder(root: string, split: 'train' | 'test', options: ImageFolderOptions): Promise<ImageFolderSplit> {
  const { channels, height, width } = options;
  if (channels !== 1 && channels !== 3) throw new TorchnasError(`image folders give 1 or 3 channels, the config asks for ${channels}`, 'CONFIG_INVALID');
  if (!(Number.isInteger(height) && Number.isInteger(width) && height >= 1 && width >= 1)) {
    throw new TorchnasError(`image size must be positive integers, got ${height}×${width}`, 'INVALID_ARGUMENT');
  }
  const dir = imageFolderSplitDir(root, split);
  const found = listDir(dir).filter((e) => e.isDirectory()).map((e) => e.name);
  if (found.length === 0) throw new TorchnasError(`${dir} holds no class folders (expected ${path.join(dir, 'CLASS', '*.jpg|png')})`, 'INVALID_ARGUMENT');
  const classes = options.classes ? [...options.classes] : found;
  if (classes.length > 256) throw new TorchnasError(`${dir}: ${classes.length} classes; at most 256 are supported`, 'INVALID_ARGUMENT');
  const unknown = found.filter((c) => !classes.includes(c));
  if (unknown.length > 0) {
    throw new TorchnasError(`${dir} has class folders the training split lacks: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`, 'INVALID_ARGUMENT');
  }
  const files: string[][] = classes.map((name) => {
    const classDir = path.join(dir, name);
    if (!found.includes(name)) return [];
    const list = listDir(classDir)
      .filter((e) => e.isFile() && EXTENSIONS.has(path.extname(e.name).toLowerCase()))
      .map((e) => path.join(classDir, e.name));
    if (list.length === 0 && !options.classes) throw new TorchnasError(`class folder ${classDir} holds no .jpg, .jpeg or .png images`, 'INVALID_ARGUMENT');
    return list;
  });
  // Round-robin over the classes (class 0's first image, class 1's first, …) so that a limit stays balanced.
  const order: { file: string; label: number }[] = [];
  const longest = Math.max(...files.map((f) => f.length));
  for (let k = 0; k < longest; k++) for (let c = 0; c < classes.length; c++) if (k < files[c].length) order.push({ file: files[c][k], label: c });
  if (order.length === 0) throw new TorchnasError(`${dir} holds no .jpg, .jpeg or .png images`, 'INVALID_ARGUMENT');
  const limit = options.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new TorchnasError(`limit must be an integer >= 1, got ${limit}`, 'INVALID_ARGUMENT');
  const count = Math.min(order.length, limit ?? order.length);
  const size = channels * height * width;
  const images = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const { file, label } = order[i];
    const bytes = await fs.promises.readFile(file);
    resizeInto(decodeImage(bytes, file), channels, height, width, images, i * size);
    labels[i] = label;
  }
  return { images, labels, count, channels, height, width, classes, dir };
}

/** 'folder:DIR' → DIR, else undefined. */
export function imageFolderOf(source: string): string | undefined {
  return source.startsWith('folder:') && source.length > 'folder:'.length ? source.slice('folder:'.length) : undefined;
}
