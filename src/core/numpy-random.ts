/**
 * numpy's legacy global RNG (`np.random.seed(s)` / `RandomState(s)`): MT19937 seeded with init_genrand,
 * and the legacy `permutation(n)`. Reference code seeds numpy and lets sklearn's `train_test_split`
 * shuffle with it; this reproduces those splits exactly without Python (ncp.md §5.1).
 */
import { TorchnasError } from './errors';

const N = 624;
const M = 397;

/** The 32-bit Mersenne Twister, as numpy's legacy seeding (`mt19937_seed`, i.e. init_genrand) sets it up. */
export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new TorchnasError(`numpy seeds are integers in [0, 2^32), got ${seed}`, 'INVALID_ARGUMENT');
    }
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** genrand_int32: the next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** numpy's legacy `random_interval(max)`: uniform in [0, max] by masked rejection (max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do {
      value = (this.nextUint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  /** `RandomState.permutation(n)`: Fisher–Yates from the end with legacy interval draws. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new TorchnasError(`permutation size must be a non-negative integer, got ${n}`, 'INVALID_ARGUMENT');
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}

/**
 * sklearn's `train_test_split(range(n), test_size)` drawing from numpy's global RNG right after
 * `np.random.seed(seed)`: test = the first ceil(test_size·n) indices of the permutation, train = the rest,
 * both in permutation order.
 */
export function trainTestSplit(n: number, testSize: number, seed: number): { train: Int32Array; test: Int32Array } {
  if (!(testSize > 0 && testSize < 1)) throw new TorchnasError(`test size must lie in (0, 1), got ${testSize}`, 'INVALID_ARGUMENT');
  const nTest = Math.ceil(testSize * n);
  if (nTest < 1 || nTest >= n) throw new TorchnasError(`cannot split ${n} records with test size ${testSize}`, 'INVALID_ARGUMENT');
  const permutation = new MT19937(seed).permutation(n);
  return { test: permutation.slice(0, nTest), train: permutation.slice(nTest) };
}
