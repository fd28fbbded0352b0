/**
 * Runs a fuzz child script (test/fuzz/child/*.js) over calls [0, count) in batches, one child process
 * per batch, so a crash (a signal, an abort) becomes a reported failure naming the call instead of
 * killing jest. A crash on a call whose target is in `known` is recorded and the batch resumes after it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Violation {
  index: number;
  target: string;
  call: string;
  error: string;
}

export interface FuzzReport {
  outcomes: Record<string, number>;
  violations: Violation[];
  /** Crashes: the call running when the child died, and how it died. */
  crashes: Violation[];
  targets: string[];
}

/** TORCHNAS_FUZZ_COUNT, or `fallback`. */
export function fuzzCount(fallback: number): number {
  const n = Number(process.env.TORCHNAS_FUZZ_COUNT ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TORCHNAS_FUZZ_COUNT must be a positive integer, got ${process.env.TORCHNAS_FUZZ_COUNT}`);
  return n;
}

export function fuzzSeed(fallback: number): number {
  return Number(process.env.TORCHNAS_FUZZ_SEED ?? fallback) >>> 0;
}

/** `isKnown(target)`: a crash there is recorded and the run goes on after it. */
export function runFuzzChild(
  script: string,
  seed: number,
  count: number,
  batch: number,
  isKnown: (target: string) => boolean,
): FuzzReport {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-fuzz-run-'));
  const report: FuzzReport = { outcomes: {}, violations: [], crashes: [], targets: [] };
  try {
    let start = 0;
    let run = 0;
    while (start < count) {
      const end = Math.min(count, start + batch);
      const progress = path.join(dir, `progress-${run}.txt`);
      const result = path.join(dir, `result-${run++}.json`);
      const child = spawnSync(process.execPath, [script, String(seed), String(start), String(end), progress, result], {
        encoding: 'utf8',
        env: process.env,
        timeout: 600_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (child.status === 0 && fs.existsSync(result)) {
        const r = JSON.parse(fs.readFileSync(result, 'utf8')) as Omit<FuzzReport, 'crashes'>;
        for (const [k, v] of Object.entries(r.outcomes)) report.outcomes[k] = (report.outcomes[k] ?? 0) + v;
        report.violations.push(...r.violations);
        report.targets = r.targets;
        start = end;
        continue;
      }
      const lines = fs.existsSync(progress) ? fs.readFileSync(progress, 'utf8').trim().split('\n') : [];
      const last = lines[lines.length - 1] ?? '';
      // "<index>\t<target>\t<call>"
      const [indexText, target = '?', call = last] = last.split('\t');
      const index = Number(indexText);
      const how = child.signal ? `killed by ${child.signal}` : child.error ? String(child.error) : `exit status ${child.status}`;
      const stderr = (child.stderr ?? '').trim().split('\n').slice(-6).join('\n');
      const crash: Violation = { index, target, call, error: `${how}; seed ${seed}, call ${index}\n${stderr}` };
      report.crashes.push(crash);
      report.outcomes[`crash (${how})`] = (report.outcomes[`crash (${how})`] ?? 0) + 1;
      // Calls before the crash ran but their outcomes died with the child: resume after the crash when it is a
      // known failure, else stop here (the test fails and names the call).
      if (!Number.isInteger(index) || !isKnown(crash.target)) break;
      start = index + 1;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
