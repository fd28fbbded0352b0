import * as fs from 'node:fs';
import * as path from 'node:path';

/** ../shared beside the project (CI has it; data there is never committed). */
export const SHARED_DIR = process.env.TORCHNAS_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared');
export const BENCHMARKS_DIR = path.join(SHARED_DIR, 'benchmarks');

export function sharedFile(...parts: string[]): string {
  const p = path.join(BENCHMARKS_DIR, ...parts);
  if (!fs.existsSync(p)) throw new Error(`test data missing: ${p} (tests read ../shared/benchmarks, present in CI)`);
  return p;
}
