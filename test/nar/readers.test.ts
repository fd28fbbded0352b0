// Readers of NAR's cell-information formats (nar.md §1.1, §1.2): streamed record by record, with errors that name
// the file, the record and the field.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { streamJsonElements } from '../../src/benchmarks/json-stream';
import { Nb201CellInfoRecord, nb201CellInfoRecord, writeNb201CellDataset } from '../../src/benchmarks/nar-nb201-dataset';
import { rankNb201CellInfo, readNb201CellInfo, streamNb201CellInfo } from '../../src/benchmarks/nar-nb201-reader';
import { readNb101CellInfo, streamNb101CellInfo } from '../../src/benchmarks/nar-nb101-reader';
import { parseNb201String } from '../../src/spaces/nb201';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'nar');
const NB101_EXAMPLE = path.join(FIXTURES, 'nb101-example.json');
const NB201_EXAMPLE = path.join(FIXTURES, 'nb201-example.json');
type Json = Record<string, unknown>;
const nb101Example = (JSON.parse(fs.readFileSync(NB101_EXAMPLE, 'utf8')) as Json[])[0];
const nb201Example = (JSON.parse(fs.readFileSync(NB201_EXAMPLE, 'utf8')) as Record<string, Json>)['0'];

let tmp: string;
let counter = 0;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-read-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes text to a fresh file in tmp and returns its path. */
function write(text: string | Buffer, ext = '.json'): string {
  const file = path.join(tmp, `f${counter++}${ext}`);
  fs.writeFileSync(file, text);
  return file;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
/** An NB101 record like the example with another hash (the hash is not checked against the graph). */
const nb101With = (hash: string, change: (r: Json) => void = () => {}): Json => {
  const r = clone(nb101Example);
  r.unique_hash = hash;
  change(r);
  return r;
};
const HASH = (k: number) => k.toString(16).padStart(32, '0');

describe('streamJsonElements: top-level elements one by one', () => {
  const text = ' [ {"a": [1, {"b": "x]}\\"y"}]}, 2 ,"s,t" , null,[[]] ,-1.5e3,true ] \n';
  const expected = [{ a: [1, { b: 'x]}"y' }] }, 2, 's,t', null, [[]], -1500, true];

  test.each([1, 2, 3, 7, 1 << 20])('the same elements whatever the read chunk size (%i bytes)', async (chunkBytes) => {
    const elements = await collect(streamJsonElements(write(text), { top: 'list', chunkBytes }));
    expect(elements.map((e) => e.value)).toEqual(expected);
    expect(elements.map((e) => [e.key, e.position])).toEqual(expected.map((_, i) => [i, i]));
  });

  test('an object: keys (escapes included) and values in file order; a gzipped file; empty containers', async () => {
    const object = '{"0": {"x": 1}, "k\\"ey": [2], "15624":3}';
    const elements = await collect(streamJsonElements(write(object), { top: 'object', chunkBytes: 2 }));
    expect(elements.map((e) => [e.key, e.position, e.value])).toEqual([
      ['0', 0, { x: 1 }],
      ['k"ey', 1, [2]],
      ['15624', 2, 3],
    ]);
    const gz = write(zlib.gzipSync(Buffer.from(object)), '.json.gz');
    expect((await collect(streamJsonElements(gz, { top: 'object' }))).map((e) => e.value)).toEqual([{ x: 1 }, [2], 3]);
    expect(await collect(streamJsonElements(write(' [ ] '), { top: 'list' }))).toEqual([]);
    expect(await collect(streamJsonElements(write('{}'), { top: 'object' }))).toEqual([]);
  });

  test.each([
    ['{"a": 1}', 'list', /expected a JSON list \('\['\), found '\{' \(at byte 0\)/],
    ['', 'list', /empty file, expected a JSON list/],
    ['[{"a": 1}, {"b": [2, 3', 'list', /the file ends inside record 1 \(truncated\?\)/],
    ['[{"a": 1}, {"b": 2}', 'list', /the file ends after 2 record\(s\) without the closing '\]' \(truncated\?\)/],
    ['[{"a": 1}] x', 'list', /unexpected 'x' after the end of the top-level list \(at byte 11\)/],
    ['[{"a": 1} {"b": 2}]', 'list', /expected ',' or '\]' after record 0, found '\{' \(at byte 10\)/],
    ['[{"a": 1}, {"b": tru}]', 'list', /record 1 is not valid JSON: .* \(at byte 11\)/],
    ['[1, ]', 'list', /record 1 has no value, found '\]'/],
    ['{"0": 1, 5: 2}', 'object', /expected the key \(a string\) of element 1, found '5' \(at byte 9\)/],
    ['{"0" 1}', 'object', /expected ':' after the key of record "0" \(element 0\), found '1'/],
    ['{"0": {"a": 1}, "1": {"b"', 'object', /the file ends inside record "1" \(element 1\) \(truncated\?\)/],
  ])('%j as a %s: FILE_CORRUPT %p', async (content, top, message) => {
    const file = write(content);
    await expect(collect(streamJsonElements(file, { top: top as 'list' | 'object' }))).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${message.source}`)),
    });
  });

  test('a truncated gzip file is FILE_CORRUPT naming the file', async () => {
    const gz = zlib.gzipSync(Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ i, s: `record ${i}` })))));
    const file = write(gz.subarray(0, gz.length >> 1), '.json.gz');
    await expect(collect(streamJsonElements(file, { top: 'list' }))).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt gzip data: unexpected end of file`)),
    });
  });

  test('an element larger than maxElementBytes and a missing file', async () => {
    const file = write(JSON.stringify([{ a: 'x'.repeat(200) }]));
    await expect(collect(streamJsonElements(file, { top: 'list', maxElementBytes: 100, chunkBytes: 16 }))).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: expect.stringContaining('record 0 is larger than 100 bytes'),
    });
    await expect(collect(streamJsonElements(path.join(tmp, 'absent.json'), { top: 'list' }))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('NB101 cell information (§1.1)', () => {
  test('the §1.1 example file reads to its one record, keyed by unique_hash, with every field', async () => {
    const records = await readNb101CellInfo(NB101_EXAMPLE);
    expect([...records.keys()]).toEqual(['00005c142e6f48ac74fdcf73e3439874']);
    expect(records.get('00005c142e6f48ac74fdcf73e3439874')).toEqual(nb101Example);
  });

  test('an indented file of several records (one with 5 vertices) streams in order, also gzipped and in tiny chunks; limit stops early', async () => {
    const small = nb101With(HASH(3), (r) => {
      r.module_adjacency = [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ];
      r.module_operations = ['input', 'conv1x1-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'output'];
      for (const name of ['vertex_flops', 'vertex_params']) for (const k of Object.keys(r[name] as Json)) (r[name] as Json)[k] = [0, 1, 2, 3, 0];
    });
    const list = [nb101With(HASH(1)), nb101With(HASH(2)), small];
    const text = JSON.stringify(list, null, 4);
    const entries = await collect(streamNb101CellInfo(write(text)));
    expect(entries.map((e) => [e.index, e.record.unique_hash])).toEqual([
      [0, HASH(1)],
      [1, HASH(2)],
      [2, HASH(3)],
    ]);
    expect(entries[2].record).toEqual(small);
    const gz = write(zlib.gzipSync(Buffer.from(text)), '.json.gz');
    expect([...(await readNb101CellInfo(gz)).keys()]).toEqual([HASH(1), HASH(2), HASH(3)]);
    expect([...(await readNb101CellInfo(write(text), { limit: 2 })).keys()]).toEqual([HASH(1), HASH(2)]);
  });

  test('records are parsed as they are read: the first record arrives although the rest of the file is broken', async () => {
    const file = write(`[${JSON.stringify(nb101With(HASH(1)))},\n{"module_adjacency": [[0, 1], [0, 0]], "oops`);
    expect([...(await readNb101CellInfo(file, { limit: 1 })).keys()]).toEqual([HASH(1)]);
    await expect(readNb101CellInfo(file)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('the file ends inside record 1') });
  });

  const broken: [string, (r: Json) => void, string][] = [
    ['missing flops', (r) => delete r.flops, "field 'flops' is missing"],
    ['missing vertex_params', (r) => delete r.vertex_params, "field 'vertex_params' is missing"],
    ['string accuracy', (r) => (r.avg_test_accuracy = '0.92'), `field 'avg_test_accuracy' is "0.92", expected a finite number`],
    ['float parameter count', (r) => (r.trainable_parameters = 8555530.5), "field 'trainable_parameters' is 8555530.5, expected an integer ≥ 0"],
    ['short flops list', (r) => ((r.vertex_flops as Json)['stack1/module2'] = [0, 1, 2]), "field 'vertex_flops'['stack1/module2'] has 3 entries, expected 7"],
    ['negative params entry', (r) => ((r.vertex_params as Json)['stack0/module0'] = [0, -1, 0, 0, 0, 0, 0]), "field 'vertex_params'['stack0/module0'][1] is -1, expected an integer ≥ 0"],
    ['missing cell key', (r) => delete (r.vertex_flops as Json)['stack2/module2'], "field 'vertex_flops' lacks key 'stack2/module2'"],
    ['unknown op', (r) => ((r.module_operations as string[])[2] = 'conv5x5'), "fields 'module_adjacency'/'module_operations': invalid NB101 cell: op of vertex 2 is \"conv5x5\""],
    ['lower-triangle edge', (r) => ((r.module_adjacency as number[][])[3][1] = 1), "fields 'module_adjacency'/'module_operations': invalid NB101 cell: adjacency [3][1] is 1: edges must go from a lower to a higher vertex"],
    ['adjacency not a list', (r) => (r.module_adjacency = 'x'), `field 'module_adjacency' is "x", expected a list`],
  ];
  test.each(broken)('%s: FILE_CORRUPT naming the record (index and hash) and the field', async (_, change, message) => {
    const file = write(JSON.stringify([nb101With(HASH(1)), nb101With(HASH(2), change)], null, 2));
    await expect(readNb101CellInfo(file)).rejects.toMatchObject({
      code: 'FILE_CORRUPT',
      message: expect.stringContaining(`${file}: record 1 (unique_hash ${HASH(2)}): ${message}`),
    });
  });

  test('a bad hash, a repeated hash, a record that is not an object, a truncated file, an object at the top', async () => {
    const badHash = write(JSON.stringify([nb101With('XYZ')]));
    await expect(readNb101CellInfo(badHash)).rejects.toMatchObject({ message: `${badHash}: record 0: field 'unique_hash' is "XYZ", expected 32 lowercase hex digits` });
    const twice = write(JSON.stringify([nb101With(HASH(1)), nb101With(HASH(1))]));
    await expect(readNb101CellInfo(twice)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: `${twice}: record 1 repeats unique_hash ${HASH(1)} of record 0` });
    const notObject = write('[[1, 2]]');
    await expect(readNb101CellInfo(notObject)).rejects.toMatchObject({ message: `${notObject}: record 0: expected an object, got [1,2]` });
    const text = JSON.stringify([nb101With(HASH(1)), nb101With(HASH(2))], null, 2);
    const cut = write(text.slice(0, Math.floor(text.length * 0.75)));
    await expect(readNb101CellInfo(cut)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('the file ends inside record 1 (truncated?)') });
    await expect(readNb101CellInfo(NB201_EXAMPLE)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining("expected a JSON list ('[')") });
    await expect(readNb101CellInfo(write('[]'))).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('holds no records') });
  });
});

