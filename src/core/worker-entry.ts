/**
 * The worker side of worker-pool.ts: requires the module a task names, calls the export with the
 * task's arguments, and posts the result (moving buffers a {@link Transferred} result lists) or the error.
 */
import { parentPort } from 'node:worker_threads';
import { TRANSFER_MARKER, Transferred, WorkerReply, WorkerRequest } from './worker-pool';

function isTransferred(x: unknown): x is Transferred<unknown> {
  return typeof x === 'object' && x !== null && (x as { transferMarker?: unknown }).transferMarker === TRANSFER_MARKER;
}

parentPort?.on('message', async (request: WorkerRequest) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fn = (require(request.module) as Record<string, unknown>)[request.exportName];
    if (typeof fn !== 'function') throw new Error(`${request.module} has no function ${request.exportName}`);
    const result: unknown = await fn(...request.args);
    if (isTransferred(result)) {
      transfer = result.transfer;
      reply = { id: request.id, ok: true, value: result.value };
    } else {
      reply = { id: request.id, ok: true, value: result };
    }
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    reply = { id: request.id, ok: false, error: { name: error.name, message: error.message, code: (error as { code?: string }).code, stack: error.stack } };
  }
  try {
    parentPort?.postMessage(reply, transfer);
  } catch (e) {
    // The result could not be cloned (too deep, or a type structured cloning refuses): say so for this task.
    const message = `the result of ${request.exportName} cannot be passed back from the worker thread: ${(e as Error).message}`;
    parentPort?.postMessage({ id: request.id, ok: false, error: { name: 'TorchnasError', message, code: 'INTERNAL' } } satisfies WorkerReply);
  }
});
