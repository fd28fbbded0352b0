/**
 * Data-parallel runs on c10d (the native Distributed, core/distributed/process_group.h): joining the group a
 * `torchnas launch` (or torchrun) set up, and sharding a dataset by rank.
 *
 * What holds across world sizes: every rank starts from rank 0's weights (broadcastState), averages its gradients
 * with the others every step, and so applies the same update; a step on W ranks with per-rank batch B equals a step
 * on one process with batch W·B made of the same images (exactly so for networks without BatchNorm; with BatchNorm
 * the batch statistics are per rank, as in PyTorch's DDP). The shards of an epoch are disjoint and seeded, so a run is
 * reproducible for a given world size; different world sizes see the images in different batches.
 */
import { TorchnasError } from '../core/errors';
import { tensor } from '../core/tensor';
import { Random } from '../core/random';
import { native, NativeDistributed } from '../native';
import { resolveDevice } from '../core/device';
import { launchEnvironment, LaunchEnvironment } from './launch';

/**
 * Joins the process group described by `env` (default: RANK, WORLD_SIZE, … of this process); undefined when not
 * launched or a world of one. `device` is the run's device: on CUDA the collectives use NCCL where the addon has it
 * (else Gloo through CPU copies); `backend` ('gloo' | 'nccl', default from TORCHNAS_DIST_BACKEND, else by device)
 * overrides that choice.
 */
export async function joinProcessGroup(
  env: LaunchEnvironment | undefined = launchEnvironment(),
  options: { timeoutMs?: number; device?: string; backend?: string } = {},
): Promise<NativeDistributed | undefined> {
  if (!env || env.worldSize === 1) return undefined;
  const b = native();
  if (!b.Distributed.available) {
    throw new TorchnasError(
      'this torchnas build has no c10d process groups (its LibTorch lacks the c10d/Gloo headers and has no CUDA with NCCL; Debian: apt-get install libgloo-dev, then rebuild)',
      'DISTRIBUTED_UNAVAILABLE',
    );
  }
  const device = resolveDevice(options.device ?? 'cpu');
  const backend = options.backend ?? (process.env.TORCHNAS_DIST_BACKEND || undefined);
  const nccl = backend === 'nccl' || (backend === undefined && device.startsWith('cuda') && b.Distributed.backends.includes('nccl'));
  const perHost = Number(process.env.LOCAL_WORLD_SIZE);
  const gpus = b.info().cudaDeviceCount;
  if (nccl && Number.isInteger(perHost) && perHost > gpus) {
    // NCCL refuses two ranks on one GPU (at its first collective, after everyone has loaded the data): say so up front.
    throw new TorchnasError(
      `NCCL needs a GPU per rank: ${perHost} ranks on this host but ${gpus} GPU${gpus === 1 ? '' : 's'}; launch at most ${gpus} per host` +
        (b.Distributed.backends.includes('gloo') ? ', or set TORCHNAS_DIST_BACKEND=gloo' : ''),
      'INVALID_ARGUMENT',
    );
  }
  return b.Distributed.connect({ rank: env.rank, worldSize: env.worldSize, masterAddr: env.masterAddr, masterPort: env.masterPort, timeoutMs: options.timeoutMs, device, backend });
}

/**
 * This rank's share of `count` items for one epoch, like PyTorch's DistributedSampler without padding: a permutation
 * seeded by `seed` (the same on every rank), cut into `worldSize` disjoint shards of floor(count / worldSize) items
 * (the remainder is left out, so every rank runs the same number of steps — a collective per step needs that).
 */
export function shardIndices(count: number, rank: number, worldSize: number, seed: number): Int32Array {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new TorchnasError(`world size must be an integer >= 1, got ${worldSize}`, 'INVALID_ARGUMENT');
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new TorchnasError(`rank must be in 0..${worldSize - 1}, got ${rank}`, 'INVALID_ARGUMENT');
  const per = Math.floor(count / worldSize);
  if (per < 1) throw new TorchnasError(`${count} item(s) cannot be shared by ${worldSize} ranks`, 'INVALID_ARGUMENT');
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const random = new Random(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(0, i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(rank * per, (rank + 1) * per);
}

/** Rows `indices` of a row-major array whose rows hold `rowLength` elements each. */
export function takeRows<T extends Uint8Array | Float32Array | Int32Array>(data: T, rowLength: number, indices: ArrayLike<number>): T {
  const out = new (data.constructor as new (n: number) => T)(indices.length * rowLength);
  for (let k = 0; k < indices.length; k++) out.set(data.subarray(indices[k] * rowLength, (indices[k] + 1) * rowLength), k * rowLength);
  return out;
}

/** Element-wise sums of `values` over the ranks, in float64 (a collective: every rank calls it with as many values). */
export async function sumOverRanks(dist: NativeDistributed, values: number[]): Promise<number[]> {
  using local = tensor(Float64Array.from(values), [values.length]);
  using total = await dist.allReduce(local);
  return Array.from(total.toArray() as Float64Array);
}
