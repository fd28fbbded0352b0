import { readPickleFile } from '../../src/benchmarks/pickle';
import { TorchnasError } from '../../src/core/errors';
import {
  CHANNEL_INDICES,
  codeToEmbedding,
  codeToSetting,
  COUNT_INDICES,
  embeddingProblems,
  embeddingToCode,
  embeddingToIntegers,
  embeddingToSetting,
  integersToEmbedding,
  LARGE_SPACE,
  modulesIndex,
  NetworkSetting,
  parseCodeIntegers,
  settingToCode,
  settingToEmbedding,
  SMALL_SPACE,
  isValidEmbedding,
} from '../../src/spaces/nasbench-mr';
import { bundledBytes, bundledFile } from '../helpers/bundled';

interface RawRecord {
  embedding: number[];
  input_channel: number[];
  inverted_residual_setting: [number, number[], number[]][];
  last_channel: number;
}

let list: string[];
let records: RawRecord[];

beforeAll(async () => {
  list = bundledBytes('search-list').toString('utf8').split('\n');
  records = (await readPickleFile(bundledFile('seg'))) as RawRecord[];
});

/** The TorchnasError `fn` throws. */
function thrown(fn: () => unknown): TorchnasError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TorchnasError) return e;
    throw e;
  }
  throw new Error('expected an error, none was thrown');
}

const SMALLEST = '8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8';
const README_CODE = '96_128-1_1_1_48-1_2_1_1_128_8-1_3_1_1_1_128_128_120-4_4_4_4_4_4_128_128_128_128-64';

describe('layout (ncp.md §2.2)', () => {
  test('channel and count positions', () => {
    expect(CHANNEL_INDICES).toEqual([0, 1, 4, 8, 9, 14, 15, 16, 22, 23, 24, 25, 26]);
    expect(COUNT_INDICES).toEqual([2, 3, 5, 6, 7, 10, 11, 12, 13, 17, 18, 19, 20, 21]);
    expect([1, 2, 3, 4].map(modulesIndex)).toEqual([2, 5, 10, 17]);
  });

  test('the README code decodes to the README setting (§2.1)', () => {
    expect(codeToEmbedding(README_CODE)).toEqual([96, 128, 1, 1, 48, 1, 1, 1, 128, 8, 1, 1, 1, 1, 128, 128, 120, 4, 4, 4, 4, 4, 128, 128, 128, 128, 64]);
    const four: [number, number[], number[]] = [4, [4, 4, 4, 4], [128, 128, 128, 128]];
    expect(codeToSetting(README_CODE)).toEqual({
      inputChannel: [96, 128],
      networkSetting: [[1, [1], [48]], [2, [1, 1], [128, 8]], [3, [1, 1, 1], [128, 128, 120]], four, four, four, four],
      lastChannel: 64,
    });
  });

  test('the README seg example setting encodes to its 26-number embedding plus last_channel', () => {
    const setting: NetworkSetting = {
      inputChannel: [16, 64],
      networkSetting: [
        [1, [3], [128]],
        [2, [3, 3], [32, 48]],
        [2, [3, 3], [32, 48]],
        [2, [3, 3], [32, 48]],
        [3, [2, 3, 2], [16, 32, 16]],
        [3, [2, 3, 2], [16, 32, 16]],
        [4, [2, 4, 1, 1], [96, 112, 48, 80]],
      ],
      lastChannel: 112,
    };
    const readme26 = [16, 64, 1, 3, 128, 3, 3, 3, 32, 48, 2, 2, 3, 2, 16, 32, 16, 1, 2, 4, 1, 1, 96, 112, 48, 80];
    expect(settingToEmbedding(setting)).toEqual([...readme26, 112]);
    expect(embeddingToSetting([...readme26, 112])).toEqual(setting);
  });
});

