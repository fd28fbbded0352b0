/**
 * Runs CPU-heavy parsing (pickles, benchmark tables, the NCP data preparation) on `worker_threads`,
 * so the event loop of the caller keeps running while a table loads. A task names a module file and
 * one of its exported functions; the worker requires the module and calls the function with the
 * (structured-cloned) arguments.
 *
 * Locating the worker: compiled (`dist/`), this file is `worker-pool.js` and `worker-entry.js` sits
 * beside it. From the TypeScript sources (ts-jest, or any loader that runs `.ts` directly) there is no
 * `.js` to start, so the worker is started from a small bootstrap that compiles `.ts` modules with
 * TypeScript's `transpileModule` (a dev dependency, present wherever the sources run).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { TorchnasError, TorchnasErrorCode } from './errors';

/** What a worker sends back for one task. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: string; stack?: string } };

/** What the pool sends a worker. */
export interface WorkerRequest {
  id: number;
  module: string;
  exportName: string;
  args: unknown[];
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  idleTimer: NodeJS.Timeout | undefined;
}

/** Workers stay this long after their last task, so a burst of loads reuses them. */
const IDLE_MS = 2000;
const MAX_WORKERS = Math.max(1, Math.min(4, (os.availableParallelism?.() ?? os.cpus().length) - 1));

const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Module = require('node:module');
const ts = Module.createRequire(workerData.entry)('typescript');
Module._extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};
require(workerData.entry);
`;

const workers: PoolWorker[] = [];
let nextId = 1;

function startWorker(): PoolWorker {
  const compiled = __filename.endsWith('.js');
  const worker = compiled
    ? new Worker(path.join(__dirname, 'worker-entry.js'))
    : new Worker(TS_BOOTSTRAP, { eval: true, workerData: { entry: path.join(__dirname, 'worker-entry.ts') } });
  const entry: PoolWorker = { worker, pending: new Map(), idleTimer: undefined };
  worker.on('message', (reply: WorkerReply) => {
    const task = entry.pending.get(reply.id);
    if (task === undefined) return;
    entry.pending.delete(reply.id);
    settled(entry);
    if (reply.ok) task.resolve(reply.value);
    else task.reject(rebuildError(reply.error));
  });
  const fail = (error: Error): void => {
    remove(entry);
    for (const task of entry.pending.values()) {
      task.reject(new TorchnasError(`parse worker failed: ${error.message}`, 'INTERNAL', { cause: error }));
    }
    entry.pending.clear();
  };
  // A reply that cannot be deserialised here (e.g. nested past this thread's stack) names no task;
  // end the worker and fail what it holds rather than leave those promises pending forever.
  worker.on('messageerror', (error) => {
    fail(new Error(`a result could not be received: ${error.message}`));
    void worker.terminate();
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
  workers.push(entry);
  return entry;
}

function remove(entry: PoolWorker): void {
  const i = workers.indexOf(entry);
  if (i >= 0) workers.splice(i, 1);
  if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
}

/** After a task settles: an idle worker no longer keeps the process alive, and ends after IDLE_MS. */
function settled(entry: PoolWorker): void {
  if (entry.pending.size > 0) return;
  entry.worker.unref();
  entry.idleTimer = setTimeout(() => {
    remove(entry);
    void entry.worker.terminate();
  }, IDLE_MS);
  entry.idleTimer.unref();
}

function rebuildError(e: { name: string; message: string; code?: string; stack?: string }): Error {
  if (e.name === 'TorchnasError') return new TorchnasError(e.message, (e.code ?? 'INTERNAL') as TorchnasErrorCode);
  const Kind = ({ TypeError, RangeError, SyntaxError, ReferenceError } as Record<string, ErrorConstructor>)[e.name] ?? Error;
  const error = new Kind(e.message);
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}

/**
 * Calls `exportName` of `modulePath` (a file path, usually the caller's `__filename`) in a worker thread
 * and resolves with what it returns (structured-cloned; typed arrays whose buffers the function lists in
 * a `transfer` field of a {@link Transferred} result are moved, not copied). Errors come back as the same
 * TorchnasError code and message.
 */
export function runInWorker<T>(modulePath: string, exportName: string, args: unknown[]): Promise<T> {
  const idle = workers.find((w) => w.pending.size === 0);
  const entry = idle ?? (workers.length < MAX_WORKERS ? startWorker() : pickLeastBusy());
  if (entry.idleTimer !== undefined) {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }
  entry.worker.ref();
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    entry.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    const request: WorkerRequest = { id, module: modulePath, exportName, args };
    try {
      entry.worker.postMessage(request);
    } catch (e) {
      // Arguments structured cloning refuses (functions, symbols): nothing was sent, so nothing is pending.
      entry.pending.delete(id);
      settled(entry);
      reject(new TorchnasError(`${exportName}: arguments cannot be passed to a worker thread: ${(e as Error).message}`, 'INVALID_ARGUMENT', { cause: e }));
    }
  });
}

function pickLeastBusy(): PoolWorker {
  return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
}

/** A task result whose listed buffers are moved to the caller instead of copied. */
export interface Transferred<T> {
  transferMarker: typeof TRANSFER_MARKER;
  value: T;
  transfer: ArrayBuffer[];
}

/** Tells a {@link Transferred} result from a task value that happens to have `value`/`transfer` fields. */
export const TRANSFER_MARKER = 'torchnas.transferred/1';

/** Marks `value` for transfer of `buffers` (each listed once; the worker's copies become detached). */
export function transferred<T>(value: T, buffers: ArrayBuffer[]): Transferred<T> {
  return { transferMarker: TRANSFER_MARKER, value, transfer: [...new Set(buffers)] };
}

/**
 * A typed array from a worker message, as a typed array of this realm. Messages are deserialised in
 * Node's main realm; code running in another `vm` realm (jest runs tests in one) would otherwise get
 * typed arrays that fail `instanceof Float32Array`. In the main realm this returns `view` itself.
 */
export function ownRealm<T extends ArrayBufferView>(view: T): T {
  if (view instanceof Object) return view;
  const v: ArrayBufferView = view;
  const name = Object.prototype.toString.call(view).slice(8, -1);
  if (name === 'DataView') return new DataView(v.buffer, v.byteOffset, v.byteLength) as unknown as T;
  const Kind = (globalThis as unknown as Record<string, new (b: ArrayBufferLike, o: number, n: number) => T>)[name];
  return new Kind(v.buffer, v.byteOffset, (v as unknown as { length: number }).length);
}
