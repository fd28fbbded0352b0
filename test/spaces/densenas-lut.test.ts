import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  LutFingerprint,
  checkLutFingerprint,
  costListFromLut,
  lutFromCostList,
  lutKeyString,
  medianStandardError,
  positionalLutKeys,
  readLatListFile,
  readLutFile,
  summarizeRuns,
  writeLatListFile,
  writeLutFile,
} from '../../src/benchmarks/densenas-lut';
import { Random } from '../../src/core/random';
import {
  DenseArchParameters,
  DenseCostList,
  DenseSpace,
  archParameterShapes,
  chainedCost,
  costListFromPositional,
  costListSum,
  costListToPositional,
  formatLatList,
  parseLatList,
  softmax,
} from '../../src/spaces/densenas';
import { expectInvalid } from '../helpers/errors';
import { SMALL32_LAT_LIST, loadSpace, tinySpace } from '../helpers/densenas';

/** The example LUT's measurement (densenas.md §8.x: 2-core CPU, batch 32, original procedure). */
const FINGERPRINT: LutFingerprint = { device: 'cpu (2 cores)', threads: 2, torch: '1.13.1', dtype: 'float32', batch: 32 };
const count = (c: DenseCostList): number => 2 + c.conv1x1.length + c.blocks.reduce((s, b) => s + [...b.head, ...b.stack].reduce((t, r) => t + r.length, 0), 0);

