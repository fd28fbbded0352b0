import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../src/cli';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Runs the CLI in this process, capturing stdout and stderr. */
export async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * Compiles src/ with the project's tsconfig into ROOT/<folder> (default build-cli-test; ignored by git; a direct
 * child of the root, so the compiled package finds build/Release, configs/ and data/ as dist/ does) and returns
 * the CLI's path. Test files that run at the same time use different folders.
 */
export function compileCli(folder = 'build-cli-test'): string {
  const outDir = path.join(ROOT, folder);
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: ROOT, stdio: 'pipe' });
  return path.join(outDir, 'cli', 'index.js');
}

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the first stderr text matching `pattern`. */
  waitForStderr(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code (signal deaths give null) and the whole stderr. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Spawns `node cli argv…` with piped output. */
export function spawnCli(cli: string, argv: string[]): ChildRun {
  const child = spawn(process.execPath, [cli, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (s: string) => void }[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(stderr);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  });
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    exit,
    waitForStderr: (pattern) =>
      new Promise((resolve, reject) => {
        const m = pattern.exec(stderr);
        if (m) return resolve(m[0]);
        waiters.push({ pattern, resolve });
        void exit.then(() => reject(new Error(`the CLI exited before printing ${pattern}; stderr:\n${stderr}`)));
      }),
  };
}
