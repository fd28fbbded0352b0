/**
 * A run's event record, DIR/events.jsonl beside DIR/result.json: one JSON object per line, appended with one
 * synchronous write each, so a reader (the dashboard) sees every event as soon as it happens and a run killed
 * midway leaves a readable prefix (at worst a last line cut short, which readers skip).
 *
 * Lines: `start` (method, seed, config, pid, host), `progress` (done/total and the progress fields: loss, epoch,
 * round, …), `record` (a method's own structured event, e.g. a TE-NAS round), `end` (status, wall time).
 * `t` is seconds since the log was opened, `time` the ISO wall-clock time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProgressCallback } from '../core/progress';
import type { ResultEnvelope, RunDescription } from './envelope';

export const EVENTS_FILE = 'events.jsonl';

interface EventBase {
  t: number;
  time: string;
}
export interface StartEvent extends EventBase {
  type: 'start';
  method: string;
  seed: number | null;
  device: string;
  config: unknown;
  pid: number;
  host: string;
}
export interface ProgressEvent extends EventBase {
  type: 'progress';
  done: number;
  total: number;
  fields: Record<string, number | string>;
}
export interface RecordEvent extends EventBase {
  type: 'record';
  kind: string;
  data: unknown;
}
export interface EndEvent extends EventBase {
  type: 'end';
  status: string;
  wallSeconds: number | null;
  error?: { code: string; message: string };
}
export type RunEvent = StartEvent | ProgressEvent | RecordEvent | EndEvent;

/** A method's structured event (beyond progress): `kind` names it, `data` is any JSON value. */
export type RunRecordCallback = (kind: string, data: unknown) => void;

/** Appends events to DIR/events.jsonl; every method is a no-op after `close()`. */
export class RunEventLog {
  private fd: number | null = null;
  private closed = false;
  private readonly opened = Date.now();

  private constructor(readonly file: string) {}

  /**
   * A log appending to DIR/events.jsonl; DIR and the file are created with the first line (nothing exists before
   * the run reports), and a resumed run appends a new `start` to the same file.
   */
  static open(dir: string): RunEventLog {
    return new RunEventLog(path.join(dir, EVENTS_FILE));
  }

  private write(event: Record<string, unknown>): void {
    if (this.closed) return;
    // the file appears with its first line (a run folder with an empty record would list as status unknown)
    if (this.fd === null) {
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = fs.openSync(this.file, 'a');
      } catch {
        this.closed = true;
        return;
      }
    }
    const now = Date.now();
    const line = JSON.stringify({ t: (now - this.opened) / 1000, time: new Date(now).toISOString(), ...event }) + '\n';
    try {
      fs.writeSync(this.fd, line);
    } catch {
      // a full disk or a removed folder must not end the run: the record stops, the run goes on
      this.close();
    }
  }

  start(description: RunDescription): void {
    this.write({ type: 'start', method: description.method, seed: description.seed ?? null, device: description.device, config: description.config, pid: process.pid, host: os.hostname() });
  }

  progress(done: number, total: number, fields: Record<string, number | string> = {}): void {
    this.write({ type: 'progress', done, total, fields });
  }

  record(kind: string, data: unknown): void {
    this.write({ type: 'record', kind, data });
  }

  end(envelope: ResultEnvelope | undefined, error?: unknown): void {
    if (envelope) this.write({ type: 'end', status: envelope.status, wallSeconds: envelope.wallSeconds, ...(envelope.error ? { error: envelope.error } : {}) });
    else {
      // the run ended before its method's envelope existed (e.g. a bad flag value found by the method)
      const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'INTERNAL';
      this.write({ type: 'end', status: code === 'CANCELLED' ? 'interrupted' : 'failed', wallSeconds: null, error: { code, message: error instanceof Error ? error.message : String(error) } });
    }
  }

  /** A progress callback that logs every report, then passes it on to `next` (the progress bar). */
  wrap(next?: ProgressCallback): ProgressCallback {
    return (done, total, fields) => {
      this.progress(done, total, fields);
      next?.(done, total, fields);
    };
  }

  close(): void {
    this.closed = true;
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fs.closeSync(fd);
    } catch {
      // already gone
    }
  }
}

/** Parses events.jsonl text: complete lines only; a cut or corrupt line (a killed run's last) is skipped. */
export function parseEvents(text: string): RunEvent[] {
  const events: RunEvent[] = [];
  const lines = text.split('\n');
  // the text after the last newline is a line still being written
  lines.pop();
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as RunEvent;
      if (e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string') events.push(e);
    } catch {
      // skip
    }
  }
  return events;
}
