/** Devices, seeds, threads and versions: process-wide settings of the native core. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonPath, native } from '../native';
import type { CpuCacheStats, OpenBlasInfo } from '../native';

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
  /** The GEMM behind the NAR ranker's linears (native/core/ops/gemm.h): 'onednn' or 'aten'. */
  sgemm: 'onednn' | 'aten';
  /** c10d backends built into the addon ('gloo', 'nccl'); empty: data parallelism unavailable. */
  distributed: string[];
  node: string;
  platform: string;
  /** Absolute path of the loaded addon file (a local build or a shipped prebuild). */
  addon: string;
  /**
   * BLAS/LAPACK and OpenMP shared libraries mapped into this process (Linux: read from /proc/self/maps, with
   * symlinks resolved, so `libblas.so.3` shows the library the alternatives system points at). Empty elsewhere.
   */
  blas: string[];
  openmp: string[];
  /** OpenBLAS's own report (build, threading model, threads) when it is the BLAS in use; null otherwise. */
  openblas: OpenBlasInfo | null;
  /**
   * Kernel choices timed on this machine (where two exact kernels exist, e.g. a conv's input gradient on
   * the NTK's batched path): the cache file and how many choices it holds.
   */
  kernelChoices: { file: string; count: number };
  /** The caching CPU allocator's state (see `native().cpuCache`): bound, idle and live bytes, hits and misses. */
  cpuCache: CpuCacheStats;
}

/** Shared libraries mapped into this process whose file names match `pattern` (Linux only; [] elsewhere). */
export function mappedLibraries(pattern: RegExp): string[] {
  let maps: string;
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return [];
  }
  const found = new Set<string>();
  for (const line of maps.split('\n')) {
    const at = line.indexOf('/');
    if (at < 0) continue;
    const file = line.slice(at).trim();
    if (!/\.so(\.|$)/.test(file) || !pattern.test(path.basename(file))) continue;
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      // a deleted or unreadable file: report the mapped name
    }
    found.add(real);
  }
  return [...found].sort();
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
    sgemm: r.sgemm,
    distributed: [...b.Distributed.backends],
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    addon: addonPath() ?? '',
    blas: mappedLibraries(/blas|lapack|mkl_(rt|core|intel)|libflexiblas/i),
    openmp: mappedLibraries(/^lib(g|i)?omp/i),
    openblas: r.openblas,
    kernelChoices: (() => {
      const k = b.kernelChoices();
      return { file: k.file, count: k.choices.length };
    })(),
    cpuCache: b.cpuCache(),
  };
}

/**
 * Checks that a device exists and returns its canonical name ('cuda' → 'cuda:0').
 * In a worker of `torchnas launch` (or torchrun: LOCAL_RANK set, WORLD_SIZE > 1) a bare 'cuda' means this worker's
 * own GPU, cuda:(LOCAL_RANK mod the GPUs visible), as a torchrun script's `torch.cuda.set_device(local_rank)` does;
 * 'cuda:N' is taken as written.
 * Throws TorchnasError DEVICE_UNAVAILABLE (no CUDA / no such index) or INVALID_ARGUMENT (unknown name).
 */
export function resolveDevice(spec: string): string {
  const b = native();
  const local = Number(process.env.LOCAL_RANK);
  const world = Number(process.env.WORLD_SIZE);
  if (spec === 'cuda' && Number.isInteger(local) && local >= 0 && world > 1) {
    const count = b.info().cudaDeviceCount;
    if (count > 0) return b.checkDevice(`cuda:${local % count}`);
  }
  return b.checkDevice(spec);
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
