import { isCancelled, linkCancelToken, throwIfAborted } from '../../src/core/cancel';
import { TorchnasError } from '../../src/core/errors';

describe('AbortSignal → native CancelToken', () => {
  test('a token follows its signal: already aborted, aborted later, and not after release', () => {
    const before = new AbortController();
    before.abort();
    expect(linkCancelToken(before.signal).token.cancelled).toBe(true);

    const later = new AbortController();
    const linked = linkCancelToken(later.signal);
    expect(linked.token.cancelled).toBe(false);
    later.abort();
    expect(linked.token.cancelled).toBe(true);

    const released = new AbortController();
    const other = linkCancelToken(released.signal);
    other.release();
    released.abort();
    expect(other.token.cancelled).toBe(false);

    expect(linkCancelToken(undefined).token.cancelled).toBe(false);
  });

  test('throwIfAborted names the work and carries CANCELLED', () => {
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal, 'TE-NAS search')).not.toThrow();
    c.abort();
    let caught: unknown;
    try {
      throwIfAborted(c.signal, 'TE-NAS search');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TorchnasError);
    expect(caught).toMatchObject({ code: 'CANCELLED', message: 'TE-NAS search was cancelled' });
    expect(isCancelled(caught)).toBe(true);
    expect(isCancelled(new TorchnasError('x', 'BUSY'))).toBe(false);
  });
});
