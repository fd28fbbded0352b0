/**
 * Mutated tensor and module files (flipped, inserted, deleted, truncated bytes; seeded): every load ends
 * in a result or FILE_CORRUPT and never kills the process. Files are written by the addon itself, sealed
 * and without the trailer (older torchnas, torch::save). TORCHNAS_FUZZ_COUNT files (small by default;
 * `npm run fuzz:native` loads 10^4), one child process per batch so a signal fails the test with the seed.
 */
import * as path from 'node:path';
import { fuzzCount, fuzzSeed, runFuzzChild } from './run-child';

const CHILD = path.join(__dirname, 'child', 'tensor-files.js');

const COUNT = fuzzCount(400);

test('mutated tensor and module files load or are FILE_CORRUPT, never crash', () => {
  const seed = fuzzSeed(7);
  const count = COUNT;
  const report = runFuzzChild(CHILD, seed, count, 2500, () => false);
  console.log(
    `tensor-files fuzz: seed ${seed}, ${count} mutated files\n` +
      Object.entries(report.outcomes).sort().map(([k, v]) => `  ${k}: ${v}`).join('\n'),
  );
  expect([...report.crashes, ...report.violations].map((v) => `${v.call} -> ${v.error}`)).toEqual([]);
  // Damage to a sealed file's payload is always caught by the checksum.
  expect(report.outcomes['tensors (sealed) -> FILE_CORRUPT']).toBeGreaterThan(count / 8);
  expect(report.outcomes['module (sealed) -> FILE_CORRUPT']).toBeGreaterThan(count / 8);
}, 60_000 + COUNT * 60);
