/**
 * NCP's rounding of a continuous code back into the space (ncp.md §5.4 step 6): each coordinate to
 * the nearest multiple of its divisor, ties up, never below the divisor, and no 10% rule.
 */
import { TorchnasError } from '../../core/errors';
import { EMBEDDING_FIELDS, EMBEDDING_LENGTH } from './layout';

/** Divisors NCP rounds with: 8 for channels, 1 for counts (§5.4). */
export const NCP_CHANNEL_DIVISOR = 8;

/**
 * `max(d, floor(v + d/2) // d · d)` for one value. The original computes `v + d/2` in float32
 * (the divisor is a torch scalar), so the value and the sum are rounded to float32 first; that
 * decides ties such as 11.999999999 the way NCP does.
 */
export function makeDivisibleNcp(value: number, divisor: number): number {
  const shifted = Math.floor(Math.fround(Math.fround(value) + divisor / 2));
  return Math.max(divisor, Math.floor(shifted / divisor) * divisor);
}

/**
 * Rounds a continuous 27-vector (a denormalised NCP code) to an integer embedding.
 * The result is not clamped from above: NCP clamps before it rounds (§5.4 step 5).
 * @throws TorchnasError INVALID_ARGUMENT for a wrong length or a non-finite value.
 */
export function roundEmbedding(continuous: ArrayLike<number>, channelDivisor: number = NCP_CHANNEL_DIVISOR): number[] {
  if (continuous.length !== EMBEDDING_LENGTH) {
    throw new TorchnasError(`continuous code has ${continuous.length} values, expected ${EMBEDDING_LENGTH}`, 'INVALID_ARGUMENT');
  }
  if (!Number.isSafeInteger(channelDivisor) || channelDivisor < 1) {
    throw new TorchnasError(`channel divisor must be a positive integer, got ${channelDivisor}`, 'INVALID_ARGUMENT');
  }
  return EMBEDDING_FIELDS.map((f) => {
    const v = continuous[f.index];
    if (!Number.isFinite(v)) throw new TorchnasError(`continuous code: ${f.name} is ${v}, not a finite number`, 'INVALID_ARGUMENT');
    return makeDivisibleNcp(v, f.kind === 'channel' ? channelDivisor : 1);
  });
}
