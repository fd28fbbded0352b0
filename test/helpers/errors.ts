import { TorchnasError, TorchnasErrorCode } from '../../src/core/errors';

/** Runs fn and checks it throws a TorchnasError with `code` and exactly `message` (or a match of it). */
export function expectInvalid(fn: () => unknown, message: string | RegExp, code: TorchnasErrorCode = 'INVALID_CODE'): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TorchnasError);
  expect((error as TorchnasError).code).toBe(code);
  if (typeof message === 'string') expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
}
