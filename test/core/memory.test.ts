import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

test('10^4 tensors without dispose() leave RSS roughly flat after GC', () => {
  const script = path.join(__dirname, '..', 'fixtures', 'alloc-rss.js');
  const out = execFileSync(process.execPath, ['--expose-gc', script, '10000', '16384'], { encoding: 'utf8' });
  const { before, after, allocatedMiB } = JSON.parse(out) as { before: number; after: number; allocatedMiB: number };
  // 10^4 × 64 KiB = 625 MiB allocated in all; a leak would show most of it.
  expect(allocatedMiB).toBeCloseTo(625, 0);
  expect(after - before).toBeLessThan(60);
});
