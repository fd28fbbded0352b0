/**
 * The NAS-Bench-MR search spaces and their validity rules (ncp.md §1.3, §2.2): which channel and
 * count values a network code may hold. Errors name the field, its value and the rule it breaks.
 */
import { TorchnasError, showValue } from '../../core/errors';
import { EMBEDDING_FIELDS, EMBEDDING_LENGTH } from './layout';

/** Channel values allowed: the multiples of `step` in [min, max]. */
export interface ChannelChoices {
  min: number;
  max: number;
  step: number;
}

/** Count values allowed: the integers in [min, max]. */
export interface CountRange {
  min: number;
  max: number;
}

/** Bounds of a NAS-Bench-MR space. */
export interface NasBenchMrSpace {
  name: string;
  /** The two stem convolutions' channels c0, c1. */
  stemChannels: ChannelChoices;
  /** Every branch channel and the last channel. */
  channels: ChannelChoices;
  /** Modules per stage and blocks per branch. */
  counts: CountRange;
}

/** The space NCP edits in and all benchmark data lies in: channels 8..128 by 8, counts 1..4 (§2.2). */
export const NCP_SPACE: NasBenchMrSpace = Object.freeze({
  name: 'ncp',
  stemChannels: Object.freeze({ min: 8, max: 128, step: 8 }),
  channels: Object.freeze({ min: 8, max: 128, step: 8 }),
  counts: Object.freeze({ min: 1, max: 4 }),
});

/** search_list.txt lines 1–2000 (§1.3): stem {16..64 by 16}, channels {16..128 by 16}, counts 1..4. */
export const LARGE_SPACE: NasBenchMrSpace = Object.freeze({
  name: 'large',
  stemChannels: Object.freeze({ min: 16, max: 64, step: 16 }),
  channels: Object.freeze({ min: 16, max: 128, step: 16 }),
  counts: Object.freeze({ min: 1, max: 4 }),
});

/** search_list.txt lines 2001–2500 (§1.3): stem {8..32 by 8}, channels {8..64 by 8}, counts 1..2. */
export const SMALL_SPACE: NasBenchMrSpace = Object.freeze({
  name: 'small',
  stemChannels: Object.freeze({ min: 8, max: 32, step: 8 }),
  channels: Object.freeze({ min: 8, max: 64, step: 8 }),
  counts: Object.freeze({ min: 1, max: 2 }),
});

/**
 * Checks that a space's bounds make sense (positive integers, min ≤ max, at least one channel value).
 * @throws TorchnasError INVALID_ARGUMENT naming the bad bound.
 */
export function checkSpace(space: NasBenchMrSpace): void {
  const bad = (what: string): never => {
    throw new TorchnasError(`search space ${space.name}: ${what}`, 'INVALID_ARGUMENT');
  };
  for (const [label, c] of [['stemChannels', space.stemChannels], ['channels', space.channels]] as const) {
    if (![c.min, c.max, c.step].every((v) => Number.isSafeInteger(v) && v > 0)) bad(`${label} bounds must be positive integers`);
    if (channelValues(c).length === 0) bad(`${label} has no multiple of ${c.step} in ${c.min}..${c.max}`);
  }
  const { min, max } = space.counts;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 1 || max < min) {
    bad(`counts must be integers with 1 <= min <= max, got ${min}..${max}`);
  }
}

/** The allowed channel values in increasing order. */
export function channelValues(c: ChannelChoices): number[] {
  const values: number[] = [];
  for (let v = Math.ceil(c.min / c.step) * c.step; v <= c.max; v += c.step) values.push(v);
  return values;
}

function channelProblem(v: number, c: ChannelChoices): string | undefined {
  if (v % c.step !== 0) return `not a multiple of ${c.step}`;
  if (v < c.min || v > c.max) return `channel out of ${c.min}..${c.max}`;
  return undefined;
}

/**
 * Every reason an embedding is not in `space`, one string per bad field, e.g.
 * "stage 2 branch 1 channel 12: not a multiple of 8" or "stage 3 modules 5: count out of 1..4".
 * Empty when the embedding is valid.
 */
export function embeddingProblems(embedding: ArrayLike<unknown>, space: NasBenchMrSpace = NCP_SPACE): string[] {
  if (!Array.isArray(embedding) && !ArrayBuffer.isView(embedding)) return [`expected an array of ${EMBEDDING_LENGTH} integers, got ${showValue(embedding)}`];
  if (embedding.length !== EMBEDDING_LENGTH) return [`wrong length: ${embedding.length} integers, expected ${EMBEDDING_LENGTH}`];
  const problems: string[] = [];
  for (const field of EMBEDDING_FIELDS) {
    const v = embedding[field.index];
    const shown = `${field.name} ${showValue(v)}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`${shown}: not a number`);
    } else if (!Number.isInteger(v)) {
      problems.push(`${shown}: not an integer`);
    } else if (field.kind === 'count') {
      if (v < space.counts.min || v > space.counts.max) problems.push(`${shown}: count out of ${space.counts.min}..${space.counts.max}`);
    } else {
      const problem = channelProblem(v, field.role === 'stem' ? space.stemChannels : space.channels);
      if (problem !== undefined) problems.push(`${shown}: ${problem}`);
    }
  }
  return problems;
}

/** True when the embedding is a valid network of `space`. */
export function isValidEmbedding(embedding: ArrayLike<unknown>, space: NasBenchMrSpace = NCP_SPACE): boolean {
  return embeddingProblems(embedding, space).length === 0;
}

/**
 * Asserts the embedding is a valid network of `space`.
 * @throws TorchnasError INVALID_CODE listing every bad field and why.
 */
export function validateEmbedding(embedding: ArrayLike<unknown>, space: NasBenchMrSpace = NCP_SPACE): void {
  const problems = embeddingProblems(embedding, space);
  if (problems.length > 0) {
    throw new TorchnasError(`invalid NAS-Bench-MR network (${space.name} space): ${problems.join('; ')}`, 'INVALID_CODE');
  }
}
