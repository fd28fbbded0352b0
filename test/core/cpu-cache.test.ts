import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { CpuCacheStats as Stats } from '../../src/native';

// The caching CPU allocator (native/core/cpu_allocator.h), each case in a process of its own so the environment
// variables read at load time apply.
interface Run {
  start: Stats;
  roundTrips: boolean[];
  afterRoundTrips: Stats;
  bound: Stats;
  afterBound: Stats;
  emptied: Stats;
  losses: number[];
  scores: number[];
  end: Stats;
}

function run(env: Record<string, string>): Run {
  const script = path.join(__dirname, '..', 'fixtures', 'cpu-cache.js');
  const childEnv = { ...process.env };
  delete childEnv.TORCHNAS_CPU_ALLOCATOR;
  delete childEnv.TORCHNAS_CPU_CACHE_MB;
  Object.assign(childEnv, env);
  return JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8', env: childEnv })) as Run;
}

const MiB = 1 << 20;

describe('caching CPU allocator', () => {
  let cached: Run;
  let system: Run;
  beforeAll(() => {
    cached = run({ TORCHNAS_CPU_CACHE_MB: '512' });
    system = run({ TORCHNAS_CPU_ALLOCATOR: 'system' });
  }, 120000);

  test('freed 8 MiB buffers are reused, not reallocated, and keep their new contents', () => {
    expect(cached.start.installed).toBe(true);
    expect(cached.start.limitBytes).toBe(512 * MiB);
    expect(cached.roundTrips).toEqual([true, true, true, true, true]);
    // The first round trip allocates (tensor + at most a copy); the next four reuse those blocks.
    expect(cached.afterRoundTrips.hits - cached.start.hits).toBeGreaterThanOrEqual(4);
    expect(cached.afterRoundTrips.misses - cached.start.misses).toBeLessThanOrEqual(2);
    expect(cached.afterRoundTrips.cachedBytes).toBeGreaterThanOrEqual(8 * MiB);
  });

  test('idle memory stays within the bound, and empty releases it all', () => {
    expect(cached.bound.limitBytes).toBe(16 * MiB);
    expect(cached.bound.cachedBytes).toBeLessThanOrEqual(16 * MiB);
    expect(cached.afterBound.cachedBytes).toBeLessThanOrEqual(16 * MiB);
    expect(cached.afterBound.cachedBytes).toBeGreaterThanOrEqual(8 * MiB);
    expect(cached.emptied.releasedBytes).toBe(cached.afterBound.cachedBytes);
    expect(cached.emptied.cachedBytes).toBe(0);
  });

  test('training and scoring give the same numbers with the cache as with LibTorch’s own allocator', () => {
    expect(system.start.installed).toBe(false);
    expect(system.end.hits + system.end.misses).toBe(0);
    expect(cached.end.hits).toBeGreaterThan(0);
    expect(cached.losses).toHaveLength(2);
    expect(cached.losses).toEqual(system.losses);
    expect(cached.scores).toHaveLength(256);
    expect(cached.scores).toEqual(system.scores);
  });
});
