import { TorchnasError } from '../../src/core/errors';
import { expectInvalid } from '../helpers/errors';
import {
  DARTS_EDGES,
  DARTS_OPS,
  DartsGenotype,
  TENAS_IMAGENET_GENOTYPE,
  checkDartsGenotype,
  dartsCellToEdgeOps,
  dartsEdgeIndex,
  dartsEdgeOpsToCell,
  formatDartsGenotype,
  parseDartsGenotype,
} from '../../src/spaces/darts';

// TENAS_imagenet_110 exactly as chenwydj/DARTS_evaluation genotypes.py writes it.
const TENAS_TEXT =
  "Genotype(normal=[('dil_conv_5x5', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), " +
  "('sep_conv_5x5', 0), ('skip_connect', 2), ('dil_conv_5x5', 1), ('dil_conv_5x5', 3)], normal_concat=[2, 3, 4, 5], " +
  "reduce=[('dil_conv_5x5', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 1), " +
  "('sep_conv_5x5', 3), ('skip_connect', 3), ('sep_conv_5x5', 4)], reduce_concat=[2, 3, 4, 5])";

// DARTS_V2 as DARTS's own genotype() prints it (range concat).
const DARTS_V2_TEXT =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
  "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), " +
  "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), " +
  "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))";


function withCell(cell: 'normal' | 'reduce', p: number, pair: readonly [string, number]): DartsGenotype {
  const pairs = TENAS_IMAGENET_GENOTYPE[cell].map((x, k) => (k === p ? pair : x));
  return { ...TENAS_IMAGENET_GENOTYPE, [cell]: pairs } as DartsGenotype;
}

describe('vocabulary (tenas.md §1.4)', () => {
  test('8 ops in α column order and 14 sorted edge keys', () => {
    expect([...DARTS_OPS]).toEqual(['none', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'avg_pool_3x3', 'max_pool_3x3']);
    const keys = DARTS_EDGES.map((e) => e.key);
    expect(keys).toEqual(['0<-0', '0<-1', '1<-0', '1<-1', '1<-2', '2<-0', '2<-1', '2<-2', '2<-3', '3<-0', '3<-1', '3<-2', '3<-3', '3<-4']);
    expect([...keys].sort()).toEqual(keys);
    DARTS_EDGES.forEach((e, k) => expect(dartsEdgeIndex(e.node, e.from)).toBe(k));
    expect(() => dartsEdgeIndex(0, 2)).toThrow('no DARTS edge 0<-2');
  });
});

