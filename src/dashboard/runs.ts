/**
 * The runs under the dashboard's folder: every folder (down to a few levels) holding a result.json (the shared
 * envelope) or an events.jsonl (the run record). Everything read goes through {@link RunsFolder.resolve}, which
 * refuses any path whose real location (symlinks followed) is outside the folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';
import type { ResultEnvelope } from '../report/envelope';
import { EVENTS_FILE, parseEvents, RunEvent, StartEvent } from '../report/events';

/** How deep below the runs folder run folders are looked for (runs/tenas/seed-1 is depth 2). */
const MAX_DEPTH = 4;
const RESULT_FILE = 'result.json';

export type DashboardStatus = 'running' | 'completed' | 'interrupted' | 'failed' | 'stopped' | 'unknown';

export interface RunSummary {
  /** The run folder relative to the runs folder, '/'-separated ('.' for the folder itself). */
  id: string;
  method: string;
  /** A short description of the config. */
  config: string;
  seed: number | null;
  status: DashboardStatus;
  startedAt: string | null;
  wallSeconds: number | null;
  /** The method's headline result (filled in by the method's registration, else the last progress fields). */
  headline: string;
  /** Progress events recorded so far. */
  events: number;
}

export interface RunData {
  id: string;
  envelope: ResultEnvelope | null;
  events: RunEvent[];
  status: DashboardStatus;
  method: string;
}

/** The folder the dashboard serves, with the only way to turn a request path into a file. */
export class RunsFolder {
  readonly root: string;

  constructor(dir: string) {
    const resolved = path.resolve(dir);
    if (!fs.existsSync(resolved) || !fs.statSync(resolved).isDirectory()) throw new TorchnasError(`--runs ${dir}: no such folder`, 'FILE_NOT_FOUND');
    this.root = fs.realpathSync(resolved);
  }

  /**
   * The real path of `relative` (already URL-decoded) if it exists and lies inside the folder; undefined otherwise
   * (absolute paths, '..' segments, NUL bytes and symlinks leading out are all refused).
   */
  resolve(relative: string): string | undefined {
    if (relative.includes('\0') || path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative)) return undefined;
    const parts = relative.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..')) return undefined;
    const candidate = path.join(this.root, ...parts);
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      return undefined;
    }
    return real === this.root || real.startsWith(this.root + path.sep) ? real : undefined;
  }

  /** The run folders, by id, sorted. */
  list(): string[] {
    const found: string[] = [];
    const walk = (dir: string, rel: string, depth: number) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (entries.some((e) => e.isFile() && (e.name === RESULT_FILE || e.name === EVENTS_FILE))) found.push(rel === '' ? '.' : rel);
      if (depth >= MAX_DEPTH) return;
      for (const e of entries) {
        // symlinked folders are not followed: what they point at may lie outside the runs folder
        if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'node_modules') continue;
        walk(path.join(dir, e.name), rel === '' ? e.name : `${rel}/${e.name}`, depth + 1);
      }
    };
    walk(this.root, '', 0);
    return found.sort();
  }

  /** Reads one run (undefined when `id` is not a run folder inside the root). */
  read(id: string): RunData | undefined {
    const dir = this.resolve(id === '.' ? '' : id);
    if (!dir || !fs.statSync(dir).isDirectory()) return undefined;
    const envelope = readJson<ResultEnvelope>(this.fileIn(dir, RESULT_FILE));
    const eventsFile = this.fileIn(dir, EVENTS_FILE);
    const events = eventsFile ? parseEvents(readText(eventsFile)) : [];
    if (!envelope && !eventsFile) return undefined;
    const start = lastStart(events);
    const method = envelope?.method ?? start?.method ?? 'unknown';
    return { id, envelope, events, status: statusOf(envelope, events), method };
  }

  private fileIn(dir: string, name: string): string | undefined {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return undefined;
    const real = fs.realpathSync(file);
    return real.startsWith(this.root + path.sep) && fs.statSync(real).isFile() ? real : undefined;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readJson<T>(file: string | undefined): T | null {
  if (!file) return null;
  try {
    return JSON.parse(readText(file)) as T;
  } catch {
    // being replaced (atomic rename) or corrupt: treated as absent
    return null;
  }
}

function lastStart(events: RunEvent[]): StartEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].type === 'start') return events[i] as StartEvent;
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run whose record has a `start` without a later `end` is running while its process lives (same host), and
 * 'stopped' (killed) once it does not; otherwise result.json's status holds.
 */
export function statusOf(envelope: ResultEnvelope | null, events: RunEvent[]): DashboardStatus {
  let open: StartEvent | undefined;
  for (const e of events) {
    if (e.type === 'start') open = e;
    else if (e.type === 'end') open = undefined;
  }
  if (open) {
    if (open.host !== os.hostname()) return 'running';
    return processAlive(open.pid) ? 'running' : 'stopped';
  }
  if (envelope) return envelope.status;
  const end = [...events].reverse().find((e) => e.type === 'end');
  return end && end.type === 'end' ? (end.status as DashboardStatus) : 'unknown';
}
