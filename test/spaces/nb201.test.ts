import { TorchnasError } from '../../src/core/errors';
import {
  NB201_EDGES,
  NB201_OPS,
  NB201_TABLE_OP_ORDER,
  Nb201IndexMap,
  checkNb201Arch,
  enumerateNb201,
  formatNb201String,
  isNb201Connected,
  nb201Cost,
  nb201FromAlphaArgmax,
  nb201FromAlphaOneHot,
  nb201FromOrdinal,
  nb201FromTableEmbedding,
  nb201Ordinal,
  nb201TableCost,
  nb201ToAlphaOneHot,
  nb201ToTableEmbedding,
  parseNb201String,
  sampleNb201,
} from '../../src/spaces/nb201';
import { bundledRecords } from '../helpers/bundled';
import { expectInvalid } from '../helpers/errors';

interface TableRecord {
  embedding: number[];
  Acc: number;
  Flops: number;
  Params: number;
}

const INDEX0 = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|';
const BEST = '|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';

let records: TableRecord[];
let map: Nb201IndexMap;

beforeAll(async () => {
  records = (await bundledRecords('nb201')) as unknown as TableRecord[];
  map = Nb201IndexMap.fromTableEmbeddings(records.map((r) => r.embedding));
});


describe('vocabulary (tenas.md §1.1, §1.5)', () => {
  test('op and edge orders', () => {
    expect([...NB201_OPS]).toEqual(['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
    expect(NB201_EDGES.map((e) => e.key)).toEqual(['1<-0', '2<-0', '2<-1', '3<-0', '3<-1', '3<-2']);
    expect([...NB201_TABLE_OP_ORDER]).toEqual(['avg_pool_3x3', 'none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3']);
  });
});

describe('arch string', () => {
  test('parses the spec example edge by edge and prints it back', () => {
    const ops = parseNb201String(INDEX0);
    expect(ops).toEqual([4, 2, 1, 2, 1, 1]);
    expect(formatNb201String(ops)).toBe(INDEX0);
  });

  test.each([
    ['|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|', "expected 3 '+'-separated node groups (nodes 1, 2, 3), found 2"],
    [`${INDEX0}+|none~0|`, "expected 3 '+'-separated node groups (nodes 1, 2, 3), found 4"],
    ['|avg_pool_3x3~0|+|nor_conv_1x1~0|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'node 2 must list 2 incoming edges, found 1 in "|nor_conv_1x1~0|"'],
    ['|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'node 1 must list 1 incoming edge, found 2 in "|avg_pool_3x3~0|skip_connect~1|"'],
    ['|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~2|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'entry "skip_connect~2" of node 2 has source 2, expected 1 (entries are ordered by source node 0..1)'],
    ['|avg_pool_3x3~0|+|nor_conv_1x1~1|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'entry "nor_conv_1x1~1" of node 2 has source 1, expected 0 (entries are ordered by source node 0..1)'],
    ['|avg_pool_3x3~00|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'entry "avg_pool_3x3~00" of node 1 has source 00, expected 0 (entries are ordered by source node 0..0)'],
    ['|conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'unknown op "conv_3x3" on edge 1<-0; expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3'],
    ['|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0| skip_connect~1|skip_connect~2|', 'unknown op " skip_connect" on edge 3<-1; expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3'],
    ['|avg_pool_3x3|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'entry "avg_pool_3x3" of node 1 is not of the form op~source'],
    ['avg_pool_3x3~0+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|', 'group 1 "avg_pool_3x3~0" must be written |op~source|...| with \'|\' at both ends'],
    [`${INDEX0}\n`, 'group 3 "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|\\n" must be written |op~source|...| with \'|\' at both ends'],
  ])('rejects %j', (text, problem) => {
    expectInvalid(() => parseNb201String(text), `invalid NB201 arch string ${JSON.stringify(text)}: ${problem}`);
  });

  test('op-index arrays are checked', () => {
    expectInvalid(() => checkNb201Arch([0, 1, 2]), 'invalid NB201 architecture: expected 6 op indices (one per edge), got 3');
    expectInvalid(() => formatNb201String([0, 1, 2, 3, 5, 0]), 'invalid NB201 architecture: op index on edge 3<-1 must be an integer in 0..4, got 5');
  });
});

describe('encodings', () => {
  test('α one-hot, table embedding and ordinal of the spec example', () => {
    const ops = parseNb201String(INDEX0);
    expect(nb201ToAlphaOneHot(ops)[0]).toEqual([0, 0, 0, 0, 1]);
    // Record 0 of the table is this architecture (tenas.md §1.5).
    expect(nb201ToTableEmbedding(ops)).toEqual(records[0].embedding);
    expect(nb201Ordinal([0, 0, 0, 0, 0, 1])).toBe(1);
    expect(nb201Ordinal([1, 0, 0, 0, 0, 0])).toBe(3125);
    expect(nb201FromOrdinal(15624)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  test('argmax decoding takes the first maximum, as the original genotype() does', () => {
    const alpha = [
      [0, 0.3, 0.3, 0.1, 0],
      [-1000, 0, 0, 0, 0],
      [5, 1, 1, 1, 1],
      [0, 0, 0, 0, 2],
      [0, 0, 0, 9, 0],
      [0, 0, 1, 0, 0],
    ];
    expect(nb201FromAlphaArgmax(alpha)).toEqual([1, 1, 0, 4, 3, 2]);
  });

  test('malformed encodings are rejected with the block named', () => {
    const bad = nb201ToTableEmbedding([0, 0, 0, 0, 0, 0]);
    bad[12] = 1; // block 2 now has two ones
    expectInvalid(() => nb201FromTableEmbedding(bad), 'invalid NB201 table embedding: block 2 (edge 2<-1) has more than one 1 (slots 1 and 2)');
    expectInvalid(() => nb201FromTableEmbedding(bad.slice(1)), 'invalid NB201 table embedding: expected 30 numbers, got 29');
    const alpha = nb201ToAlphaOneHot([1, 1, 1, 1, 1, 1]);
    alpha[5][1] = 0.5;
    expectInvalid(() => nb201FromAlphaOneHot(alpha), 'invalid NB201 one-hot: row 5 (edge 3<-2) has value 0.5 at slot 1; only 0 and 1 are allowed');
    expectInvalid(() => nb201FromOrdinal(15625), 'invalid NB201 ordinal 15625: expected an integer in 0..15624');
  });
});

describe('NB201 index (built from the table, which is in NB201 index order)', () => {
  test('index 0 is the spec string and index 81 the best ImageNet16-120 record of ncp.md §6', () => {
    expect(map.stringAt(0)).toBe(INDEX0);
    expect(map.stringAt(81)).toBe(BEST);
    const best = records.reduce((b, r, i) => (r.Acc > records[b].Acc ? i : b), 0);
    expect(best).toBe(81);
    expect(records[81].Acc).toBeCloseTo(47.333, 3);
  });

  test('no positional numbering fits: indices 0 and 1 differ on 5 of 6 edges', () => {
    const a = map.opsAt(0);
    const b = map.opsAt(1);
    expect(a.filter((op, e) => op !== b[e]).length).toBe(5);
  });

  test('round trips for all 15625: string ⇄ ops ⇄ α one-hot ⇄ table embedding ⇄ index', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 15625; index++) {
      const text = map.stringAt(index);
      seen.add(text);
      const ops = parseNb201String(text);
      expect(formatNb201String(ops)).toBe(text);
      expect(nb201FromAlphaOneHot(nb201ToAlphaOneHot(ops))).toEqual(ops);
      expect(nb201FromAlphaArgmax(nb201ToAlphaOneHot(ops))).toEqual(ops);
      expect(nb201ToTableEmbedding(ops)).toEqual(records[index].embedding);
      expect(nb201FromTableEmbedding(records[index].embedding)).toEqual(ops);
      expect(nb201FromOrdinal(nb201Ordinal(ops))).toEqual(ops);
      expect(map.indexOf(ops)).toBe(index);
      expect(map.indexOfString(text)).toBe(index);
    }
    expect(seen.size).toBe(15625);
  });

  test('a table with a repeated architecture or the wrong size is refused', () => {
    const embeddings = records.map((r) => r.embedding);
    expect(() => Nb201IndexMap.fromTableEmbeddings(embeddings.slice(1))).toThrow('expected 15625 embeddings in NB201 index order, got 15624');
    const repeated = [...embeddings];
    repeated[7] = embeddings[3];
    expect(() => Nb201IndexMap.fromTableEmbeddings(repeated)).toThrow(/record 7 repeats architecture .* of record 3/);
    expect(() => map.opsAt(15625)).toThrow('NB201 index 15625 is out of range: expected an integer in 0..15624');
  });
});

describe('enumeration, sampling, connectivity', () => {
  test('enumerates all 5^6 architectures once, in ordinal order', () => {
    const all = enumerateNb201();
    expect(all.length).toBe(15625);
    expect(new Set(all.map(formatNb201String)).size).toBe(15625);
    all.forEach((ops, k) => expect(nb201Ordinal(ops)).toBe(k));
  });

  test('connectivity: 341 disconnected records, all at chance accuracy 100/120 %', () => {
    const chance = 100 / 120;
    const disconnected = records.map((r, i) => i).filter((i) => !isNb201Connected(map.opsAt(i)));
    expect(disconnected.length).toBe(341);
    for (const i of disconnected) expect(Math.abs(records[i].Acc - chance)).toBeLessThan(1e-4);
    expect(records.filter((r) => Math.abs(r.Acc - chance) < 1e-4).length).toBe(345);
    expect(isNb201Connected(parseNb201String('|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'))).toBe(true);
    expect(isNb201Connected(parseNb201String('|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'))).toBe(true);
    expect(isNb201Connected(parseNb201String('|none~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|'))).toBe(false);
  });

  test('sampling is seeded, uniform per edge, and honours distinct / connectedOnly', () => {
    const a = sampleNb201(10000, { seed: 1 });
    expect(sampleNb201(10000, { seed: 1 })).toEqual(a);
    expect(sampleNb201(50, { seed: 2 })).not.toEqual(a.slice(0, 50));
    for (let e = 0; e < 6; e++) {
      for (let op = 0; op < 5; op++) {
        const count = a.filter((ops) => ops[e] === op).length;
        expect(Math.abs(count - 2000)).toBeLessThan(150);
      }
    }
    const distinct = sampleNb201(15625, { seed: 3, distinct: true });
    expect(new Set(distinct.map(nb201Ordinal)).size).toBe(15625);
    const connected = sampleNb201(15284, { seed: 4, distinct: true, connectedOnly: true });
    expect(connected.every(isNb201Connected)).toBe(true);
    expect(new Set(connected.map(nb201Ordinal)).size).toBe(15284);
    expect(() => sampleNb201(15285, { seed: 4, distinct: true, connectedOnly: true })).toThrow('cannot draw 15285 distinct architectures, the space has 15284');
  });
});

describe('params and FLOPs of TinyNetwork(C=16, N=5) (tenas.md §1.2, ncp.md §6)', () => {
  test('closed-form reference counts', () => {
    const none = [0, 0, 0, 0, 0, 0];
    for (const K of [10, 100, 120]) expect(nb201Cost(none, { numClasses: K }).params).toBe(72656 + 65 * K);
    expect(nb201Cost(none)).toEqual({ params: 79156, macs: 7788800 });
    expect(nb201Cost([3, 3, 3, 3, 3, 3])).toEqual({ params: 1537396, macs: 220125440 });
    expect(nb201Cost([2, 0, 0, 0, 0, 0]).params - 79156).toBe(28000);
    expect(nb201Cost([0, 3, 0, 0, 0, 0]).params - 79156).toBe(243040);
    expect(nb201Cost([1, 4, 1, 4, 1, 4])).toEqual(nb201Cost(none));
    expect(nb201TableCost([3, 3, 3, 3, 3, 3])).toEqual({ paramsM: 1.537, flopsM: 220.13 });
    expect(nb201TableCost(none)).toEqual({ paramsM: 0.079, flopsM: 7.79 });
  });

  test('15475 of 15625 records match; the 150 others are one conv edge off in both Params and Flops', () => {
    // Formula value of every (#conv1x1, #conv3x3) combination: 28 of them, as in the table.
    const combos = new Map<string, [number, number]>();
    for (let n1 = 0; n1 <= 6; n1++) {
      for (let n3 = 0; n1 + n3 <= 6; n3++) {
        const ops = [...Array(n1).fill(2), ...Array(n3).fill(3), ...Array(6 - n1 - n3).fill(0)];
        const { paramsM, flopsM } = nb201TableCost(ops);
        combos.set(`${paramsM}/${flopsM}`, [n1, n3]);
      }
    }
    expect(combos.size).toBe(28);
    expect(new Set(records.map((r) => r.Params)).size).toBe(28);
    expect(new Set(records.map((r) => r.Flops)).size).toBe(28);

    let matches = 0;
    const deltas = new Map<string, number>();
    records.forEach((r, index) => {
      const ops = map.opsAt(index);
      const cost = nb201TableCost(ops);
      const paramsOk = cost.paramsM === r.Params;
      const flopsOk = cost.flopsM === r.Flops;
      if (paramsOk && flopsOk) {
        matches++;
        return;
      }
      expect([paramsOk, flopsOk]).toEqual([false, false]);
      // The stored pair is still a consistent formula value, of a cell with one conv more or less.
      const stored = combos.get(`${r.Params}/${r.Flops}`);
      expect(stored).toBeDefined();
      const n1 = ops.filter((op) => op === 2).length;
      const n3 = ops.filter((op) => op === 3).length;
      const key = `1x1:${stored![0] - n1},3x3:${stored![1] - n3}`;
      deltas.set(key, (deltas.get(key) ?? 0) + 1);
      expect(isNb201Connected(ops)).toBe(true);
    });
    expect(matches).toBe(15475);
    expect(Object.fromEntries(deltas)).toEqual({ '1x1:-1,3x3:0': 60, '1x1:0,3x3:-1': 62, '1x1:1,3x3:0': 13, '1x1:0,3x3:1': 15 });
  });
});

describe('malformed values are INVALID_CODE, not TypeErrors (issue 7)', () => {
  test('symbols, BigInts and objects without toString', () => {
    expectInvalid(() => checkNb201Arch([0, 1, 2, 3, 4, Symbol('x')] as unknown as number[]), 'invalid NB201 architecture: op index on edge 3<-2 must be an integer in 0..4, got Symbol(x)');
    expectInvalid(() => checkNb201Arch(Object.create(null)), 'invalid NB201 architecture: expected 6 op indices, got {}');
    expectInvalid(() => checkNb201Arch({ length: 6 } as unknown as number[]), 'invalid NB201 architecture: expected 6 op indices, got {"length":6}');
    expectInvalid(() => nb201FromOrdinal(Symbol('o') as unknown as number), 'invalid NB201 ordinal Symbol(o): expected an integer in 0..15624');
    expectInvalid(() => nb201FromOrdinal(3n as unknown as number), 'invalid NB201 ordinal 3n: expected an integer in 0..15624');
    expectInvalid(() => parseNb201String(Symbol('s') as unknown as string), 'invalid NB201 arch string: expected a string, got Symbol(s)');
  });

  test('objects without toString and symbols inside one-hots and α are INVALID_CODE (found by the fuzzer)', () => {
    const table = nb201ToTableEmbedding([0, 1, 2, 3, 4, 0]) as unknown[];
    table[13] = Object.create(null);
    expectInvalid(() => nb201FromTableEmbedding(table as number[]), 'invalid NB201 table embedding: block 2 (edge 2<-1) has value {} at slot 3; only 0 and 1 are allowed');
    const alpha = nb201ToAlphaOneHot([0, 1, 2, 3, 4, 0]) as unknown[][];
    alpha[1][2] = Symbol('a');
    expectInvalid(() => nb201FromAlphaOneHot(alpha as number[][]), /row 1 \(edge 2<-0\) has value Symbol\(a\) at slot 2/);
    expectInvalid(() => nb201FromAlphaArgmax(alpha as number[][]), 'invalid NB201 α: row 1 (edge 2<-0) has Symbol(a) at column 2, not a number');
    alpha[1][2] = Object.create(null);
    expectInvalid(() => nb201FromAlphaArgmax(alpha as number[][]), 'invalid NB201 α: row 1 (edge 2<-0) has {} at column 2, not a number');
  });

  test('a huge string is refused by its length, with a short quote of it', () => {
    const text = BEST + '+'.repeat(1_000_000);
    expectInvalid(() => parseNb201String(text), `invalid NB201 arch string ${JSON.stringify(BEST.slice(0, 40))}: ${text.length} characters, far longer than an arch string (at most 256)`);
  });
});
