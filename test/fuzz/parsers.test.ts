/**
 * Issue 7: random and mutated inputs to the public parsers and codecs. Every case must end in a result
 * (checked for its shape and a round trip where one exists) or a TorchnasError, never another error
 * type; results are bounded by counting their elements against the input's size.
 *
 * TORCHNAS_FUZZ_COUNT sets the total number of inputs (default 5000, ~10 s, for CI; `npm run fuzz` runs
 * 120000); TORCHNAS_FUZZ_SEED the base seed. A failure prints the family, case index, seed and input.
 * Inputs are generated in code, so nothing outside the repository is needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { parseYaml } from '../../src/config/load';
import { parsePickle } from '../../src/benchmarks/pickle';
import { parseNb201Table } from '../../src/benchmarks/nb201-table';
import { parseNasBenchMrTable } from '../../src/benchmarks/nasbench-mr';
import { Random } from '../../src/core/random';
import * as mr from '../../src/spaces/nasbench-mr';
import * as nb201 from '../../src/spaces/nb201';
import * as darts from '../../src/spaces/darts';
import { writePickle } from '../helpers/pickle-writer';
import { nasBenchMrRecords, nb201Records } from '../helpers/tables';
import { FUZZ_COUNT, FUZZ_SEED, Tally, caseRandom, countElements, ensure, mutateBytes, mutateString, mutateValue } from './fuzz-helpers';

const FAMILIES = ['nasbench-mr', 'nb201', 'darts', 'pickle', 'yaml'] as const;
const PER_FAMILY = Math.max(1, Math.ceil(FUZZ_COUNT / FAMILIES.length));
/** Hang guard only (jest's per-test timeout); the bounds themselves are checked by counting. */
const TIMEOUT_MS = 60_000 + PER_FAMILY * 20;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function finish(tally: Tally): void {
  console.log(tally.summary());
  expect(tally.failures).toEqual([]);
  expect(tally.inputs).toBe(PER_FAMILY);
}

const MR_DICT = ['_', '-', '0', '1', '8', '64', '128', '999999999999999999999', '-1', ' ', '\n', '1e3', '0x10', '__', '--', '8_8-'];

test(`nasbench-mr codes: strings, integer lists, embeddings and structured settings (${PER_FAMILY} inputs)`, () => {
  const tally = new Tally('nasbench-mr');
  for (let i = 0; i < PER_FAMILY; i++) {
    const random = caseRandom('nasbench-mr', FUZZ_SEED, i);
    const embedding = mr.sampleEmbedding(random);
    switch (i % 3) {
      case 0: {
        const code = mutateString(random, mr.embeddingToCode(embedding), MR_DICT);
        tally.run(i, code, () => mr.codeToEmbedding(code), (e) => {
          const out = e as number[];
          ensure(out.length === 27, `embedding of length ${out.length}`);
          ensure(sameJson(mr.codeToEmbedding(mr.embeddingToCode(out)), out), 'code round trip differs');
          ensure(sameJson(mr.codeToSetting(code), mr.embeddingToSetting(out)), 'codeToSetting disagrees with the embedding');
        });
        tally.inputs--; // the same input, one more entry point
        tally.run(i, code, () => mr.parseCodeIntegers(code), (ints) => ensure((ints as number[]).length === 31, 'not 31 integers'));
        break;
      }
      case 1: {
        const value = mutateValue(random, random.next() < 0.5 ? [...embedding] : mr.embeddingToIntegers(embedding));
        tally.run(i, value, () => {
          const problems = mr.embeddingProblems(value as number[]);
          ensure(Array.isArray(problems) && problems.every((p) => typeof p === 'string'), 'embeddingProblems did not return strings');
          const results: unknown[] = [problems];
          for (const fn of [mr.embeddingToCode, mr.embeddingToSetting, mr.embeddingToIntegers, mr.integersToEmbedding, mr.formatCodeIntegers]) {
            try {
              results.push((fn as (x: unknown) => unknown)(value));
            } catch (e) {
              if (!(e as Error).name.startsWith('TorchnasError')) throw e;
              results.push(undefined);
            }
          }
          return results;
        }, (r) => {
          const [problems, code] = r as [string[], string | undefined];
          ensure((problems.length === 0) === (code !== undefined), 'embeddingProblems and embeddingToCode disagree');
          if (code !== undefined) ensure(sameJson(mr.codeToEmbedding(code), Array.from(value as number[])), 'embedding → code → embedding differs');
        });
        break;
      }
      default: {
        const setting = mutateValue(random, mr.embeddingToSetting(embedding)) as mr.NetworkSetting;
        tally.run(i, setting, () => mr.settingToEmbedding(setting), (e) => {
          const out = e as number[];
          ensure(mr.isValidEmbedding(out), 'settingToEmbedding returned an invalid embedding');
          ensure(sameJson(mr.settingToEmbedding(mr.embeddingToSetting(out)), out), 'setting round trip differs');
          ensure(mr.settingToCode(setting) === mr.embeddingToCode(out), 'settingToCode disagrees');
        });
      }
    }
  }
  finish(tally);
}, TIMEOUT_MS);