describe('round trips', () => {
  test('all 2511 codes of search_list.txt: code → integers → embedding → code, and through the setting', () => {
    expect(list).toHaveLength(2511);
    let ok = 0;
    for (const code of list) {
      const ints = parseCodeIntegers(code);
      const embedding = integersToEmbedding(ints);
      const setting = embeddingToSetting(embedding);
      if (
        embeddingToIntegers(embedding).join() === ints.join() &&
        embeddingToCode(embedding) === code &&
        settingToCode(setting) === code &&
        settingToEmbedding(setting).join() === embedding.join() &&
        setting.networkSetting.length === embedding[2] + embedding[5] + embedding[10] + embedding[17]
      ) {
        ok++;
      }
    }
    expect(ok).toBe(2511);
  });

  test("all 2507 table records: embedding → code → embedding, and the setting equals the pkl's", () => {
    let ok = 0;
    for (const r of records) {
      const setting = embeddingToSetting(r.embedding);
      if (
        codeToEmbedding(embeddingToCode(r.embedding)).join() === r.embedding.join() &&
        JSON.stringify(setting.inputChannel) === JSON.stringify(r.input_channel) &&
        JSON.stringify(setting.networkSetting) === JSON.stringify(r.inverted_residual_setting) &&
        setting.lastChannel === r.last_channel &&
        settingToEmbedding({ inputChannel: r.input_channel as [number, number], networkSetting: r.inverted_residual_setting, lastChannel: r.last_channel }).join() ===
          r.embedding.join()
      ) {
        ok++;
      }
    }
    expect(ok).toBe(2507);
  });

  test('the list parts lie in the large, small and NCP spaces (§1.3)', () => {
    const embeddings = list.map((c) => codeToEmbedding(c));
    expect(embeddings.slice(0, 2000).filter((e) => isValidEmbedding(e, LARGE_SPACE))).toHaveLength(2000);
    expect(embeddings.slice(2000, 2500).filter((e) => isValidEmbedding(e, SMALL_SPACE))).toHaveLength(500);
    // The two generated parts do not overlap: no large-space code is small, none of the small ones is large.
    expect(embeddings.slice(0, 2000).filter((e) => isValidEmbedding(e, SMALL_SPACE))).toHaveLength(0);
    expect(embeddings.slice(2000, 2500).filter((e) => isValidEmbedding(e, LARGE_SPACE))).toHaveLength(0);
    // Of the 11 hand-picked ones only all-16 (line 2502), all-64/2 (2505) and all-8 (2509) fit a generated space;
    // the others use channels like 56, 72 or 120, or a stem of 96 or 128.
    const fits = embeddings.flatMap((e, i) => (i >= 2500 && (isValidEmbedding(e, LARGE_SPACE) || isValidEmbedding(e, SMALL_SPACE)) ? [i + 1] : []));
    expect(fits).toEqual([2502, 2505, 2509]);
  });
});

describe('invalid codes are INVALID_CODE naming the field (§2.2)', () => {
  test.each([
    ['30 integers', SMALLEST.slice(0, -2), /wrong length: 30 integers, expected 31/],
    ['32 integers', `${SMALLEST}_8`, /wrong length: 32 integers, expected 31/],
    ['a non-integer', SMALLEST.replace('8_8-1', '8_x-1'), /'x' at position 1 is not a non-negative integer/],
    ['a fractional number', SMALLEST.replace(/-8$/, '-8.5'), /'8\.5' at position 30 is not a non-negative integer/],
    ['an empty integer', SMALLEST.replace('8_8-1', '8__8-1'), /empty integer at position 1/],
    ['31 integers grouped wrongly', SMALLEST.replace('8_8-1_1_1_8', '8_8_1-1_1_8'), /'-' groups hold 3, 3, 6, 8, 10, 1 integers, expected 2, 4, 6, 8, 10, 1/],
    ['a wrong literal branch field', '8_8-1_1_1_8-1_3_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8', /literal branch field at position 7 is 3, expected 2/],
    ['a channel not a multiple of 8', '8_8-1_1_1_8-1_2_1_1_12_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8', /stage 2 branch 1 channel 12: not a multiple of 8/],
    ['a channel too wide', '8_136-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8', /stem channel c1 136: channel out of 8\.\.128/],
    ['a zero channel', '8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-0', /last channel 0: channel out of 8\.\.128/],
    ['too many modules', '8_8-1_1_1_8-1_2_1_1_8_8-5_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8', /stage 3 modules 5: count out of 1\.\.4/],
    ['zero blocks', '8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_0_1_8_8_8_8-8', /stage 4 branch 3 blocks 0: count out of 1\.\.4/],
  ])('%s', (_, code, message) => {
    const e = thrown(() => codeToEmbedding(code));
    expect(e.code).toBe('INVALID_CODE');
    expect(e.message).toMatch(message);
  });

  test('every bad field is listed', () => {
    const e = thrown(() => codeToEmbedding('8_12-9_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-200'));
    expect(e.message).toBe(
      'invalid NAS-Bench-MR network (ncp space): stem channel c1 12: not a multiple of 8; stage 1 modules 9: count out of 1..4; last channel 200: channel out of 8..128',
    );
  });

  test('embedding problems: length, non-numbers, non-integers', () => {
    expect(embeddingProblems(new Array(26).fill(8))).toEqual(['wrong length: 26 integers, expected 27']);
    const e = codeToEmbedding(SMALLEST) as unknown[];
    e[3] = 1.5;
    e[4] = '8';
    expect(embeddingProblems(e)).toEqual(['stage 1 branch 1 blocks 1.5: not an integer', 'stage 1 branch 1 channel "8": not a number']);
  });

  test('a code outside a smaller space is refused with that space named', () => {
    expect(thrown(() => codeToEmbedding(SMALLEST, LARGE_SPACE)).message).toMatch(/\(large space\): stem channel c0 8: not a multiple of 16/);
  });
});

