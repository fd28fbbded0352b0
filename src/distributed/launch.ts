/**
 * `torchnas launch`: starts the worker processes of a data-parallel run on this node, as torchrun does, with
 * torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
 * TORCHELASTIC_RESTART_COUNT), so the processes find each other through c10d's TCPStore at the master address.
 *
 * - Every line a worker prints is prefixed with its rank (`[rank 1] …`), stdout to stdout and stderr to stderr.
 * - When one worker fails (non-zero exit or a signal), the others are stopped (SIGTERM, then SIGKILL after a grace
 *   period) and the launch fails with that rank's exit code and the last lines of its stderr; with
 *   `maxRestarts` > 0 the whole group is started again instead (TORCHELASTIC_RESTART_COUNT counts the restarts; a
 *   command that writes checkpoints resumes from them).
 * - Ctrl-C (SIGINT) is passed on to every worker; a second one kills them. No worker outlives the launch when it
 *   ends normally, fails or is interrupted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { TorchnasError } from '../core/errors';

export interface LaunchOptions {
  /** Worker processes on this node. */
  nprocPerNode: number;
  /** Nodes in the run (default 1). */
  nnodes?: number;
  /** This node's index, 0 … nnodes − 1 (default 0). */
  nodeRank?: number;
  /** Where rank 0's TCPStore listens (default 127.0.0.1). */
  masterAddr?: string;
  /** Its port (default 29500). */
  masterPort?: number;
  /** How often the group may be restarted after a failure (default 0). */
  maxRestarts?: number;
  /** The command each worker runs: the executable and its arguments. */
  command: readonly string[];
  /** Extra environment for the workers (on top of this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where prefixed output goes (default this process's stdout / stderr). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Aborting stops the workers (SIGINT, then SIGKILL after the grace period). */
  signal?: AbortSignal;
  /** Time the workers get to exit after SIGTERM/SIGINT before SIGKILL (ms, default 5000). */
  graceMs?: number;
}

export interface LaunchResult {
  /** 0 when every worker of the last attempt exited 0; else the failing rank's exit code (1 for a signal). */
  exitCode: number;
  restarts: number;
  /** The first failure of the last attempt, if any. */
  failure?: { rank: number; code: number | null; signal: NodeJS.Signals | null; stderrTail: string };
  interrupted: boolean;
}

function checkInt(v: number | undefined, name: string, min: number, fallback: number): number {
  const value = v ?? fallback;
  if (!Number.isInteger(value) || value < min) throw new TorchnasError(`launch: ${name} must be an integer >= ${min}, got ${v}`, 'INVALID_ARGUMENT');
  return value;
}

/** Starts the workers and waits for them (restarting the group up to maxRestarts times after a failure). */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const nproc = checkInt(options.nprocPerNode, 'nproc-per-node', 1, 1);
  const nnodes = checkInt(options.nnodes, 'nnodes', 1, 1);
  const nodeRank = checkInt(options.nodeRank, 'node-rank', 0, 0);
  if (nodeRank >= nnodes) throw new TorchnasError(`launch: node-rank ${nodeRank} must be below nnodes ${nnodes}`, 'INVALID_ARGUMENT');
  const masterPort = checkInt(options.masterPort, 'master-port', 1, 29500);
  if (masterPort > 65535) throw new TorchnasError(`launch: master-port must be at most 65535, got ${masterPort}`, 'INVALID_ARGUMENT');
  const maxRestarts = checkInt(options.maxRestarts, 'max-restarts', 0, 0);
  if (!options.command.length) throw new TorchnasError('launch: no command to run (put it after --)', 'INVALID_ARGUMENT');
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const out = options.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = options.stderr ?? ((s: string) => void process.stderr.write(s));
  const grace = options.graceMs ?? 5000;

  let restarts = 0;
  for (;;) {
    const attempt = await runGroup({ nproc, nnodes, nodeRank, masterAddr, masterPort, restarts, command: options.command, env: options.env, out, err, signal: options.signal, grace });
    if (!attempt.failure || attempt.interrupted || restarts >= maxRestarts) {
      return { exitCode: attempt.failure ? (attempt.failure.code && attempt.failure.code > 0 ? attempt.failure.code : 1) : attempt.interrupted ? 130 : 0, restarts, failure: attempt.failure, interrupted: attempt.interrupted };
    }
    restarts++;
    err(`[launch] rank ${attempt.failure.rank} failed (${describeExit(attempt.failure)}); restarting the group (${restarts}/${maxRestarts})\n`);
  }
}

function describeExit(f: { code: number | null; signal: NodeJS.Signals | null }): string {
  return f.signal ? `killed by ${f.signal}` : `exit code ${f.code}`;
}

interface GroupSpec {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  restarts: number;
  command: readonly string[];
  env?: NodeJS.ProcessEnv;
  out: (s: string) => void;
  err: (s: string) => void;
  signal?: AbortSignal;
  grace: number;
}

/** Writes complete lines with a prefix; keeps a partial last line until more arrives or the stream ends. */
function prefixer(prefix: string, write: (s: string) => void) {
  let pending = '';
  return {
    push(chunk: Buffer | string) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.length) write(lines.map((l) => `${prefix}${l}\n`).join(''));
    },
    end() {
      if (pending) write(`${prefix}${pending}\n`);
      pending = '';
    },
  };
}