describe('positional lat_list (densenas.md §5.2) on the §8 example LUT', () => {
  const space = loadSpace('mbv2-small32');
  const text = gunzipSync(fs.readFileSync(SMALL32_LAT_LIST)).toString('utf8');
  let costs: DenseCostList;
  beforeAll(async () => {
    costs = await readLatListFile(SMALL32_LAT_LIST, space);
  });

  test('584 entries in the space\'s layout, sum 1371.66 ms', () => {
    expect(count(costs)).toBe(584);
    expect(costs.stem).toBe(0.9020090103149414);
    expect(costs.blocks[0].head).toEqual([[2.9526233673095703, 5.544471740722656, 0.7650852203369141, 5.689644813537598, 1.312565803527832, 4.915356636047363]]);
    expect(costs.blocks[0].stack[0][6]).toBe(0.0018358230590820312);
    expect(costs.conv1x1).toEqual([1.8911361694335938, 1.7964839935302734, 1.6964912414550781]);
    expect(costs.classifier).toBe(0.017309188842773438);
    expect(costListSum(costs)).toBeCloseTo(1371.6644525527954, 9);
  });

  test('written back byte for byte (Python str() of the list, one line, no newline)', async () => {
    expect(formatLatList(costs)).toBe(text);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenas-latlist-'));
    try {
      const file = path.join(dir, 'lat_list');
      await writeLatListFile(file, costs);
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('positional → keyed → positional: equal numbers where a key is unique, repeated layers merged (sums kept)', () => {
    const lut = lutFromCostList(space, costs, FINGERPRINT);
    // 1 stem + 306 head ops + 13 blocks × 7 stack ops (3 layers share a key) + 3 conv1_1 + 1 classifier.
    expect(lut.entries).toHaveLength(1 + 306 + 91 + 3 + 1);
    expect(lut.entries.filter((e) => e.count === 3)).toHaveLength(91);
    const back = costListFromLut(space, lut);
    expect(back.stem).toBe(costs.stem);
    expect(back.blocks.map((b) => b.head)).toEqual(costs.blocks.map((b) => b.head));
    expect(back.conv1x1).toEqual(costs.conv1x1);
    expect(back.classifier).toBe(costs.classifier);
    costs.blocks.forEach((b, i) => {
      b.stack.forEach((_, l) =>
        b.stack[l].forEach((_v, k) => {
          const runs = b.stack.map((r) => r[k]);
          expect(back.blocks[i].stack[l][k]).toBeCloseTo(runs.reduce((a, v) => a + v, 0) / runs.length, 12);
        }),
      );
    });
    expect(costListSum(back)).toBeCloseTo(costListSum(costs), 9);
    // The keyed stack entry of block 1, op 0 holds the statistics of its three measured layers.
    const key = positionalLutKeys(space, 32).blocks[0].stack[0][0];
    const entry = lut.entries.find((e) => lutKeyString(e) === lutKeyString(key))!;
    expect(entry).toEqual({ ...key, ...summarizeRuns(costs.blocks[0].stack.map((r) => r[0])) });
    expect(entry.min).toBe(1.2561321258544922);
    // With a unique-key space the round trip is exact everywhere: strip the repeated layers.
    const oneLayer = loadSpace('mbv2-small32');
    oneLayer.blocks.forEach((b) => (b.numLayers = Math.min(b.numLayers, 1)));
    const fitted = costListFromPositional(costListToPositional(costs), oneLayer);
    expect(costListFromLut(oneLayer, lutFromCostList(oneLayer, fitted, FINGERPRINT))).toEqual(fitted);
  });

  test('keys name the op, widths, stride, input size and batch of each position', () => {
    const keys = positionalLutKeys(space, 32);
    expect(lutKeyString(keys.stem)).toBe('stem_mbv2/3/16/2/32x32/32');
    expect(lutKeyString(keys.blocks[0].head[0][0])).toBe('mbconv_k3_t3/16/24/1/16x16/32');
    expect(lutKeyString(keys.blocks[2].head[1][5])).toBe('mbconv_k7_t6/24/40/2/16x16/32');
    expect(lutKeyString(keys.blocks[12].stack[2][6])).toBe('skip_connect/192/192/1/2x2/32');
    expect(keys.conv1x1.map(lutKeyString)).toEqual(['conv1_1/384/1984/1/2x2/32', 'conv1_1/352/1984/1/2x2/32', 'conv1_1/320/1984/1/2x2/32']);
    expect(lutKeyString(keys.classifier)).toBe('linear/1984/10/1/1x1/32');
  });

  test('surplus stack layers are ignored (as the shipped MBV2 LUT); anything missing names its place', () => {
    const positional = costListToPositional(costs) as unknown as [number, [number[][], number[][]][], number[], number];
    const surplus = structuredClone(positional);
    for (const b of surplus[1].slice(13)) b[1] = [0, 1, 2].map(() => [1, 2, 3, 4, 5, 6, 7]);
    expect(costListFromPositional(surplus, space)).toEqual(costs);
    const cut = (edit: (p: typeof positional) => void) => {
      const p = structuredClone(positional);
      edit(p);
      return () => parseLatList(JSON.stringify(p), space, 'lat_list_small32_cpu');
    };
    expectInvalid(cut((p) => p[1][4][1].pop()), 'lat_list_small32_cpu: block 5 stack: expected 3 stack layers, got 2: layer 2 is missing', 'FILE_CORRUPT');
    expectInvalid(cut((p) => p[1][3][0].pop()), 'lat_list_small32_cpu: block 4 head: expected 3 branches (from blocks 3, 2, 1), got 2', 'FILE_CORRUPT');
    expectInvalid(cut((p) => p[1].pop()), 'lat_list_small32_cpu: blocks: expected 16 routing blocks (1..16), got 15: block 16 is missing', 'FILE_CORRUPT');
    expectInvalid(cut((p) => p[1][0][0][0].pop()), 'lat_list_small32_cpu: block 1 head branch 0 (from block 0): expected 6 entries (one per P_head op), got 5', 'FILE_CORRUPT');
    expectInvalid(cut((p) => p[2].pop()), 'lat_list_small32_cpu: conv1_1: expected 3 branches (from blocks 16, 15, 14), got 2', 'FILE_CORRUPT');
    expectInvalid(() => parseLatList(text.replace('0.9020090103149414', 'nan'), space, 'f'), /f: invalid Python literal at character 1 .*'nan' is not a Python literal/, 'FILE_CORRUPT');
  });
});

describe('keyed LUT files and fingerprints ("Beyond the original" item 3)', () => {
  const space = loadSpace('mbv2-small32');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenas-lut-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('JSON round trip; corrupt files are FILE_CORRUPT naming the field', async () => {
    const lut = lutFromCostList(space, await readLatListFile(SMALL32_LAT_LIST, space), FINGERPRINT);
    const file = path.join(dir, 'lut.json');
    await writeLutFile(file, lut);
    expect(await readLutFile(file)).toEqual(lut);
    const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    raw.entries[3].std = -1;
    fs.writeFileSync(file, JSON.stringify(raw));
    await expect(readLutFile(file)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringContaining('entries.3.std: Number must be greater than or equal to 0') });
    raw.entries[3] = raw.entries[2];
    fs.writeFileSync(file, JSON.stringify(raw));
    await expect(readLutFile(file)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/LUT holds two entries for key mbconv_k3_t6\/16\/24\/1\/16x16\/32/) });
  });

  test('a missing entry names the position and key', async () => {
    const lut = lutFromCostList(space, await readLatListFile(SMALL32_LAT_LIST, space), FINGERPRINT);
    lut.entries = lut.entries.filter((e) => lutKeyString(e) !== 'mbconv_k5_t3/24/40/2/16x16/32');
    expectInvalid(() => costListFromLut(space, lut), 'LUT has no entry for block 3 head branch 1 op 2 (mbconv_k5_t3): key mbconv_k5_t3/24/40/2/16x16/32', 'INVALID_ARGUMENT');
  });

  test('fingerprint: refused on mismatch by default, warned on request, silent when equal', async () => {
    const lut = lutFromCostList(space, await readLatListFile(SMALL32_LAT_LIST, space), FINGERPRINT);
    expect(checkLutFingerprint(lut, { ...FINGERPRINT })).toEqual([]);
    expectInvalid(() => checkLutFingerprint(lut, { threads: 4, batch: 32 }), /LUT fingerprint does not match this device \(threads: LUT 2 ≠ 4\)/, 'INVALID_ARGUMENT');
    const warnings: string[] = [];
    expect(checkLutFingerprint(lut, { device: 'cuda: H200', dtype: 'float32' }, { mode: 'warn', onWarning: (m) => warnings.push(m) })).toEqual(['device: LUT "cpu (2 cores)" ≠ "cuda: H200"']);
    expect(warnings).toHaveLength(1);
  });

  test('summarizeRuns: count, mean, median, population std, min, standard error of the median', () => {
    // n = 4: δ = 1.96/4 = 0.49, Q(0.99) = 1 + 3·0.99 = 3.97, Q(0.01) = 1.03 → 2.94 / (2·1.96)
    const z = 1.959963984540054;
    const se = (3 * 2 * (z / 4)) / (2 * z);
    const s = summarizeRuns([4, 1, 3, 2]);
    expect(s).toEqual({ count: 4, mean: 2.5, median: 2.5, std: Math.sqrt(1.25), min: 1, medianSe: expect.any(Number) });
    expect(s.medianSe).toBeCloseTo(se, 12);
    expect(summarizeRuns([5])).toEqual({ count: 1, mean: 5, median: 5, std: 0, min: 5, medianSe: 0 });
    expectInvalid(() => summarizeRuns([]), /at least one finite value/, 'INVALID_ARGUMENT');
  });
});