const NB201_DICT = ['|', '+', '~', '~0', '~1', '~2', '~9', 'none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3', '||', '++', ' '];

test(`nb201: arch strings, op lists, one-hots, table embeddings and ordinals (${PER_FAMILY} inputs)`, () => {
  const tally = new Tally('nb201');
  for (let i = 0; i < PER_FAMILY; i++) {
    const random = caseRandom('nb201', FUZZ_SEED, i);
    const ops = nb201.nb201FromOrdinal(random.int(0, nb201.NB201_NUM_ARCHS - 1));
    if (i % 2 === 0) {
      const text = mutateString(random, nb201.formatNb201String(ops), NB201_DICT);
      tally.run(i, text, () => nb201.parseNb201String(text), (r) => {
        ensure(nb201.formatNb201String(r as number[]) === text, 'a string the strict parser accepts must be canonical');
      });
    } else {
      const forms: [string, unknown][] = [
        ['ops', [...ops]],
        ['one-hot', nb201.nb201ToAlphaOneHot(ops)],
        ['table', nb201.nb201ToTableEmbedding(ops)],
        ['ordinal', nb201.nb201Ordinal(ops)],
      ];
      const [form, base] = random.pick(forms);
      const value = mutateValue(random, base);
      tally.run(i, { form, value }, () => {
        switch (form) {
          case 'ops': return [nb201.checkNb201Arch(value as number[]), nb201.nb201OpNames(value as number[]), nb201.isNb201Connected(value as number[])];
          case 'one-hot': return [nb201.nb201FromAlphaOneHot(value as number[][]), nb201.nb201FromAlphaArgmax(value as number[][])];
          case 'table': return [nb201.nb201FromTableEmbedding(value as number[])];
          default: return [nb201.nb201FromOrdinal(value as number)];
        }
      }, (r) => {
        const decoded = (r as unknown[])[0] as number[];
        ensure(decoded.length === 6 && decoded.every((v) => Number.isInteger(v) && v >= 0 && v < 5), `decoded ${JSON.stringify(decoded)}`);
      });
    }
  }
  finish(tally);
}, TIMEOUT_MS);

const DARTS_DICT = [
  '(', ')', '[', ']', ',', '=', "'", '"', ' ', 'Genotype(', 'normal=', 'reduce=', 'normal_concat=', 'reduce_concat=', 'range(2, 6)',
  'range(2, 100000000)', 'range(-5, 3)', "('none', 0)", "('sep_conv_3x3', 1), ", '-1', '7', '9'.repeat(30), '[2, 3, 4, 5]', 'range(',
];

