import { readPickleFile } from '../../src/benchmarks/pickle';
import { TorchnasError } from '../../src/core/errors';
import {
  codeToSetting,
  embeddingToSetting,
  NCP_LOG_COST_OPTIONS,
  networkCost,
  NetworkSetting,
  TABLE_COST_OPTIONS,
} from '../../src/spaces/nasbench-mr';
import { bundledFile } from '../helpers/bundled';
import { NCP_COST_REFERENCE } from '../helpers/ncp-reference';

interface RawRecord {
  embedding: number[];
  flops: number;
  params: number;
  last_channel: number;
}

let records: RawRecord[];
let settings: NetworkSetting[];

beforeAll(async () => {
  records = (await readPickleFile(bundledFile('seg'))) as RawRecord[];
  settings = records.map((r) => embeddingToSetting(r.embedding));
});

describe('closed-form FLOPs/params reproduce the stored table (ncp.md §4)', () => {
  test('all 2507 records: count/1e9 === stored flops and count/1e6 === stored params as float64', () => {
    // Warm up once so the timing below measures the computation, not the first compilation.
    for (const s of settings.slice(0, 50)) networkCost(s);
    const start = process.hrtime.bigint();
    const costs = settings.map((s) => networkCost(s));
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    const flopsMatches = costs.filter((c, i) => c.flopsCount / 1e9 === records[i].flops && c.flops === records[i].flops).length;
    const paramsMatches = costs.filter((c, i) => c.paramCount / 1e6 === records[i].params && c.params === records[i].params).length;
    expect(flopsMatches).toBe(2507);
    expect(paramsMatches).toBe(2507);
    expect(costs.every((c) => Number.isSafeInteger(c.flopsCount) && Number.isSafeInteger(c.paramCount))).toBe(true);
    // Timing is reported, never asserted (timings live in bench/).
    process.stdout.write(`closed-form cost of 2507 records: ${elapsedMs.toFixed(2)} ms\n`);
  });

  test('the default options are the table convention: cls head, 50 classes, 128×128', () => {
    expect(TABLE_COST_OPTIONS).toEqual({ head: 'cls', numClasses: 50, inputSize: 128 });
    expect(networkCost(settings[7], TABLE_COST_OPTIONS)).toEqual(networkCost(settings[7]));
    expect(networkCost(settings[7], { inputSize: [128, 128] })).toEqual(networkCost(settings[7]));
    expect(networkCost(settings[7], { numClasses: undefined, head: undefined })).toEqual(networkCost(settings[7]));
  });

  test('worked example of §3.5: the smallest network has 21322 parameters', () => {
    const c = networkCost(codeToSetting('8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8'));
    expect(c.paramCount).toBe(21322);
    expect(c.params).toBe(0.021322);
  });

  const REFERENCE = NCP_COST_REFERENCE;

  test.each(REFERENCE)('%s: both conventions of the §4 reference table', (code, clsOps, clsParams, segOps, segParams) => {
    const setting = codeToSetting(code);
    expect(networkCost(setting)).toMatchObject({ flopsCount: clsOps, paramCount: clsParams });
    expect(networkCost(setting, NCP_LOG_COST_OPTIONS)).toMatchObject({ flopsCount: segOps, paramCount: segParams });
  });

  test('the seg-head/19-class convention that tools/ncp.py logs: params lower by 31·(L+1), FLOPs 1.00036–1.104× (§4)', () => {
    let paramsDiffOk = 0;
    const ratios: number[] = [];
    settings.forEach((s, i) => {
      const cls = networkCost(s);
      const seg = networkCost(s, NCP_LOG_COST_OPTIONS);
      if (cls.paramCount - seg.paramCount === 31 * (records[i].last_channel + 1)) paramsDiffOk++;
      ratios.push(seg.flopsCount / cls.flopsCount);
    });
    expect(paramsDiffOk).toBe(2507);
    expect(Math.min(...ratios)).toBeCloseTo(1.00036, 5);
    expect(Math.max(...ratios)).toBeCloseTo(1.104, 3);
    // With K = 19 and the cls head, no stored params match (§4: "0/2507").
    expect(settings.filter((s, i) => networkCost(s, { numClasses: 19 }).params === records[i].params)).toHaveLength(0);
  });
});

describe('other input sizes', () => {
  test('doubling the input quadruples everything but the 1×1 classifier of the cls head', () => {
    settings.slice(0, 200).forEach((s, i) => {
      const classifier = 50 * (records[i].last_channel + 1);
      const at128 = networkCost(s).flopsCount - classifier;
      const at256 = networkCost(s, { inputSize: 256 }).flopsCount - classifier;
      expect(at256).toBe(4 * at128);
      expect(networkCost(s, { inputSize: 256 }).paramCount).toBe(networkCost(s).paramCount);
    });
  });

  test('odd sizes follow the stride-2 convolutions (127 gives the same sizes as 128; 129 does not)', () => {
    const s = settings[3];
    expect(networkCost(s, { inputSize: 127 })).toEqual(networkCost(s));
    expect(networkCost(s, { inputSize: 129 }).flopsCount).toBeGreaterThan(networkCost(s).flopsCount);
    expect(networkCost(s, { inputSize: [128, 256] }).flopsCount).toBeGreaterThan(networkCost(s).flopsCount);
    expect(networkCost(s, { inputSize: [128, 256] }).flopsCount).toBeLessThan(networkCost(s, { inputSize: 256 }).flopsCount);
  });
});

describe('refusals', () => {
  const smallest = (): NetworkSetting => codeToSetting('8_8-1_1_1_8-1_2_1_1_8_8-1_3_1_1_1_8_8_8-1_4_1_1_1_1_8_8_8_8-8');
  test.each<[string, (s: NetworkSetting) => void, RegExp]>([
    ['a jump of two branches', (s) => s.networkSetting.splice(1, 1), /networkSetting\[1\] has 3 branches after 1/],
    ['a zero channel', (s) => (s.networkSetting[0][2] = [0]), /networkSetting\[0\] channels \[0\] are not 1 positive integers/],
    ['a bad last channel', (s) => (s.lastChannel = -1), /lastChannel -1 is not a positive integer/],
    ['no modules', (s) => (s.networkSetting = []), /networkSetting has no modules/],
  ])('%s is INVALID_CODE', (_, change, message) => {
    const s = smallest();
    change(s);
    let error: unknown;
    try {
      networkCost(s);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TorchnasError);
    expect(error).toMatchObject({ code: 'INVALID_CODE', message: expect.stringMatching(message) });
  });

  test('bad options are INVALID_ARGUMENT', () => {
    expect(() => networkCost(smallest(), { numClasses: 0 })).toThrow(/numClasses must be a positive integer/);
    expect(() => networkCost(smallest(), { inputSize: 0 })).toThrow(/inputSize must be positive integers/);
    expect(() => networkCost(smallest(), { head: 'det' as 'cls' })).toThrow(/head must be 'cls' or 'seg'/);
  });

  test('channels off the 8-grid still cost out: the network builds for any positive channels (§2.2)', () => {
    const s = smallest();
    s.networkSetting[0][2] = [12];
    expect(networkCost(s).paramCount).toBeGreaterThan(networkCost(smallest()).paramCount);
  });
});