describe('standard error of the median (the LUT stopping rule)', () => {
  const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
  test('normal data: close to the normal-theory 1.2533·σ/√n', () => {
    const rng = new Random(7);
    // Averaged over repeated samples (one small sample's estimate is itself noisy): unbiased to within 25 %
    // even at n = 10, where whole-rank intervals (min to max) are about twice too wide.
    for (const [n, reps] of [[10, 400], [20, 200], [100, 40], [400, 10], [2000, 2]]) {
      let sum = 0;
      for (let r = 0; r < reps; r++) sum += medianStandardError(sorted(Array.from({ length: n }, () => 10 + rng.normal())));
      const ratio = sum / reps / (1.2533 / Math.sqrt(n));
      expect(ratio).toBeGreaterThan(0.8);
      expect(ratio).toBeLessThan(1.25);
    }
  });
  test('a heavy right tail (preempted runs) inflates σ but not the median\'s standard error', () => {
    const rng = new Random(8);
    const clean = Array.from({ length: 200 }, () => 10 + 0.1 * rng.normal());
    const tailed = clean.map((t, i) => (i % 10 === 0 ? t + 20 + 10 * rng.next() : t));
    const std = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + (x - v.reduce((p, q) => p + q, 0) / v.length) ** 2, 0) / v.length);
    expect(std(tailed) / std(clean)).toBeGreaterThan(50);
    const ratio = medianStandardError(sorted(tailed)) / medianStandardError(sorted(clean));
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.6);
  });
  test('fewer than two values: 0; constant runs: 0', () => {
    expect(medianStandardError([])).toBe(0);
    expect(medianStandardError([3])).toBe(0);
    expect(medianStandardError([2, 2, 2, 2, 2, 2])).toBe(0);
  });
});

