/**
 * The NB201 space as a set: enumeration, seeded sampling and the connectivity rule (tenas.md §1.1, §1.5).
 */
import { TorchnasError } from '../../core/errors';
import { Random } from '../../core/random';
import { nb201FromOrdinal } from './encodings';
import { NB201_EDGES, NB201_NUM_ARCHS, Nb201Arch, checkNb201Arch } from './ops';

const NONE = 0;

/** All 15625 architectures in lexicographic ordinal order (see nb201Ordinal). */
export function enumerateNb201(): number[][] {
  return Array.from({ length: NB201_NUM_ARCHS }, (_, k) => nb201FromOrdinal(k));
}

/**
 * Whether the cell output (node 3) is reachable from the input (node 0) along edges whose op is not `none`.
 * Disconnected cells output zeros; 341 of the 15625 are (tenas.md §1.5).
 */
export function isNb201Connected(ops: Nb201Arch): boolean {
  const checked = checkNb201Arch(ops);
  const reached = [true, false, false, false];
  // Edges are ordered by destination node, so one pass settles each node before it is used as a source.
  NB201_EDGES.forEach((edge, e) => {
    if (checked[e] !== NONE && reached[edge.from]) reached[edge.to] = true;
  });
  return reached[3];
}

let connectedCount: number | undefined;
function countConnected(): number {
  connectedCount ??= enumerateNb201().filter(isNb201Connected).length;
  return connectedCount;
}

/** Options of {@link sampleNb201}. */
export interface Nb201SampleOptions {
  /** Seed of the generator (every stochastic routine takes one). */
  seed: number;
  /** Draw only connected architectures (isNb201Connected). Default false. */
  connectedOnly?: boolean;
  /** Draw without replacement. Default false. */
  distinct?: boolean;
}

/**
 * Draws `count` architectures uniformly at random (a uniform op per edge), reproducibly for a given seed.
 * @throws TorchnasError INVALID_ARGUMENT when `count` is not a non-negative integer, or exceeds the number of
 * distinct architectures available with `distinct`.
 */
export function sampleNb201(count: number, options: Nb201SampleOptions): number[][] {
  const connectedOnly = options.connectedOnly ?? false;
  const distinct = options.distinct ?? false;
  if (!Number.isInteger(count) || count < 0) {
    throw new TorchnasError(`sampleNb201: count must be a non-negative integer, got ${count}`, 'INVALID_ARGUMENT');
  }
  const available = connectedOnly ? countConnected() : NB201_NUM_ARCHS;
  if (distinct && count > available) {
    throw new TorchnasError(`sampleNb201: cannot draw ${count} distinct architectures, the space has ${available}`, 'INVALID_ARGUMENT');
  }
  const random = new Random(options.seed);
  const taken = new Set<number>();
  const out: number[][] = [];
  while (out.length < count) {
    const ordinal = random.int(0, NB201_NUM_ARCHS - 1);
    if (distinct && taken.has(ordinal)) continue;
    const ops = nb201FromOrdinal(ordinal);
    if (connectedOnly && !isNb201Connected(ops)) continue;
    taken.add(ordinal);
    out.push(ops);
  }
  return out;
}