describe('settings that cannot be encoded are INVALID_CODE (§2.3)', () => {
  const base = (): NetworkSetting => codeToSetting('64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64');
  test.each<[string, (s: NetworkSetting) => void, RegExp]>([
    ['a missing stage', (s) => s.networkSetting.splice(2, 2), /stages must have 1, 2, 3, 4 branches in that order, got modules with branches \[1, 1, 3, 3, 4, 4\]/],
    ['stages out of order', (s) => s.networkSetting.reverse(), /got modules with branches \[4, 4, 3, 3, 2, 2, 1, 1\]/],
    ['two settings in one stage', (s) => (s.networkSetting[3][1] = [2, 3]), /networkSetting\[3\] \(stage 2 module 2\) differs from networkSetting\[2\]/],
    ['blocks of the wrong length', (s) => (s.networkSetting[0][1] = [2, 2]), /networkSetting\[0\] has 1 branches but blocks \[2,2\]/],
    ['a 5-branch module', (s) => (s.networkSetting[7][0] = 5), /networkSetting\[7\] branch count 5 is not one of 1\.\.4/],
    ['a bad stem', (s) => (s.inputChannel = [64] as unknown as [number, number]), /inputChannel must be 2 integer channels/],
    ['five modules in a stage', (s) => s.networkSetting.splice(0, 0, ...[0, 1, 2].map(() => base().networkSetting[0])), /stage 1 modules 5: count out of 1\.\.4/],
  ])('%s', (_, change, message) => {
    const s = base();
    change(s);
    const e = thrown(() => settingToEmbedding(s));
    expect(e.code).toBe('INVALID_CODE');
    expect(e.message).toMatch(message);
  });
});

describe('malformed inputs are TorchnasErrors naming the field, never TypeErrors (issue 7)', () => {
  const base = (): NetworkSetting => codeToSetting('64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64');
  test.each<[string, (s: NetworkSetting) => unknown, string]>([
    ['a BigInt stem channel', (s) => ({ ...s, inputChannel: [64n, 64] }), 'invalid NAS-Bench-MR code: inputChannel must be 2 integer channels, got ["64n",64]'],
    ['a BigInt last channel', (s) => ({ ...s, lastChannel: 64n }), 'invalid NAS-Bench-MR code: lastChannel must be a number, got 64n'],
    ['a BigInt block count', (s) => ((s.networkSetting[0][1] as unknown[]) = [2n], s), 'invalid NAS-Bench-MR code: networkSetting[0] has 1 branches but blocks ["2n"]'],
    ['a BigInt branch count', (s) => ((s.networkSetting[1][0] as unknown) = 2n, s), 'invalid NAS-Bench-MR code: networkSetting[1] branch count 2n is not one of 1..4'],
    ['a missing lastChannel', ({ lastChannel: _, ...rest }) => rest, 'invalid NAS-Bench-MR code: lastChannel must be a number, got undefined'],
    ['a missing networkSetting', ({ networkSetting: _, ...rest }) => rest, 'invalid NAS-Bench-MR code: networkSetting must be a list of modules, got undefined'],
    ['a missing module entry', (s) => (delete (s.networkSetting as unknown[])[2], s), 'invalid NAS-Bench-MR code: networkSetting[2] must be [branches, blocks[], channels[]], got undefined'],
    ['no setting at all', () => undefined, 'invalid NAS-Bench-MR code: a network setting must be an object, got undefined'],
    ['null', () => null, 'invalid NAS-Bench-MR code: a network setting must be an object, got null'],
  ])('%s', (_, change, message) => {
    const e = thrown(() => settingToEmbedding(change(base()) as NetworkSetting));
    expect(e.code).toBe('INVALID_CODE');
    expect(e.message).toBe(message);
  });

  test('embeddings and integer lists that are not arrays, or hold BigInts/symbols', () => {
    const e = codeToEmbedding(SMALLEST) as unknown[];
    e[0] = 8n;
    e[5] = Symbol('x');
    expect(embeddingProblems(e)).toEqual(['stem channel c0 8n: not a number', 'stage 2 modules Symbol(x): not a number']);
    expect(embeddingProblems(null as unknown as number[])).toEqual(['expected an array of 27 integers, got null']);
    expect(thrown(() => embeddingToIntegers(undefined as unknown as number[])).message).toBe('invalid NAS-Bench-MR code: embedding must be an array, got undefined');
    expect(thrown(() => integersToEmbedding({ length: 31 } as unknown as number[])).message).toBe('invalid NAS-Bench-MR code: integers must be an array, got {"length":31}');
    const ints = parseCodeIntegers(SMALLEST) as unknown[];
    ints[3] = 1n;
    expect(thrown(() => integersToEmbedding(ints as number[])).message).toBe('invalid NAS-Bench-MR code: literal branch field at position 3 is 1n, expected 1');
    ints[2] = Symbol('s');
    expect(thrown(() => embeddingToCode(ints.slice(0, 27) as number[])).code).toBe('INVALID_CODE');
  });

  test('a huge string is refused by its length before it is split', () => {
    const e = thrown(() => parseCodeIntegers('8_'.repeat(5_000_000)));
    expect(e.code).toBe('INVALID_CODE');
    expect(e.message).toBe(`invalid NAS-Bench-MR code: 10000000 characters is far longer than a code (at most 1024): "${'8_'.repeat(20)}"…`);
  });
});
