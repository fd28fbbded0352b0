/**
 * NAS-Bench-MR codecs (ncp.md §2): the 31-integer string code ⇄ integer list ⇄ 27-integer
 * embedding ⇄ network setting. Every decode validates; errors (INVALID_CODE) name the field.
 */
import { TorchnasError, showValue } from '../../core/errors';
import { CODE_GROUP_SIZES, CODE_LENGTH, EMBEDDING_LENGTH, LITERAL_BRANCH_POSITIONS, modulesIndex, STAGE_COUNT } from './layout';
import { NasBenchMrSpace, NCP_SPACE, validateEmbedding } from './space';

/** One module: `[branches, blocks per branch, channels per branch]`, highest resolution first (§2.3). */
export type ModuleSetting = [branches: number, blocks: number[], channels: number[]];

/** Everything the network builder needs (§2.3): the pkl's input_channel, inverted_residual_setting, last_channel. */
export interface NetworkSetting {
  /** Channels of the two stride-2 stem convolutions [c0, c1]. */
  inputChannel: [number, number];
  /** One entry per module, stage by stage; n1+n2+n3+n4 entries. */
  networkSetting: ModuleSetting[];
  /** Output width of the 1×1 head convolution. */
  lastChannel: number;
}

/** 31 integers of at most 3 digits and 30 separators, with generous room for leading zeros and spaces. */
const MAX_CODE_CHARS = 1024;

function invalid(message: string): TorchnasError {
  return new TorchnasError(`invalid NAS-Bench-MR code: ${message}`, 'INVALID_CODE');
}

/**
 * Splits a string code into its 31 integers, checking only the syntax: six `-` groups of
 * 2, 4, 6, 8, 10, 1 `_`-joined integers, and the literal branch counts 1, 2, 3, 4 (§2.1).
 * @throws TorchnasError INVALID_CODE, e.g. "wrong length: 30 integers, expected 31".
 */
export function parseCodeIntegers(code: string): number[] {
  if (typeof code !== 'string') throw invalid(`expected a string, got ${typeof code}`);
  // A code is ~100 characters; the length check comes first so a huge string is never split.
  if (code.length > MAX_CODE_CHARS) throw invalid(`${code.length} characters is far longer than a code (at most ${MAX_CODE_CHARS}): ${showValue(code, 40)}`);
  const groups = code.trim().split('-').map((g) => g.split('_'));
  const tokens = groups.flat();
  tokens.forEach((t, i) => {
    const shown = t === '' ? 'empty integer' : `'${t}'`;
    if (!/^\d+$/.test(t)) throw invalid(`${shown} at position ${i} is not a non-negative integer (in '${code}')`);
  });
  if (tokens.length !== CODE_LENGTH) throw invalid(`wrong length: ${tokens.length} integers, expected ${CODE_LENGTH} (in '${code}')`);
  const sizes = groups.map((g) => g.length);
  if (sizes.join() !== CODE_GROUP_SIZES.join()) {
    const expected = `${CODE_GROUP_SIZES.join(', ')} (stem, stages 1-4, last channel)`;
    throw invalid(`'-' groups hold ${sizes.join(', ')} integers, expected ${expected} in '${code}'`);
  }
  const ints = tokens.map(Number);
  checkLiteralBranches(ints);
  return ints;
}

function checkLiteralBranches(ints: readonly number[]): void {
  LITERAL_BRANCH_POSITIONS.forEach((p, s) => {
    if (ints[p] !== s + 1) throw invalid(`literal branch field at position ${p} is ${showValue(ints[p])}, expected ${s + 1}`);
  });
}

/** Arrays and typed arrays only: `length` and indexing of anything else may throw or lie. */
function checkList(value: unknown, what: string): void {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) throw invalid(`${what} must be an array, got ${showValue(value)}`);
}

