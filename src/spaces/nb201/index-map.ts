/**
 * NB201 index ⇄ architecture. The NB201 index is the position in the benchmark's own architecture list, which
 * is not an arithmetic function of the ops: index 0 is `|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+…`
 * and index 1 differs from it on 5 of the 6 edges, which no positional (mixed-radix) numbering allows, whatever
 * the edge and op orders. The map is therefore built from a table stored in NB201 index order — the NCP table
 * is (tenas.md §1.5, ncp.md §6) — and checked to be a bijection onto all 5^6 architectures.
 */
import { TorchnasError } from '../../core/errors';
import { parseNb201String, formatNb201String } from './arch-string';
import { nb201FromOrdinal, nb201FromTableEmbedding, nb201Ordinal } from './encodings';
import { NB201_NUM_ARCHS, Nb201Arch } from './ops';

/** Bidirectional NB201 index ⇄ architecture map. */
export class Nb201IndexMap {
  /** ordinalOfIndex[index] = lexicographic ordinal of the architecture at that NB201 index. */
  private readonly ordinalOfIndex: Uint16Array;
  /** indexOfOrdinal[ordinal] = NB201 index. */
  private readonly indexOfOrdinal: Uint16Array;

  private constructor(ordinalOfIndex: Uint16Array, indexOfOrdinal: Uint16Array) {
    this.ordinalOfIndex = ordinalOfIndex;
    this.indexOfOrdinal = indexOfOrdinal;
  }

  /**
   * Builds the map from the 30-number embeddings of a table in NB201 index order (entry i = index i), such as
   * the `embedding` fields of the NCP table's 15625 records.
   * @throws TorchnasError FILE_CORRUPT when there are not 15625 entries, one is not a valid embedding, or an
   * architecture occurs twice.
   */
  static fromTableEmbeddings(embeddings: ArrayLike<ArrayLike<number>>): Nb201IndexMap {
    if (embeddings == null || embeddings.length !== NB201_NUM_ARCHS) {
      throw new TorchnasError(
        `NB201 index map: expected ${NB201_NUM_ARCHS} embeddings in NB201 index order, got ${embeddings == null ? embeddings : embeddings.length}`,
        'FILE_CORRUPT',
      );
    }
    const ordinalOfIndex = new Uint16Array(NB201_NUM_ARCHS);
    const indexOfOrdinal = new Uint16Array(NB201_NUM_ARCHS);
    const seen = new Uint8Array(NB201_NUM_ARCHS);
    for (let index = 0; index < NB201_NUM_ARCHS; index++) {
      let ordinal: number;
      try {
        ordinal = nb201Ordinal(nb201FromTableEmbedding(embeddings[index]));
      } catch (e) {
        throw new TorchnasError(`NB201 index map: record ${index}: ${(e as Error).message}`, 'FILE_CORRUPT', { cause: e });
      }
      if (seen[ordinal]) {
        throw new TorchnasError(
          `NB201 index map: record ${index} repeats architecture ${formatNb201String(nb201FromOrdinal(ordinal))} of record ${indexOfOrdinal[ordinal]}`,
          'FILE_CORRUPT',
        );
      }
      seen[ordinal] = 1;
      ordinalOfIndex[index] = ordinal;
      indexOfOrdinal[ordinal] = index;
    }
    // 15625 distinct ordinals in 0..15624: every architecture occurs exactly once.
    return new Nb201IndexMap(ordinalOfIndex, indexOfOrdinal);
  }

  /** Number of architectures (15625). */
  get size(): number {
    return NB201_NUM_ARCHS;
  }

  /** Op indices of the architecture at an NB201 index. @throws TorchnasError INVALID_ARGUMENT outside 0..15624. */
  opsAt(index: number): number[] {
    if (!Number.isInteger(index) || index < 0 || index >= NB201_NUM_ARCHS) {
      throw new TorchnasError(`NB201 index ${index} is out of range: expected an integer in 0..${NB201_NUM_ARCHS - 1}`, 'INVALID_ARGUMENT');
    }
    return nb201FromOrdinal(this.ordinalOfIndex[index]);
  }

  /** NB201 index of an architecture given as op indices. @throws TorchnasError INVALID_CODE for bad ops. */
  indexOf(ops: Nb201Arch): number {
    return this.indexOfOrdinal[nb201Ordinal(ops)];
  }

  /** Arch string at an NB201 index. */
  stringAt(index: number): string {
    return formatNb201String(this.opsAt(index));
  }

  /** NB201 index of an arch string. @throws TorchnasError INVALID_CODE for a malformed string. */
  indexOfString(text: string): number {
    return this.indexOf(parseNb201String(text));
  }
}
