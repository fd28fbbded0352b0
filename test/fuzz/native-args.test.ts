/**
 * Wrong-typed arguments to every function, constructor, method and getter of the raw binding: the process
 * survives and every failure is a TorchnasError (or the very error a caller's getter threw). Seeded
 * (TORCHNAS_FUZZ_SEED), TORCHNAS_FUZZ_COUNT calls (small by default; `npm run fuzz:native` runs 10^5), one
 * child process per batch so a crash fails this test naming the call.
 */
import * as path from 'node:path';
import { fuzzCount, fuzzSeed, runFuzzChild } from './run-child';

/**
 * Calls that still crash or throw something other than a TorchnasError: target name → what happens.
 * Empty: every bound function and getter checks its arguments and `this`. Add an entry only with the
 * defect's description; a target listed here that no longer fails is reported below so it can be removed.
 */
export const KNOWN_NATIVE_ARG_FAILURES: Record<string, string> = {};

const CHILD = path.join(__dirname, 'child', 'native-args.js');

const COUNT = fuzzCount(800);

test('wrong-typed arguments never crash the process and fail as TorchnasError', () => {
  const seed = fuzzSeed(20261202);
  const count = COUNT;
  const known = (target: string) => target in KNOWN_NATIVE_ARG_FAILURES;
  const report = runFuzzChild(CHILD, seed, count, 5000, known);

  const unexpected = [...report.crashes, ...report.violations].filter((v) => !known(v.target));
  const seen = new Set([...report.crashes, ...report.violations].map((v) => v.target));
  const fixed = Object.keys(KNOWN_NATIVE_ARG_FAILURES).filter((t) => !seen.has(t));
  // The summary `npm run fuzz:native` reports.
  console.log(
    `native-args fuzz: seed ${seed}, ${count} calls over ${report.targets.length} targets\n` +
      Object.entries(report.outcomes).map(([k, v]) => `  ${k}: ${v}`).join('\n') +
      (fixed.length ? `\n  known failures not seen in this run (remove them if fixed): ${fixed.join(', ')}` : '') +
      (seen.size ? `\n  failing targets: ${[...seen].sort().join(', ')}` : ''),
  );
  expect(unexpected.map((v) => `${v.call} -> ${v.error}`)).toEqual([]);

  // The run reached the whole surface and the checks answered with codes.
  for (const t of ['new Tensor', 'saveTensors', 'loadTensors', 'oneCycleSchedule', 'setThreads', 'Tensor#toArray()', 'Tensor#shape']) {
    expect(report.targets).toContain(t);
  }
  if (count >= 400) {
    expect(report.outcomes['TorchnasError INVALID_ARGUMENT']).toBeGreaterThan(count / 10);
  }
}, 60_000 + COUNT * 20);