describe('chained cost (densenas.md §3.5)', () => {
  /** Every path and every op choice enumerated: Σ P(path)·Π w(op) · (stem + Σ chosen costs + classifier). */
  function enumerate(space: DenseSpace, costs: DenseCostList, arch: DenseArchParameters, T: number, heads?: number[][][], stacks?: number[][][]) {
    const N = space.blocks.length - 1;
    const P = arch.betas.map((b) => softmax(b, T));
    // Choices of one mixed op: [probability, cost] per sampled op.
    const choices = (alpha: number[], cost: number[], S: number[] = alpha.map((_, k) => k)): [number, number][] => {
      const w = softmax(S.map((k) => alpha[k]), T);
      return S.map((k, n) => [w[n], cost[k]]);
    };
    let expectation = 0;
    let total = 0;
    const walk = (i: number, factors: [number, number][][], pathP: number): void => {
      if (i === N) {
        // Cartesian product over the mixed ops of the path.
        const rec = (m: number, p: number, c: number): void => {
          if (m === factors.length) {
            total += pathP * p;
            expectation += pathP * p * (costs.stem + c + costs.classifier);
            return;
          }
          for (const [w, v] of factors[m]) rec(m + 1, p * w, c + v);
        };
        rec(0, 1, 0);
        return;
      }
      space.blocks[i].successors.forEach((j, pos) => {
        const h = space.blocks[j].predecessors.findIndex((p) => p.from === i);
        const next: [number, number][][] = [...factors];
        if (j === N) next.push([[1, costs.conv1x1[h]]]);
        else {
          next.push(choices(arch.alphaHead[j - 1][h], costs.blocks[j - 1].head[h], heads?.[j - 1]?.[h]));
          arch.alphaStack[j - 1].forEach((row, l) => next.push(choices(row, costs.blocks[j - 1].stack[l], stacks?.[j - 1]?.[l])));
        }
        walk(j, next, pathP * P[i][pos]);
      });
    };
    walk(0, [], 1);
    return { expectation, total };
  }

  function randomInputs(space: DenseSpace, seed: number): { arch: DenseArchParameters; costs: DenseCostList } {
    const rng = new Random(seed);
    const s = archParameterShapes(space);
    const matrix = ([r, c]: [number, number]) => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
    const arch = { betas: s.betas.map((n) => Array.from({ length: n }, () => rng.normal())), alphaHead: s.alphaHead.map(matrix), alphaStack: s.alphaStack.map(matrix) };
    const c = () => 0.1 + rng.next() * 5;
    const costs: DenseCostList = {
      stem: c(),
      blocks: space.blocks.slice(1, -1).map((b) => ({
        head: b.predecessors.map(() => space.headOps.map(c)),
        stack: Array.from({ length: b.numLayers }, () => space.stackOps.map(c)),
      })),
      conv1x1: space.blocks[space.blocks.length - 1].predecessors.map(c),
      classifier: c(),
    };
    return { arch, costs };
  }

  test('tiny space: equals the expectation over all 5 paths and every op choice (T = 1, T = 0.9, sampled subsets)', () => {
    const space = tinySpace();
    for (const seed of [1, 2, 3]) {
      const { arch, costs } = randomInputs(space, seed);
      for (const T of [1, 0.9]) {
        const ref = enumerate(space, costs, arch, T);
        expect(ref.total).toBeCloseTo(1, 12);
        expect(chainedCost(space, costs, arch, { temperature: T })).toBeCloseTo(ref.expectation, 11);
      }
      // A weight step's k = 1 and an arch step's k = 2 subsets.
      const heads = [[[1]], [[0], [0, 1]], [[1], [0]]];
      const stacks = [[[0]], [[1], [0, 1]], [[1]]];
      const ref = enumerate(space, costs, arch, 0.9, heads, stacks);
      expect(chainedCost(space, costs, arch, { temperature: 0.9, headIndices: heads, stackIndices: stacks })).toBeCloseTo(ref.expectation, 11);
    }
  });

  test('hand value: uniform parameters, head ops cost 1, others 0 → expected routing blocks on a path (1.875) + stem + classifier', () => {
    const space = tinySpace();
    const { arch, costs } = randomInputs(space, 4);
    const zero: DenseArchParameters = { betas: arch.betas.map((r) => r.map(() => 0)), alphaHead: arch.alphaHead.map((m) => m.map((r) => r.map(() => 0))), alphaStack: arch.alphaStack.map((m) => m.map((r) => r.map(() => 0))) };
    const ones: DenseCostList = {
      stem: 0.5,
      blocks: costs.blocks.map((b) => ({ head: b.head.map((r) => r.map(() => 1)), stack: b.stack.map((r) => r.map(() => 0)) })),
      conv1x1: costs.conv1x1.map(() => 0),
      classifier: 0.25,
    };
    // Paths 0-1-2-3-4 (1/8, 3 blocks), 0-1-2-4 (1/8, 2), 0-1-3-4 (1/4, 2), 0-2-3-4 (1/4, 2), 0-2-4 (1/4, 1).
    expect(chainedCost(space, ones, zero)).toBeCloseTo(0.5 + 1.875 + 0.25, 14);
  });

  test('§8 space with the example LUT, uniform parameters: equals the enumeration over all 15,456 paths', async () => {
    const space = loadSpace('mbv2-small32');
    const costs = await readLatListFile(SMALL32_LAT_LIST, space);
    const s = archParameterShapes(space);
    const zero: DenseArchParameters = {
      betas: s.betas.map((n) => new Array(n).fill(0)),
      alphaHead: s.alphaHead.map(([r, c]) => Array.from({ length: r }, () => new Array(c).fill(0))),
      alphaStack: s.alphaStack.map(([r, c]) => Array.from({ length: r }, () => new Array(c).fill(0))),
    };
    // With uniform alphas each mixed op costs its row mean, so paths alone need enumerating.
    const mean = (r: number[]) => r.reduce((a, b) => a + b, 0) / r.length;
    const N = space.blocks.length - 1;
    let expected = 0;
    const walk = (i: number, p: number, c: number): void => {
      if (i === N) {
        expected += p * c;
        return;
      }
      const succ = space.blocks[i].successors;
      for (const j of succ) {
        const h = space.blocks[j].predecessors.findIndex((q) => q.from === i);
        const add = j === N ? costs.conv1x1[h] : mean(costs.blocks[j - 1].head[h]) + costs.blocks[j - 1].stack.reduce((a, r) => a + mean(r), 0);
        walk(j, p / succ.length, c + add);
      }
    };
    walk(0, 1, costs.stem + costs.classifier);
    const value = chainedCost(space, costs, zero);
    expect(value).toBeCloseTo(expected, 9);
    expect(value).toBeGreaterThan(costs.stem + costs.classifier);
  });

  test('bad index sets and cost lists are refused', () => {
    const space = tinySpace();
    const { arch, costs } = randomInputs(space, 5);
    expectInvalid(() => chainedCost(space, costs, arch, { headIndices: [[[1, 0]]] }), 'headIndices[0][0]: sampled indices must be distinct ascending integers in 0..1, got [1, 0]', 'INVALID_ARGUMENT');
    const short = structuredClone(costs);
    short.blocks[1].stack.pop();
    expectInvalid(() => chainedCost(space, short, arch), /block 2 stack: expected 2 stack layers, got 1/, 'INVALID_ARGUMENT');
  });
});