/** Joins 31 integers into the string form of §2.1 (no validation beyond the length and integer-ness). */
export function formatCodeIntegers(ints: readonly number[]): string {
  checkList(ints, 'integers');
  if (ints.length !== CODE_LENGTH) throw invalid(`wrong length: ${ints.length} integers, expected ${CODE_LENGTH}`);
  ints.forEach((v, i) => {
    if (!Number.isSafeInteger(v) || v < 0) throw invalid(`integer ${i} is ${showValue(v)}, not a non-negative integer`);
  });
  const groups: string[] = [];
  let at = 0;
  for (const size of CODE_GROUP_SIZES) {
    groups.push(ints.slice(at, at + size).join('_'));
    at += size;
  }
  return groups.join('-');
}

/**
 * Drops the four literal branch counts (§2.2) after checking them.
 * @throws TorchnasError INVALID_CODE for a wrong length or a literal field that is not 1/2/3/4 in order.
 */
export function integersToEmbedding(ints: readonly number[]): number[] {
  checkList(ints, 'integers');
  if (ints.length !== CODE_LENGTH) throw invalid(`wrong length: ${ints.length} integers, expected ${CODE_LENGTH}`);
  checkLiteralBranches(ints);
  return ints.filter((_, i) => !LITERAL_BRANCH_POSITIONS.includes(i));
}

/** Inserts the literal branch counts back: 27 → 31 integers. */
export function embeddingToIntegers(embedding: ArrayLike<number>): number[] {
  checkList(embedding, 'embedding');
  if (embedding.length !== EMBEDDING_LENGTH) throw invalid(`wrong length: ${embedding.length} integers, expected ${EMBEDDING_LENGTH}`);
  const ints = Array.from(embedding);
  // Ascending positions, so each splice lands where §2.2 says once the earlier ones are in.
  LITERAL_BRANCH_POSITIONS.forEach((p, s) => ints.splice(p, 0, s + 1));
  return ints;
}

/**
 * String code → 27-integer embedding, validated against `space`.
 * @throws TorchnasError INVALID_CODE naming the first syntax error or every out-of-space field.
 */
export function codeToEmbedding(code: string, space: NasBenchMrSpace = NCP_SPACE): number[] {
  const embedding = integersToEmbedding(parseCodeIntegers(code));
  validateEmbedding(embedding, space);
  return embedding;
}

/**
 * 27-integer embedding → string code, validated against `space`.
 * @throws TorchnasError INVALID_CODE when the embedding is not in the space.
 */
export function embeddingToCode(embedding: ArrayLike<number>, space: NasBenchMrSpace = NCP_SPACE): string {
  validateEmbedding(embedding, space);
  return formatCodeIntegers(embeddingToIntegers(embedding));
}

/**
 * Embedding → network setting: stage s contributes n_s identical module entries (§2.3).
 * @throws TorchnasError INVALID_CODE when the embedding is not in the space.
 */
export function embeddingToSetting(embedding: ArrayLike<number>, space: NasBenchMrSpace = NCP_SPACE): NetworkSetting {
  validateEmbedding(embedding, space);
  const e = Array.from(embedding);
  const networkSetting: ModuleSetting[] = [];
  for (let stage = 1; stage <= STAGE_COUNT; stage++) {
    const at = modulesIndex(stage);
    const blocks = e.slice(at + 1, at + 1 + stage);
    const channels = e.slice(at + 1 + stage, at + 1 + 2 * stage);
    for (let m = 0; m < e[at]; m++) networkSetting.push([stage, [...blocks], [...channels]]);
  }
  return { inputChannel: [e[0], e[1]], networkSetting, lastChannel: e[EMBEDDING_LENGTH - 1] };
}

/** Modules of a whole network: 4 stages, each far below this many modules in any space. */
const MAX_MODULES = 256;

const isIntArray = (x: unknown, length: number): x is number[] =>
  Array.isArray(x) && x.length === length && x.every((v) => typeof v === 'number' && Number.isInteger(v));

/**
 * Network setting → embedding. The setting must be stage-grouped: modules with 1, 2, 3, 4
 * branches in that order, all modules of a stage identical (§2.3), and the result in `space`.
 * @throws TorchnasError INVALID_CODE naming the entry and what is wrong with it.
 */
