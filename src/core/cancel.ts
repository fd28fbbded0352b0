/**
 * Cancellation: every long call takes an AbortSignal. Native jobs that poll a flag get a CancelToken linked to
 * the signal by {@link linkCancelToken}; loops in TypeScript call {@link throwIfAborted} between native jobs.
 */
import { native, NativeCancelToken } from '../native';
import { TorchnasError } from './errors';

/** A native CancelToken that follows an AbortSignal until released. */
export interface LinkedCancelToken {
  readonly token: NativeCancelToken;
  /** Stops following the signal (call in `finally`). */
  release(): void;
}

/** Creates a CancelToken that is cancelled when `signal` aborts (at once if it already has). */
export function linkCancelToken(signal: AbortSignal | undefined): LinkedCancelToken {
  const token = new (native().CancelToken)();
  if (!signal) return { token, release: () => undefined };
  const onAbort = () => token.cancel();
  // aborted before the job started (e.g. while a table was loading)
  if (signal.aborted) token.cancel();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { token, release: () => signal.removeEventListener('abort', onAbort) };
}

/** Throws TorchnasError CANCELLED when `signal` has aborted; `what` names the work ("TE-NAS search"). */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new TorchnasError(`${what} was cancelled`, 'CANCELLED');
}

/** True for the error a cancelled run ends with. */
export function isCancelled(e: unknown): boolean {
  return e instanceof TorchnasError && e.code === 'CANCELLED';
}