function randomGenotype(random: Random): darts.DartsGenotype {
  const cell = () =>
    Array.from({ length: darts.DARTS_STEPS }, (_, node) => {
      const a = random.int(0, node + 1);
      let b = random.int(0, node + 1);
      if (b === a) b = (a + 1) % (node + 2);
      return [[random.pick(darts.DARTS_OPS), a], [random.pick(darts.DARTS_OPS), b]] as darts.DartsPair[];
    }).flat();
  const concat = () => [2, 3, 4, 5].filter((s) => s === 2 || random.next() < 0.8);
  return { normal: cell(), normalConcat: concat(), reduce: cell(), reduceConcat: concat() };
}

test(`darts: genotype text and genotype objects (${PER_FAMILY} inputs)`, () => {
  const tally = new Tally('darts');
  for (let i = 0; i < PER_FAMILY; i++) {
    const random = caseRandom('darts', FUZZ_SEED, i);
    const genotype = randomGenotype(random);
    if (i % 2 === 0) {
      const text = mutateString(random, darts.formatDartsGenotype(genotype, { concat: random.pick(['list', 'range'] as const) }), DARTS_DICT);
      tally.run(i, text, () => darts.parseDartsGenotype(text), (g) => {
        const parsed = g as darts.DartsGenotype;
        ensure(parsed.normal.length === 8 && parsed.reduce.length === 8, 'a cell without 8 pairs was accepted');
        ensure(parsed.normalConcat.length <= 4 && parsed.reduceConcat.length <= 4, 'a concat longer than 4 was accepted');
        ensure(sameJson(darts.parseDartsGenotype(darts.formatDartsGenotype(parsed)), parsed), 'format → parse differs');
      });
    } else {
      const mutated = mutateValue(random, JSON.parse(JSON.stringify(genotype))) as darts.DartsGenotype;
      const cellName = random.pick(['normal', 'reduce', 'other'] as const) as darts.DartsCellType;
      tally.run(i, { mutated, cellName }, () => {
        const edgeOps = darts.dartsCellToEdgeOps(mutated, cellName);
        const text = darts.formatDartsGenotype(mutated);
        const back = darts.dartsEdgeOpsToCell(mutateValue(random, [...edgeOps]) as (string | null)[]);
        return { edgeOps, text, back };
      }, (r) => {
        const { edgeOps, text } = r as { edgeOps: unknown[]; text: string };
        ensure(edgeOps.length === 14, 'not 14 edges');
        ensure(sameJson(darts.parseDartsGenotype(text), { ...mutated }), 'format → parse differs');
      });
    }
  }
  finish(tally);
}, TIMEOUT_MS);

/** Opcodes worth splicing in: every one the reader knows plus some it refuses. */
const PICKLE_OPCODES = [
  0x28, 0x2e, 0x4e, 0x4a, 0x4b, 0x4d, 0x47, 0x58, 0x8c, 0x43, 0x42, 0x5d, 0x7d, 0x61, 0x65, 0x75, 0x74, 0x85, 0x86, 0x87, 0x88,
  0x89, 0x71, 0x72, 0x94, 0x68, 0x6a, 0x93, 0x52, 0x62, 0x95, 0x80, 0x63, 0x69, 0x8a, 0x8b, 0x29, 0x8e, 0x96, 0x00, 0xff,
];

function randomPickleValue(random: Random, depth: number): unknown {
  const kind = random.int(0, depth > 3 ? 5 : 10);
  switch (kind) {
    case 0: return null;
    case 1: return random.int(-100000, 100000);
    case 2: return random.normal();
    case 3: return random.pick(['', 'mIoU', 'é✓', 'x'.repeat(random.int(0, 300))]);
    case 4: return random.next() < 0.5;
    case 5: return Uint8Array.from({ length: random.int(0, 5) }, () => random.int(0, 255));
    case 6: return Float32Array.from({ length: random.int(0, 6) }, () => random.normal());
    case 7: return random.pick([Float64Array, Int32Array, BigInt64Array]) === BigInt64Array
      ? BigInt64Array.from({ length: random.int(0, 3) }, () => BigInt(random.int(-9, 9)))
      : Int32Array.from({ length: random.int(0, 4) }, () => random.int(-9, 9));
    case 8: return Object.freeze(Array.from({ length: random.int(1, 4) }, () => randomPickleValue(random, depth + 1)));
    case 9: return Array.from({ length: random.int(0, 4) }, () => randomPickleValue(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: random.int(0, 4) }, (_, k) => [`k${k}`, randomPickleValue(random, depth + 1)]));
  }
}