describe('NB201 cell information (§1.2)', () => {
  test('the §1.2 example file reads to index 0 with every field as printed', async () => {
    const records = await readNb201CellInfo(NB201_EXAMPLE);
    expect([...records.keys()]).toEqual([0]);
    expect(records.get(0)).toEqual(nb201Example);
  });

  test('records we write read back unchanged, also as indented JSON; extra fields are dropped', async () => {
    const strings = [
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
      '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
      '|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
    ];
    const map = new Map<number, Nb201CellInfoRecord>(strings.map((s, i) => [[1, 7, 81][i], nb201CellInfoRecord(parseNb201String(s), { cifar10_test_acc: 90 + i, imagenet16_test_acc: 40 })]));
    const file = path.join(tmp, 'three.json');
    await writeNb201CellDataset(file, map);
    expect(await readNb201CellInfo(file)).toEqual(map);
    const indented = Object.fromEntries([...map].map(([k, r]) => [String(k), { ...r, cifar10_rank: 3 }]));
    const entries = await collect(streamNb201CellInfo(write(JSON.stringify(indented, null, 2))));
    expect(entries.map((e) => e.index)).toEqual([1, 7, 81]);
    expect(entries.map((e) => e.record)).toEqual([...map.values()]);
  });

  const broken: [string, (r: Json) => void, string][] = [
    ['missing arch_str', (r) => delete r.arch_str, "field 'arch_str' is missing"],
    ['missing ImageNet16 total', (r) => delete r['ImageNet16-120_total_params'], "field 'ImageNet16-120_total_params' is missing"],
    ['string accuracy', (r) => (r.cifar100_test_acc = 'n/a'), `field 'cifar100_test_acc' is "n/a", expected a finite number`],
    ['adjacency code 5', (r) => ((r.cell_adjacency as number[][])[0][1] = 5), "field 'cell_adjacency'[0][1] is 5, expected an integer in 0..4"],
    ['lower-triangle entry', (r) => ((r.cell_adjacency as number[][])[2][1] = 1), "field 'cell_adjacency'[2][1] is 1; entries on and below the diagonal must be 0"],
    ['adjacency disagreeing with arch_str', (r) => ((r.cell_adjacency as number[][])[0][1] = 3), "field 'cell_adjacency'[0][1] is 3 but 'arch_str' has op code 4 on edge 1<-0"],
    ['bad arch_str', (r) => (r.arch_str = '|conv~0|'), "field 'arch_str': invalid NB201 arch string"],
    ['edge list of 5', (r) => ((r['cifar100_opt_flops'] as Json).cells13 = [0, 1, 2, 3, 4]), "field 'cifar100_opt_flops'['cells13'] has 5 entries, expected 6"],
    ['extra cell key', (r) => ((r['cifar10-valid_opt_params'] as Json).cells5 = [0, 0, 0, 0, 0, 0]), "field 'cifar10-valid_opt_params' has unexpected key 'cells5'"],
  ];
  test.each(broken)('%s: FILE_CORRUPT naming the record key and the field', async (_, change, message) => {
    const bad = clone(nb201Example);
    change(bad);
    const file = write(JSON.stringify({ 0: nb201Example, 12: bad }, null, 1));
    await expect(readNb201CellInfo(file)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining(`${file}: record "12": ${message}`) });
  });

  test('keys that are not NB201 indices, a repeated key, a truncated file', async () => {
    for (const key of ['x', '015', '15625', '-1']) {
      const file = write(`{${JSON.stringify(key)}: ${JSON.stringify(nb201Example)}}`);
      await expect(readNb201CellInfo(file)).rejects.toMatchObject({ message: `${file}: record ${JSON.stringify(key)}: the key must be an NB201 index "0".."15624"` });
    }
    const text = JSON.stringify(nb201Example);
    const twice = write(`{"4": ${text}, "4": ${text}}`);
    await expect(readNb201CellInfo(twice)).rejects.toMatchObject({ message: `${twice}: record "4" occurs twice` });
    const cut = write(`{"0": ${text}, "1": ${text}`.slice(0, text.length + 30));
    await expect(readNb201CellInfo(cut)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('the file ends inside record "1" (element 1) (truncated?)') });
  });

  test('ranks by test accuracy: 1 = best, ties in file order, nulls unranked', () => {
    const acc = (c10: number | null, i16: number | null): Nb201CellInfoRecord => ({ ...(nb201Example as unknown as Nb201CellInfoRecord), cifar10_test_acc: c10, imagenet16_test_acc: i16, cifar100_test_acc: null });
    const records = new Map([
      [5, acc(90, 40)],
      [2, acc(93, 40)],
      [9, acc(null, 47)],
      [1, acc(91, 12)],
    ]);
    expect([...rankNb201CellInfo(records)]).toEqual([
      [5, { cifar10_rank: 3, cifar100_rank: null, imagenet16_rank: 2 }],
      [2, { cifar10_rank: 1, cifar100_rank: null, imagenet16_rank: 3 }],
      [9, { cifar10_rank: null, cifar100_rank: null, imagenet16_rank: 1 }],
      [1, { cifar10_rank: 2, cifar100_rank: null, imagenet16_rank: 4 }],
    ]);
  });
});
