/** Devices, seeds, threads and versions: process-wide settings of the native core. */
import { native } from '../native';

/** A device as written by users: 'cpu', 'cuda' or 'cuda:N'. */
export type DeviceSpec = 'cpu' | 'cuda' | `cuda:${number}`;

export interface TorchnasInfo {
  torchnas: string;
  libtorch: string;
  cuda: boolean;
  cudaDeviceCount: number;
  devices: string[];
  threads: number;
  interopThreads: number;
  mkldnn: boolean;
  node: string;
  platform: string;
}

/** Versions, devices and threads (what `torchnas info` prints). */
export function info(): TorchnasInfo {
  const b = native();
  const r = b.info();
  const devices = ['cpu', ...Array.from({ length: r.cudaDeviceCount }, (_, i) => `cuda:${i}`)];
  return {
    torchnas: b.version,
    libtorch: r.torch,
    cuda: r.cuda,
    cudaDeviceCount: r.cudaDeviceCount,
    devices,
    threads: r.threads,
    interopThreads: r.interopThreads,
    mkldnn: r.mkldnn,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * Checks that a device exists and returns its canonical name ('cuda' → 'cuda:0').
 * Throws TorchnasError DEVICE_UNAVAILABLE (no CUDA / no such index) or INVALID_ARGUMENT (unknown name).
 */
export function resolveDevice(spec: string): string {
  return native().checkDevice(spec);
}

/** Seeds LibTorch's generators (CPU and CUDA). */
export function manualSeed(seed: number): void {
  native().setSeed(seed);
}

/** Sets LibTorch's intra-op thread count (Debian's build defaults to 1 here). */
export function setThreads(n: number): void {
  native().setThreads(n);
}

export function getThreads(): number {
  return native().getThreads();
}
