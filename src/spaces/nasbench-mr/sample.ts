/**
 * Seeded sampling of NAS-Bench-MR networks: every field drawn uniformly and independently from
 * the space's allowed values (§1.3 describes the large and small spaces the benchmark list came from).
 */
import { TorchnasError } from '../../core/errors';
import { Random } from '../../core/random';
import { formatCodeIntegers, embeddingToIntegers } from './codec';
import { EMBEDDING_FIELDS } from './layout';
import { channelValues, checkSpace, NasBenchMrSpace, NCP_SPACE } from './space';

/**
 * Draws one embedding inside `space` from `random`'s stream.
 * @throws TorchnasError INVALID_ARGUMENT when the space's bounds are unusable.
 */
export function sampleEmbedding(random: Random, space: NasBenchMrSpace = NCP_SPACE): number[] {
  checkSpace(space);
  return drawEmbedding(random, space, channelValues(space.stemChannels), channelValues(space.channels));
}

function drawEmbedding(random: Random, space: NasBenchMrSpace, stem: number[], channels: number[]): number[] {
  return EMBEDDING_FIELDS.map((f) => {
    if (f.kind === 'count') return random.int(space.counts.min, space.counts.max);
    return random.pick(f.role === 'stem' ? stem : channels);
  });
}

/** Options of {@link sampleCodes}. */
export interface SampleOptions {
  /** Seed of the stream; the same seed gives the same codes on every machine. */
  seed: number;
  space?: NasBenchMrSpace;
  /** Draw until `count` distinct codes are found (default true). */
  unique?: boolean;
}

/**
 * Draws `count` string codes inside a space.
 * @throws TorchnasError INVALID_ARGUMENT for a bad count, or when `unique` asks for more codes
 *   than a small space holds.
 */
export function sampleCodes(count: number, options: SampleOptions): string[] {
  const { seed, space = NCP_SPACE, unique = true } = options;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new TorchnasError(`count must be a non-negative integer, got ${count}`, 'INVALID_ARGUMENT');
  }
  checkSpace(space);
  if (unique && count > spaceSize(space)) {
    const what = `cannot draw ${count} distinct codes from the ${space.name} space of ${spaceSize(space)} networks`;
    throw new TorchnasError(what, 'INVALID_ARGUMENT');
  }
  const random = new Random(seed);
  const stem = channelValues(space.stemChannels);
  const channels = channelValues(space.channels);
  const codes: string[] = [];
  const seen = new Set<string>();
  while (codes.length < count) {
    const code = formatCodeIntegers(embeddingToIntegers(drawEmbedding(random, space, stem, channels)));
    if (unique && seen.has(code)) continue;
    seen.add(code);
    codes.push(code);
  }
  return codes;
}

/** How many distinct networks the space holds (a float: the NCP space has about 3.4e22). */
export function spaceSize(space: NasBenchMrSpace): number {
  const counts = space.counts.max - space.counts.min + 1;
  return EMBEDDING_FIELDS.reduce(
    (n, f) => n * (f.kind === 'count' ? counts : channelValues(f.role === 'stem' ? space.stemChannels : space.channels).length),
    1,
  );
}
