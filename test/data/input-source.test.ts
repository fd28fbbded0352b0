/**
 * Forked input streams (InputSource.fork): a fork's draws depend only on the source's seed and the key, never on
 * what was drawn before — the property that lets a correlation study score architectures in any order, anywhere.
 */
import { forkSeed, openInputSource } from '../../src/data/input-source';

const values = (t: { toArray(): ArrayLike<unknown>; dispose(): void }) => {
  const v = Array.from(t.toArray() as ArrayLike<number>);
  t.dispose();
  return v;
};

test.each(['random', 'fashion-mnist'] as const)('%s: fork(k) draws the same whatever came before; other keys and seeds differ', async (spec) => {
  if (spec === 'fashion-mnist' && !require('node:fs').existsSync('/usr/share/datasets/fashion-mnist') && !process.env.TORCHNAS_FASHION_MNIST) return;
  const a = await openInputSource(spec, 5);
  const first = values(a.fork(3).ntkBatch(2));
  const b = await openInputSource(spec, 5);
  values(b.ntkBatch(4)); // draws on the parent do not move its forks
  values(b.fork(1).patches(10, 3));
  expect(values(b.fork(3).ntkBatch(2))).toEqual(first);
  expect(values(b.fork(4).ntkBatch(2))).not.toEqual(first);
  expect(values((await openInputSource(spec, 6)).fork(3).ntkBatch(2))).not.toEqual(first);
});

test('fork seeds are 32-bit, spread, and refuse non-integer keys', () => {
  const seeds = new Set<number>();
  for (let s = 0; s < 20; s++) for (let k = 0; k < 50; k++) seeds.add(forkSeed(s, k));
  expect(seeds.size).toBe(1000);
  for (const v of seeds) expect(v >>> 0).toBe(v);
  expect(() => forkSeed(1, 1.5)).toThrow(/key must be an integer/);
});
