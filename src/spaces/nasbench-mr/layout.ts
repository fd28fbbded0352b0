/**
 * Where each number sits in a NAS-Bench-MR network code (ncp.md §2.1) and embedding (§2.2),
 * and the human names error messages use for them ("stage 2 branch 1 channel").
 */

/** Integers in a string code. */
export const CODE_LENGTH = 31;
/** Integers in an embedding: the code without its four literal branch counts. */
export const EMBEDDING_LENGTH = 27;
/** Stages in every network; stage s has s branches (§2.1). */
export const STAGE_COUNT = 4;
/** 0-based positions of the literal branch counts 1, 2, 3, 4 in the 31-integer code (§2.2). */
export const LITERAL_BRANCH_POSITIONS: readonly number[] = [3, 7, 13, 21];
/** Integers per `-`-separated group of the string code: stem, stages 1–4, last channel (§2.1). */
export const CODE_GROUP_SIZES: readonly number[] = [2, 4, 6, 8, 10, 1];

/** What one embedding position holds. */
export interface EmbeddingField {
  index: number;
  kind: 'channel' | 'count';
  role: 'stem' | 'modules' | 'blocks' | 'channel' | 'last';
  /** 1-based stage, for modules/blocks/channel fields. */
  stage?: number;
  /** 1-based branch (highest resolution first), for blocks/channel fields. */
  branch?: number;
  /** Readable name, e.g. "stage 2 branch 1 channel" or "stem channel c0". */
  name: string;
}

function buildFields(): EmbeddingField[] {
  const fields: EmbeddingField[] = [];
  const add = (f: Omit<EmbeddingField, 'index'>): void => {
    fields.push({ index: fields.length, ...f });
  };
  add({ kind: 'channel', role: 'stem', name: 'stem channel c0' });
  add({ kind: 'channel', role: 'stem', name: 'stem channel c1' });
  for (let stage = 1; stage <= STAGE_COUNT; stage++) {
    add({ kind: 'count', role: 'modules', stage, name: `stage ${stage} modules` });
    for (let branch = 1; branch <= stage; branch++) {
      add({ kind: 'count', role: 'blocks', stage, branch, name: `stage ${stage} branch ${branch} blocks` });
    }
    for (let branch = 1; branch <= stage; branch++) {
      add({ kind: 'channel', role: 'channel', stage, branch, name: `stage ${stage} branch ${branch} channel` });
    }
  }
  add({ kind: 'channel', role: 'last', name: 'last channel' });
  return fields;
}

/** The 27 embedding positions in order (§2.2 table). */
export const EMBEDDING_FIELDS: readonly EmbeddingField[] = Object.freeze(buildFields());

/** Channel positions {0,1,4,8,9,14,15,16,22,23,24,25,26} (§2.2). */
export const CHANNEL_INDICES: readonly number[] = EMBEDDING_FIELDS.filter((f) => f.kind === 'channel').map((f) => f.index);
/** Count positions {2,3,5,6,7,10,11,12,13,17,18,19,20,21} (§2.2). */
export const COUNT_INDICES: readonly number[] = EMBEDDING_FIELDS.filter((f) => f.kind === 'count').map((f) => f.index);

/** Embedding index of stage s's module count (s = 1..4): 2, 5, 10, 17. */
export function modulesIndex(stage: number): number {
  // After the stem (2 numbers) come stages 1..s-1 with 1 + 2·s' numbers each: Σ = s² − 1.
  return stage * stage + 1;
}