async function runGroup(g: GroupSpec): Promise<{ failure?: LaunchResult['failure']; interrupted: boolean }> {
  const world = g.nproc * g.nnodes;
  const children: { rank: number; child: ChildProcess; stderrTail: string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }[] = [];
  let failure: LaunchResult['failure'];
  let interrupted = false;
  let stopping = false;
  const killTimers: NodeJS.Timeout[] = [];

  const stopAll = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(signal);
    killTimers.push(
      setTimeout(() => {
        for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      }, g.grace),
    );
  };
  const onSigint = () => {
    interrupted = true;
    if (stopping) {
      for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
      return;
    }
    stopping = true;
    g.err('[launch] interrupted: stopping the workers (Ctrl-C again to kill them)\n');
    stopAll('SIGINT');
  };
  const onAbort = () => onSigint();
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  g.signal?.addEventListener('abort', onAbort);

  try {
    for (let local = 0; local < g.nproc; local++) {
      const rank = g.nodeRank * g.nproc + local;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...g.env,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(g.nproc),
        GROUP_RANK: String(g.nodeRank),
        MASTER_ADDR: g.masterAddr,
        MASTER_PORT: String(g.masterPort),
        TORCHELASTIC_RESTART_COUNT: String(g.restarts),
      };
      const child = spawn(g.command[0], g.command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const entry = { rank, child, stderrTail: '', exited: undefined as unknown as Promise<{ code: number | null; signal: NodeJS.Signals | null }> };
      const o = prefixer(`[rank ${rank}] `, g.out);
      const e = prefixer(`[rank ${rank}] `, g.err);
      child.stdout!.on('data', (d: Buffer) => o.push(d));
      child.stderr!.on('data', (d: Buffer) => {
        entry.stderrTail = (entry.stderrTail + d.toString()).slice(-4000);
        e.push(d);
      });
      entry.exited = new Promise((resolve) => {
        child.once('error', (error) => {
          entry.stderrTail += `cannot start ${g.command[0]}: ${error.message}`;
          resolve({ code: 127, signal: null });
        });
        child.once('close', (code, signal) => {
          o.end();
          e.end();
          resolve({ code, signal });
        });
      });
      void entry.exited.then((r) => {
        if ((r.code !== 0 || r.signal) && !failure && !interrupted) {
          failure = { rank, code: r.code, signal: r.signal, stderrTail: lastLines(entry.stderrTail, 20) };
          g.err(`[launch] rank ${rank} failed (${describeExit(r)}): stopping the other workers\n`);
          stopping = true;
          stopAll('SIGTERM');
        }
      });
      children.push(entry);
    }
    await Promise.all(children.map((c) => c.exited));
    return { failure, interrupted };
  } finally {
    for (const t of killTimers) clearTimeout(t);
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
    g.signal?.removeEventListener('abort', onAbort);
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
}

/** The distributed environment a launched worker sees (torchrun's names); undefined when not launched. */
export interface LaunchEnvironment {
  rank: number;
  localRank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  restartCount: number;
}

/** Reads RANK, WORLD_SIZE, … (set by `torchnas launch` or torchrun); undefined when WORLD_SIZE is not set. */
export function launchEnvironment(env: NodeJS.ProcessEnv = process.env): LaunchEnvironment | undefined {
  if (env.WORLD_SIZE === undefined) return undefined;
  const int = (name: string, fallback?: number) => {
    const text = env[name];
    if (text === undefined && fallback !== undefined) return fallback;
    const v = Number(text);
    if (text === undefined || !Number.isInteger(v) || v < 0) throw new TorchnasError(`distributed environment: ${name} must be a non-negative integer, got ${text === undefined ? 'nothing' : `'${text}'`}`, 'INVALID_ARGUMENT');
    return v;
  };
  const worldSize = int('WORLD_SIZE');
  const rank = int('RANK');
  if (worldSize < 1 || rank >= worldSize) throw new TorchnasError(`distributed environment: RANK ${rank} must be below WORLD_SIZE ${worldSize}`, 'INVALID_ARGUMENT');
  return {
    rank,
    localRank: int('LOCAL_RANK', rank),
    worldSize,
    masterAddr: env.MASTER_ADDR ?? '127.0.0.1',
    masterPort: int('MASTER_PORT', 29500),
    restartCount: int('TORCHELASTIC_RESTART_COUNT', 0),
  };
}

/**
 * Where a restarted group resumes: under `torchnas launch --max-restarts` (TORCHELASTIC_RESTART_COUNT > 0), a
 * command given `--out DIR` and no `--resume` continues from DIR when DIR holds a checkpoint (the last one rank 0
 * wrote before the failure); undefined otherwise (a first start, or a failure before the first checkpoint, starts over).
 */
export function restartResumeDir(out: string | undefined, resume: string | undefined, checkpointFile: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (resume !== undefined || out === undefined) return resume;
  const launched = launchEnvironment(env);
  if (!launched || launched.restartCount === 0) return undefined;
  return fs.existsSync(path.join(out, checkpointFile)) ? out : undefined;
}

/** True in a launched worker other than rank 0 (which alone writes results, checkpoints and run records). */
export function isSecondaryRank(env: NodeJS.ProcessEnv = process.env): boolean {
  const launched = launchEnvironment(env);
  return launched !== undefined && launched.rank > 0;
}