export function settingToEmbedding(setting: NetworkSetting, space: NasBenchMrSpace = NCP_SPACE): number[] {
  if (setting === null || typeof setting !== 'object') throw invalid(`a network setting must be an object, got ${showValue(setting)}`);
  const { inputChannel, networkSetting, lastChannel } = setting;
  if (!isIntArray(inputChannel, 2)) throw invalid(`inputChannel must be 2 integer channels, got ${showValue(inputChannel)}`);
  if (!Array.isArray(networkSetting)) throw invalid(`networkSetting must be a list of modules, got ${showValue(networkSetting)}`);
  if (typeof lastChannel !== 'number') throw invalid(`lastChannel must be a number, got ${showValue(lastChannel)}`);
  // 4 stages of at most a few modules each; the bound keeps the checks below from running over huge lists.
  if (networkSetting.length > MAX_MODULES) throw invalid(`networkSetting has ${networkSetting.length} modules; a network has at most ${MAX_MODULES}`);
  // An index loop, not forEach: forEach skips the holes of a sparse list.
  for (let i = 0; i < networkSetting.length; i++) checkModuleShape(networkSetting[i], i);
  const branchCounts = networkSetting.map((m) => m[0]);
  const stageOrder = branchCounts.filter((b, i) => i === 0 || b !== branchCounts[i - 1]);
  if (stageOrder.join() !== '1,2,3,4') {
    throw invalid(`networkSetting: stages must have 1, 2, 3, 4 branches in that order, got modules with branches [${branchCounts.join(', ')}]`);
  }
  const embedding: number[] = [inputChannel[0], inputChannel[1]];
  for (let stage = 1; stage <= STAGE_COUNT; stage++) {
    const first = branchCounts.indexOf(stage);
    const count = branchCounts.lastIndexOf(stage) - first + 1;
    const [, blocks, channels] = networkSetting[first];
    for (let k = first + 1; k < first + count; k++) {
      const [, b, c] = networkSetting[k];
      if (b.join() !== blocks.join() || c.join() !== channels.join()) {
        throw invalid(
          `networkSetting[${k}] (stage ${stage} module ${k - first + 1}) differs from networkSetting[${first}]: ` +
            `[${b}] / [${c}] vs [${blocks}] / [${channels}]; the modules of a stage share one setting`,
        );
      }
    }
    embedding.push(count, ...blocks, ...channels);
  }
  embedding.push(lastChannel);
  validateEmbedding(embedding, space);
  return embedding;
}

function checkModuleShape(entry: unknown, i: number): asserts entry is ModuleSetting {
  if (!Array.isArray(entry) || entry.length !== 3) throw invalid(`networkSetting[${i}] must be [branches, blocks[], channels[]], got ${showValue(entry)}`);
  const [branches, blocks, channels] = entry as unknown[];
  if (typeof branches !== 'number' || !Number.isInteger(branches) || branches < 1 || branches > STAGE_COUNT) {
    throw invalid(`networkSetting[${i}] branch count ${showValue(branches)} is not one of 1..${STAGE_COUNT}`);
  }
  if (!isIntArray(blocks, branches)) throw invalid(`networkSetting[${i}] has ${branches} branches but blocks ${showValue(blocks)}`);
  if (!isIntArray(channels, branches)) throw invalid(`networkSetting[${i}] has ${branches} branches but channels ${showValue(channels)}`);
}

/** String code → network setting (validated against `space`). */
export function codeToSetting(code: string, space: NasBenchMrSpace = NCP_SPACE): NetworkSetting {
  return embeddingToSetting(codeToEmbedding(code, space), space);
}

/** Network setting → string code (validated against `space`). */
export function settingToCode(setting: NetworkSetting, space: NasBenchMrSpace = NCP_SPACE): string {
  return formatCodeIntegers(embeddingToIntegers(settingToEmbedding(setting, space)));
}