test(`pickle: mutated pickles of random values and of benchmark tables (${PER_FAMILY} inputs)`, () => {
  const tally = new Tally('pickle');
  for (let i = 0; i < PER_FAMILY; i++) {
    const random = caseRandom('pickle', FUZZ_SEED, i);
    const kind = i % 3 === 0 ? 'value' : i % 3 === 1 ? 'nb201' : 'nasbench-mr';
    let source: unknown =
      kind === 'value' ? randomPickleValue(random, 0) : kind === 'nb201' ? nb201Records(random.int(1, 3), i) : nasBenchMrRecords(random.int(1, 2), i);
    if (kind !== 'value' && random.next() < 0.5) source = mutateValue(random, source);
    let bytes: Uint8Array;
    try {
      bytes = writePickle(source);
    } catch {
      bytes = writePickle(kind === 'nb201' ? nb201Records(1, i) : nasBenchMrRecords(1, i)); // a value pickle cannot hold (symbol, BigInt)
    }
    if (random.next() < 0.8) bytes = mutateBytes(random, bytes, PICKLE_OPCODES);
    const input = bytes;
    tally.run(i, input, () => {
      const value = parsePickle(input);
      ensure(countElements(value, input.length) <= input.length, 'more elements than input bytes');
      if (kind === 'nb201') return parseNb201Table(value, 'fuzz.pkl');
      if (kind === 'nasbench-mr') return parseNasBenchMrTable(value, 'fuzz.pkl', random.pick([undefined, 'cls-10c', 'seg']));
      return value;
    }, (r) => {
      if (kind !== 'value') ensure(Array.isArray((r as { records?: unknown }).records ?? r), 'a table that is not a list of records');
    });
  }
  finish(tally);
}, TIMEOUT_MS);

const YAML_DICT = [
  '[', ']', '{', '}', ',', ': ', '- ', '? ', '&a ', '*a', '*b', '&b ', '<<: *a', '!!binary ', '!!set ', '!tag ', '"', "'", '|\n', '>-\n',
  '#', '\n', '\n  ', '\t', '---\n', '...\n', '%YAML 1.2\n---\n', 'key: value\n', 'null', '~', '1e999', '0x1F', '.inf', 'a: &a [1, 2]\n',
];

function yamlBases(): string[] {
  const dir = path.join(__dirname, '..', '..', 'configs');
  const shipped = fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.yaml')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    : [];
  return shipped;
}

function randomConfig(random: Random, depth: number): unknown {
  const kind = random.int(0, depth > 3 ? 3 : 6);
  switch (kind) {
    case 0: return random.int(-5, 500);
    case 1: return random.normal();
    case 2: return random.pick(['cpu', 'cifar10', 'a b', 'yes', '']);
    case 3: return random.next() < 0.5;
    case 4: return Array.from({ length: random.int(0, 4) }, () => randomConfig(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: random.int(1, 5) }, (_, k) => [`key${k}`, randomConfig(random, depth + 1)]));
  }
}

test(`yaml: mutated configs, shipped and random (${PER_FAMILY} inputs)`, () => {
  const tally = new Tally('yaml');
  const bases = yamlBases();
  for (let i = 0; i < PER_FAMILY; i++) {
    const random = caseRandom('yaml', FUZZ_SEED, i);
    const base = bases.length > 0 && random.next() < 0.4 ? random.pick(bases) : stringify(randomConfig(random, 0), { collectionStyle: random.pick(['any', 'flow', 'block'] as const) });
    const text = mutateString(random, base, YAML_DICT);
    tally.run(i, text, () => parseYaml(text, 'fuzz.yaml'), (value) => {
      ensure(countElements(value, text.length + 1) <= text.length + 1, 'more elements than characters');
    });
  }
  finish(tally);
}, TIMEOUT_MS);