describe('text form', () => {
  test('parses the TE-NAS ImageNet genotype into the named constant and prints it back exactly', () => {
    const parsed = parseDartsGenotype(TENAS_TEXT);
    expect(parsed).toEqual(TENAS_IMAGENET_GENOTYPE);
    expect(formatDartsGenotype(parsed)).toBe(TENAS_TEXT);
    // Spec table, node 5 of the reduction cell: skip_connect ← 3, sep_conv_5x5 ← 4.
    expect(TENAS_IMAGENET_GENOTYPE.reduce.slice(6)).toEqual([['skip_connect', 3], ['sep_conv_5x5', 4]]);
  });

  test('range(2, 6) and [2, 3, 4, 5] are the same concat; printing follows the chosen style', () => {
    const parsed = parseDartsGenotype(DARTS_V2_TEXT);
    expect(parsed.normalConcat).toEqual([2, 3, 4, 5]);
    expect(parsed.reduceConcat).toEqual([2, 3, 4, 5]);
    expect(formatDartsGenotype(parsed, { concat: 'range' })).toBe(DARTS_V2_TEXT);
    expect(formatDartsGenotype(parsed)).toBe(DARTS_V2_TEXT.replace(/range\(2, 6\)/g, '[2, 3, 4, 5]'));
    expect(formatDartsGenotype({ ...parsed, normalConcat: [2, 4, 5] }, { concat: 'range' })).toContain('normal_concat=[2, 4, 5]');
    expect(parseDartsGenotype(formatDartsGenotype(parsed))).toEqual(parsed);
  });

  test('accepts double quotes, free whitespace, trailing commas and any field order', () => {
    const text = `Genotype(
      reduce_concat = range(2,6),
      reduce = [${TENAS_IMAGENET_GENOTYPE.reduce.map(([op, i]) => `("${op}",${i})`).join(',')},],
      normal = [${TENAS_IMAGENET_GENOTYPE.normal.map(([op, i]) => `( '${op}' , ${i} , )`).join(' , ')}],
      normal_concat=[2,3,4,5,],
    )`;
    expect(parseDartsGenotype(text)).toEqual(TENAS_IMAGENET_GENOTYPE);
  });

  test.each([
    ['Genome(normal=[])', /at character 0 .*expected "Genotype", found "Genome"/],
    [TENAS_TEXT.replace(', reduce_concat=[2, 3, 4, 5]', ''), /missing field reduce_concat$/],
    [TENAS_TEXT.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=(2, 3)'), /expected range\(start, stop\) or a list of states, found "\("/],
    [TENAS_TEXT.replace('reduce=', 'reduced='), /unknown field "reduced"; Genotype has normal, normal_concat, reduce, reduce_concat/],
    [TENAS_TEXT.replace("('dil_conv_5x5', 0)", "('dil_conv_5x5' 0)"), /expected ",", found "0"/],
    [TENAS_TEXT + ')', /unexpected "\)" after the closing parenthesis/],
    [TENAS_TEXT.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 4, 5], normal_concat=[2, 3]'), /field normal_concat is given twice/],
    [TENAS_TEXT.replace("'sep_conv_3x3'", '`sep_conv_3x3`'), /unexpected character "`"/],
  ])('syntax error in %#', (text, message) => {
    expectInvalid(() => parseDartsGenotype(text), message);
  });
});

describe('validation', () => {
  test.each([
    [withCell('normal', 3, ['sep_conv_7x7', 1]), "normal[3] has unknown op \"sep_conv_7x7\"; expected one of none, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5, avg_pool_3x3, max_pool_3x3"],
    [withCell('normal', 1, ['sep_conv_3x3', 2]), 'normal[1] (node 2) takes input 2; node 2 can only take states 0..1'],
    [withCell('reduce', 7, ['sep_conv_3x3', 5]), 'reduce[7] (node 5) takes input 5; node 5 can only take states 0..4'],
    [withCell('reduce', 5, ['sep_conv_3x3', 1]), 'reduce node 4 takes input 1 twice; its two inputs must differ'],
    [{ ...TENAS_IMAGENET_GENOTYPE, normal: TENAS_IMAGENET_GENOTYPE.normal.slice(0, 6) }, 'normal has 6 (op, input) pairs, expected 8 (two inputs for each of 4 nodes)'],
    [{ ...TENAS_IMAGENET_GENOTYPE, reduceConcat: [2, 3, 6] }, 'reduce_concat contains 6; only intermediate states 2..5 can be concatenated'],
    [{ ...TENAS_IMAGENET_GENOTYPE, normalConcat: [3, 2] }, 'normal_concat must list distinct states in increasing order, got [3, 2]'],
  ])('rejects invalid genotype %#', (genotype, problem) => {
    expectInvalid(() => checkDartsGenotype(genotype as DartsGenotype), `invalid DARTS genotype: ${problem}`);
    expectInvalid(() => formatDartsGenotype(genotype as DartsGenotype), `invalid DARTS genotype: ${problem}`);
  });

  test('parsing applies the same validation', () => {
    expectInvalid(() => parseDartsGenotype(TENAS_TEXT.replace("('skip_connect', 2)", "('skip_connect', 7)")), 'invalid DARTS genotype: normal[5] (node 4) takes input 7; node 4 can only take states 0..3');
  });
});

describe('per-edge op choice', () => {
  test('TE-NAS genotype ⇄ 14-edge op lists', () => {
    const normal = dartsCellToEdgeOps(TENAS_IMAGENET_GENOTYPE, 'normal');
    expect(normal).toEqual([
      'dil_conv_5x5', 'sep_conv_5x5', // node 0 (state 2)
      'sep_conv_5x5', 'sep_conv_3x3', null, // node 1
      'sep_conv_5x5', null, 'skip_connect', null, // node 2
      null, 'dil_conv_5x5', null, 'dil_conv_5x5', null, // node 3
    ]);
    const reduce = dartsCellToEdgeOps(TENAS_IMAGENET_GENOTYPE, 'reduce');
    expect(reduce.filter((op) => op !== null).length).toBe(8);
    expect(reduce[DARTS_EDGES.findIndex((e) => e.key === '3<-4')]).toBe('sep_conv_5x5');
    expect(dartsEdgeOpsToCell(normal)).toEqual(TENAS_IMAGENET_GENOTYPE.normal);
    expect(dartsEdgeOpsToCell(reduce)).toEqual(TENAS_IMAGENET_GENOTYPE.reduce);
  });

  test('pairs come back in increasing input order; malformed choices are rejected', () => {
    const v2 = parseDartsGenotype(DARTS_V2_TEXT);
    const normal = dartsEdgeOpsToCell(dartsCellToEdgeOps(v2, 'normal'));
    expect(normal.slice(4, 6)).toEqual([['skip_connect', 0], ['sep_conv_3x3', 1]]); // written (1, 0) in DARTS_V2
    const ops = dartsCellToEdgeOps(TENAS_IMAGENET_GENOTYPE, 'normal');
    expectInvalid(() => dartsEdgeOpsToCell(ops.slice(1)), /needs 14 entries/);
    expectInvalid(() => dartsEdgeOpsToCell(ops.map((op, k) => (k === 4 ? 'skip_connect' : op))), 'invalid DARTS genotype: node 3 has 3 incoming edges in the per-edge choice, expected 2');
    expectInvalid(() => dartsEdgeOpsToCell(ops.map((op, k) => (k === 0 ? 'conv' : op))), 'invalid DARTS genotype: edge 0<-0 has unknown op "conv"; expected one of none, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5, avg_pool_3x3, max_pool_3x3');
  });
});

describe('bounded parsing and malformed values (issue 7)', () => {
  test('a huge range is refused before any array is allocated, naming the field', () => {
    expectInvalid(
      () => parseDartsGenotype(DARTS_V2_TEXT.replace('normal_concat=range(2, 6)', 'normal_concat=range(2, 100000000)')),
      /^invalid DARTS genotype text at character \d+ \(near .*\): normal_concat=range\(2, 100000000\) holds 99999998 states; a DARTS cell has at most 4 to concatenate \(states 2\.\.5\)$/,
    );
    expectInvalid(
      () => parseDartsGenotype(DARTS_V2_TEXT.replace('reduce_concat=range(2, 6)', 'reduce_concat=range(-9007199254740991, 9007199254740991)')),
      /reduce_concat=range\(-9007199254740991, 9007199254740991\) holds 18014398509481982 states/,
    );
  });

  test('integers past exact range and over-long lists stop the parser', () => {
    expectInvalid(() => parseDartsGenotype(TENAS_TEXT.replace("('skip_connect', 2)", `('skip_connect', ${'9'.repeat(400)})`)), /: integer 99999999999999999999… is too large$/);
    const many = `[${Array(100).fill("('none', 0)").join(', ')}]`;
    expectInvalid(
      () => parseDartsGenotype(TENAS_TEXT.replace(/normal=\[[^\]]*\]/, `normal=${many}`)),
      /: normal has more than 32 items; a DARTS cell has 8 pairs and at most 4 concatenated states$/,
    );
    expectInvalid(() => parseDartsGenotype(TENAS_TEXT.replace('normal_concat=[2, 3, 4, 5]', `normal_concat=[${Array(1000).fill(2).join(', ')}]`)), /: normal_concat has more than 32 items/);
  });

  test('a text far longer than a genotype is refused by its length', () => {
    expectInvalid(() => parseDartsGenotype(TENAS_TEXT + ' '.repeat(20000)), `invalid DARTS genotype text: ${TENAS_TEXT.length + 20000} characters, far longer than a genotype (at most 16384)`);
  });

  test('BigInts, symbols and holes in genotype objects are INVALID_CODE, not TypeErrors', () => {
    expectInvalid(() => checkDartsGenotype(withCell('normal', 2, ['sep_conv_3x3', 1n as unknown as number])), 'invalid DARTS genotype: normal[2] (node 3) takes input 1n; node 3 can only take states 0..2');
    expectInvalid(() => checkDartsGenotype(withCell('reduce', 1, [5n as unknown as string, 1])), /^invalid DARTS genotype: reduce\[1\] has unknown op 5n; expected one of none/);
    expectInvalid(() => checkDartsGenotype(withCell('normal', 3, ['none', Symbol('s') as unknown as number])), /normal\[3\] \(node 3\) takes input Symbol\(s\)/);
    const holes = [...TENAS_IMAGENET_GENOTYPE.normal];
    delete (holes as unknown[])[4];
    expectInvalid(() => checkDartsGenotype({ ...TENAS_IMAGENET_GENOTYPE, normal: holes }), 'invalid DARTS genotype: normal[4] must be an (op, input) pair, got undefined');
    expectInvalid(() => checkDartsGenotype({ ...TENAS_IMAGENET_GENOTYPE, reduceConcat: [2, Symbol('t') as unknown as number] }), 'invalid DARTS genotype: reduce_concat contains Symbol(t); only intermediate states 2..5 can be concatenated');
    expectInvalid(() => checkDartsGenotype({ ...TENAS_IMAGENET_GENOTYPE, normalConcat: [2, 5n as unknown as number] }), /normal_concat contains 5n/);
    expectInvalid(() => dartsCellToEdgeOps(TENAS_IMAGENET_GENOTYPE, 'other' as 'normal'), `no DARTS cell "other": expected 'normal' or 'reduce'`, 'INVALID_ARGUMENT');
    expectInvalid(() => dartsEdgeIndex(Symbol('n') as unknown as number, 0), /^no DARTS edge Symbol\(n\)<-0/, 'INVALID_ARGUMENT');
    const ops = dartsCellToEdgeOps(TENAS_IMAGENET_GENOTYPE, 'normal');
    expectInvalid(() => dartsEdgeOpsToCell(ops.map((op, k) => (k === 0 ? (1n as unknown as string) : op))), /^invalid DARTS genotype: edge 0<-0 has unknown op 1n;/);
  });
});
