import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DenseLutKeys,
  DenseNasLut,
  LutKey,
  costListFromLut,
  lutKeyString,
  positionalLutKeys,
  readLatListFile,
  readLutFile,
  readLutOrLatListFile,
} from '../../src/benchmarks/densenas-lut';
import { getThreads } from '../../src/core/device';
import { TorchnasError } from '../../src/core/errors';
import { addStats, buildLut, checkLut, lutPlan, nativeEntriesOf, showLut } from '../../src/methods/densenas/lut';
import { native } from '../../src/native';
import { DenseNasConfig, buildDenseSpace, checkCostList, costListSum, parseDenseNasConfig } from '../../src/spaces/densenas';
import { SMALL32_LAT_LIST, loadConfig, loadSpace, tinyConfig, tinySpace, tinyYaml } from '../helpers/densenas';

/** The fast timing of the tests: a few runs of batch 2 (real LUTs use the defaults at batch 32). */
const FAST = { batch: 2, warmup: 0, minRuns: 2, maxRuns: 3 } as const;

/** Every key of the positional layout, flattened in §5.2 order. */
function flatKeys(keys: DenseLutKeys): LutKey[] {
  return [keys.stem, ...keys.blocks.flatMap((b) => [...b.head.flat(), ...b.stack.flat()]), ...keys.conv1x1, keys.classifier];
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenas-lut-build-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('buildLut (densenas.md §5.1, "Beyond the original" item 3)', () => {
  test('tiny space: one entry per distinct key (20 for 22 positions), fitting the space, every value > 0, skips cheaper than MBConvs', async () => {
    const space = tinySpace();
    const r = await buildLut(tinyConfig(), FAST);
    // Positions: stem, heads 1·2 + 2·2 + 2·2, stack layers (1 + 2 + 1)·2, conv1_1 ×2, classifier; block 2's two layers share keys.
    expect(r.positions).toBe(22);
    expect(r.entries).toBe(20);
    expect(r.measured).toBe(20);
    expect(r.resumed).toBe(0);
    expect(r.file).toBeNull();
    const expected = new Set(flatKeys(positionalLutKeys(space, 2)).map(lutKeyString));
    expect(expected.size).toBe(20);
    expect(new Set(r.lut.entries.map(lutKeyString))).toEqual(expected);
    expect(r.lut.entries).toHaveLength(20);
    for (const e of r.lut.entries) {
      expect(e.count).toBeGreaterThanOrEqual(2);
      expect(e.count).toBeLessThanOrEqual(3);
      expect(e.min).toBeLessThanOrEqual(e.median);
      expect(e.batch).toBe(2);
    }
    const costs = costListFromLut(space, r.lut, { statistic: 'median' });
    checkCostList(space, costs);
    const values = [costs.stem, costs.classifier, ...costs.conv1x1, ...costs.blocks.flatMap((b) => [...b.head, ...b.stack].flat())];
    expect(values).toHaveLength(22);
    for (const v of values) expect(v).toBeGreaterThan(0);
    expect(r.total).toBeCloseTo(costListSum(costs), 12);
    // Stack layer k: [mbconv_k3_t3, skip_connect]; the identity skip is far cheaper than the MBConv of its layer.
    for (const b of costs.blocks) for (const layer of b.stack) expect(layer[1]).toBeLessThan(layer[0]);
    // Block 2's two stack layers share their keys, hence their values.
    expect(costs.blocks[1].stack[0]).toEqual(costs.blocks[1].stack[1]);
  });

  test('the fingerprint names this device: CPU model, threads, LibTorch version, float32, batch', async () => {
    const r = await buildLut(tinyConfig(), FAST);
    expect(r.fingerprint).toEqual({ device: `cpu: ${os.cpus()[0].model.trim()}`, threads: getThreads(), torch: native().info().torch, dtype: 'float32', batch: 2 });
    expect(r.lut.fingerprint).toEqual(r.fingerprint);
    expect(r.fingerprint.torch).toMatch(/^\d+\.\d+/);
  });

  test('what is timed per key: the MBV2 stem adds the head_block on the stem output; ResNet stem with ReLU; conv1_1; Linear', () => {
    const keys = positionalLutKeys(loadSpace('mbv2-fmnist28'), 32);
    // Fashion-MNIST: 1 channel, 28² → stem stride 2 → 14², head_block 16→16 on 14².
    expect(nativeEntriesOf(keys.stem)).toEqual([
      { kind: 'stem', op: 'relu6', cIn: 1, cOut: 16, stride: 2, h: 28, w: 28 },
      { kind: 'op', op: 'mbconv_k3_t1', cIn: 16, cOut: 16, stride: 1, h: 14, w: 14 },
    ]);
    // Odd sizes round up: block 4 (7²) → block 5 (4²) by stride 2.
    expect(nativeEntriesOf(keys.blocks[4].head[1][0])).toEqual([{ kind: 'op', op: 'mbconv_k3_t3', cIn: 40, cOut: 56, stride: 2, h: 7, w: 7 }]);
    expect(nativeEntriesOf(keys.conv1x1[0])).toEqual([{ kind: 'conv1_1', cIn: 384, cOut: 1984, h: 2, w: 2 }]);
    expect(nativeEntriesOf(keys.classifier)).toEqual([{ kind: 'linear', cIn: 1984, cOut: 10 }]);
    const res = positionalLutKeys(tinySpace('res'), 2);
    expect(nativeEntriesOf(res.stem)).toEqual([{ kind: 'stem', op: 'relu', cIn: 3, cOut: 8, stride: 2, h: 16, w: 16 }]);
    // A sum of independent parts: means, medians, minima and variances add; the count is the smaller one.
    expect(addStats([
      { count: 3, mean: 1, median: 2, std: 3, min: 0.5 },
      { count: 5, mean: 2, median: 1, std: 4, min: 0.25 },
    ])).toEqual({ count: 3, mean: 3, median: 3, std: 5, min: 0.75 });
  });

  test('ResNet-type space: the stem_res entry is timed too', async () => {
    const r = await buildLut(tinyConfig('res'), FAST);
    const stem = r.lut.entries.find((e) => e.op === 'stem_res')!;
    expect(lutKeyString(stem)).toBe('stem_res/3/8/2/16x16/2');
    expect(stem.median).toBeGreaterThan(0);
    expect(r.entries).toBe(20);
  });

  test('mbv2-fmnist28 (§8 space at 28²): 402 entries for 584 positions, keys at the actual sizes 14/7/4/2', async () => {
    const config = loadConfig('mbv2-fmnist28');
    const space = buildDenseSpace(config);
    const file = path.join(dir, 'fmnist.lut.json');
    const latList = path.join(dir, 'fmnist.lat_list');
    const r = await buildLut(config, { ...FAST, out: file, latList });
    expect([r.entries, r.positions, r.measured]).toEqual([402, 584, 402]);
    expect(new Set(r.lut.entries.map((e) => e.h))).toEqual(new Set([28, 14, 7, 4, 2, 1]));
    const onDisk = await readLutFile(file);
    expect(onDisk).toEqual(r.lut);
    // The positional lat_list holds the medians at each position and fits the space.
    const costs = await readLatListFile(latList, space);
    expect(costs).toEqual(costListFromLut(space, r.lut, { statistic: 'median' }));
    for (const b of costs.blocks) for (const layer of b.stack) expect(layer[6]).toBeLessThan(Math.min(...layer.slice(0, 6)));
  });
});

describe('resume: a build writes as it goes and times only what the file lacks', () => {
  test('abort after 7 entries, rebuild: 13 measured, the 7 kept untouched, the table complete', async () => {
    const file = path.join(dir, 'resume.lut.json');
    const plan = lutPlan(tinySpace(), 2);
    const controller = new AbortController();
    const first: string[] = [];
    const onDisk: number[] = [];
    const run = buildLut(tinyConfig(), {
      ...FAST,
      out: file,
      saveEverySeconds: 0,
      signal: controller.signal,
      onProgress: (done, total, fields) => {
        first.push(String(fields?.entry));
        expect([done, total]).toEqual([first.length, 20]);
        // Written as it goes: the file already holds every entry timed so far.
        onDisk.push((JSON.parse(fs.readFileSync(file, 'utf8')) as DenseNasLut).entries.length);
        if (first.length === 7) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED', message: `LUT build was cancelled after 7 of 20 entries; ${file} holds them and the same command resumes` });
    expect(onDisk).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(first).toEqual(plan.slice(0, 7).map((p) => p.id));
    const partial = await readLutFile(file);
    expect(partial.entries.map(lutKeyString)).toEqual(first);

    const second: string[] = [];
    const r = await buildLut(tinyConfig(), { ...FAST, out: file, onProgress: (done, _total, fields) => second.push(`${done}:${String(fields?.entry)}`) });
    expect(second).toEqual(plan.slice(7).map((p, i) => `${8 + i}:${p.id}`));
    expect([r.measured, r.resumed, r.kept]).toEqual([13, 7, 0]);
    const complete = await readLutFile(file);
    expect(complete.entries.map(lutKeyString)).toEqual(plan.map((p) => p.id));
    expect(complete.entries.slice(0, 7)).toEqual(partial.entries);
    costListFromLut(tinySpace(), complete);

    // Complete already: nothing to time.
    const again: unknown[] = [];
    const r3 = await buildLut(tinyConfig(), { ...FAST, out: file, onProgress: (...row) => again.push(row) });
    expect(again).toEqual([]);
    expect([r3.measured, r3.resumed]).toEqual([0, 20]);
    expect(await readLutFile(file)).toEqual(complete);
  });

  test('another config into the same file: shared keys reused, the file\'s other entries kept', async () => {
    const file = path.join(dir, 'shared.lut.json');
    await buildLut(tinyConfig(), { ...FAST, out: file });
    // 7 classes instead of 5: only the classifier key differs.
    const seven = parseDenseNasConfig(tinyYaml().replace('num_classes: 5', 'num_classes: 7'), 'tiny7.yaml');
    const measured: string[] = [];
    const r = await buildLut(seven, { ...FAST, out: file, onProgress: (_d, _t, f) => measured.push(String(f?.entry)) });
    expect(measured).toEqual(['linear/32/7/1/1x1/2']);
    expect([r.measured, r.resumed, r.kept]).toEqual([1, 19, 1]);
    const lut = await readLutFile(file);
    expect(lut.entries).toHaveLength(21);
    expect(lut.entries[20].op).toBe('linear');
    expect(lut.entries[20].cOut).toBe(5);
    costListFromLut(tinySpace(), lut);
    costListFromLut(buildDenseSpace(seven), lut);
  });

  test('a file of another fingerprint is refused (naming the fields) unless fresh; a corrupt one names the file', async () => {
    const file = path.join(dir, 'other.lut.json');
    await buildLut(tinyConfig(), { ...FAST, out: file });
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as DenseNasLut;
    raw.fingerprint.device = 'cuda: NVIDIA H200';
    fs.writeFileSync(file, JSON.stringify(raw));
    await expect(buildLut(tinyConfig(), { ...FAST, out: file })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds a LUT of another fingerprint \\(device: LUT "cuda: NVIDIA H200" ≠ "cpu: .*"\\), so this run cannot resume from it: .*--fresh$`)),
    });
    await expect(buildLut(tinyConfig(), { ...FAST, batch: 1, out: file, fresh: true })).resolves.toMatchObject({ measured: 20, resumed: 0 });
    await expect(buildLut(tinyConfig(), { ...FAST, out: file })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('(batch: LUT 1 ≠ 2)') });
    fs.writeFileSync(file, '{"format": "torchnas-densenas-lut"');
    await expect(buildLut(tinyConfig(), { ...FAST, out: file })).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: expect.stringMatching(/^cannot resume from .*other\.lut\.json: .*corrupt JSON.*--fresh$/) });
  });

  test('bad options are refused before any timing', async () => {
    const calls: unknown[] = [];
    const onProgress = (...row: unknown[]) => calls.push(row);
    await expect(buildLut(tinyConfig(), { ...FAST, minRuns: 5, maxRuns: 3, onProgress })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'maxRuns (--max-runs 3) must be >= minRuns (--min-runs 5)' });
    await expect(buildLut(tinyConfig(), { ...FAST, warmup: -1, onProgress })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'warmup (--warmup) must be an integer >= 0, got -1' });
    await expect(buildLut(tinyConfig(), { ...FAST, batch: 0, onProgress })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'batch (--batch) must be an integer >= 1, got 0' });
    await expect(buildLut(tinyConfig(), { ...FAST, relSe: -0.1, onProgress })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'relSe (--rel-se) must be a number >= 0, got -0.1' });
    const missing = path.join(dir, 'no-such-folder', 'lut.json');
    await expect(buildLut(tinyConfig(), { ...FAST, out: missing, onProgress })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `cannot write --out ${missing}: folder ${path.dirname(missing)} does not exist` });
    await expect(buildLut(tinyConfig(), { ...FAST, device: 'tpu', onProgress })).rejects.toBeInstanceOf(TorchnasError);
    const broken = { ...tinyConfig(), optim: { ...tinyConfig().optim, head_dim: 9 } } as DenseNasConfig;
    await expect(buildLut(broken, { ...FAST, onProgress })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('optim.head_dim') });
    expect(calls).toEqual([]);
  });
});

describe('checkLut and showLut', () => {
  let lut: DenseNasLut;
  beforeAll(async () => {
    lut = (await buildLut(tinyConfig(), FAST)).lut;
  });

  test('check re-times a seeded sample: finite drift per entry, median |drift|, no fingerprint difference here', async () => {
    const r = await checkLut(tinyConfig(), lut, { ...FAST, sample: 6, seed: 3 });
    expect([r.entries, r.sampled, r.rows.length, r.seed, r.passes]).toEqual([20, 6, 6, 3, 2]);
    // two passes: the machine's run-to-run repeatability from their spread, part of every row's noise
    expect(r.repeatability).not.toBeNull();
    expect(r.repeatability!).toBeGreaterThanOrEqual(0);
    const logs = r.rows.map((row) => Math.abs(Math.log(row.passes[1] / row.passes[0]))).sort((a, b) => a - b);
    expect(r.repeatability!).toBeCloseTo((1.4826 * (logs[2] + logs[3])) / 2 / Math.SQRT2, 12);
    const ids = lutPlan(tinySpace(), 2).map((p) => p.id);
    // In traversal order, each a key of the space, each once.
    expect(r.rows.map((row) => ids.indexOf(row.entry))).toEqual([...r.rows.map((row) => ids.indexOf(row.entry))].sort((a, b) => a - b));
    expect(new Set(r.rows.map((row) => row.entry)).size).toBe(6);
    const stored = new Map(lut.entries.map((e) => [lutKeyString(e), e.median]));
    for (const row of r.rows) {
      expect(row.stored).toBe(stored.get(row.entry));
      expect(row.measured).toBeGreaterThan(0);
      expect(row.passes).toHaveLength(2);
      expect(row.measured).toBeCloseTo((row.passes[0] + row.passes[1]) / 2, 12);
      expect(Number.isFinite(row.drift)).toBe(true);
      expect(row.drift).toBeCloseTo(row.measured / row.stored - 1, 12);
      // both medians carry their standard errors (a keyed LUT built here): the drift gets its own noise
      const e = lut.entries.find((x) => lutKeyString(x) === row.entry)!;
      expect(e.medianSe).toBeGreaterThanOrEqual(0);
      expect(row.noise).not.toBeNull();
      expect(row.noise!).toBeGreaterThanOrEqual(e.medianSe! / e.median - 1e-12);
      expect(row.noise!).toBeGreaterThanOrEqual(r.repeatability! * Math.sqrt(1.5) - 1e-12);
      expect(row.beyondNoise).toBe(Math.abs(row.drift!) > 1.96 * row.noise!);
    }
    expect(r.beyondNoise).toEqual({ rows: r.rows.filter((row) => row.beyondNoise).length, of: 6 });
    // a stored entry without medianSe (an older LUT, a lat_list): in one pass no noise estimate, in two the
    // run-to-run repeatability alone
    const bare = { ...lut, entries: lut.entries.map(({ medianSe: _s, ...rest }) => rest) };
    const noNoise = await checkLut(tinyConfig(), bare, { ...FAST, sample: 2, seed: 3, passes: 1 });
    expect(noNoise.rows.map((row) => [row.noise, row.beyondNoise, row.passes.length])).toEqual([[null, null, 1], [null, null, 1]]);
    expect([noNoise.beyondNoise, noNoise.repeatability, noNoise.passes]).toEqual([null, null, 1]);
    const repeated = await checkLut(tinyConfig(), bare, { ...FAST, sample: 2, seed: 3 });
    for (const row of repeated.rows) expect(row.noise).toBeGreaterThanOrEqual(repeated.repeatability! * Math.sqrt(1.5) * (1 - 1e-12));
    await expect(checkLut(tinyConfig(), lut, { ...FAST, passes: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/passes \(--passes\) must be an integer >= 1/) });
    const abs = r.rows.map((row) => Math.abs(row.drift!)).sort((a, b) => a - b);
    expect(r.medianAbsDrift).toBeCloseTo((abs[2] + abs[3]) / 2, 12);
    expect(r.maxAbsDrift).toBe(abs[5]);
    expect(r.fingerprint).toEqual({ lut: lut.fingerprint, here: lut.fingerprint, differences: [] });
    // The same seed draws the same sample; another seed another one.
    const again = await checkLut(tinyConfig(), lut, { ...FAST, sample: 6, seed: 3 });
    expect(again.rows.map((row) => row.entry)).toEqual(r.rows.map((row) => row.entry));
    const other = await checkLut(tinyConfig(), lut, { ...FAST, sample: 6, seed: 4 });
    expect(other.rows.map((row) => row.entry)).not.toEqual(r.rows.map((row) => row.entry));
    // A sample larger than the table re-times all of it.
    expect((await checkLut(tinyConfig(), lut, { ...FAST, sample: 100 })).sampled).toBe(20);
  });

  test('check reports fingerprint differences; a lat_list has none recorded', async () => {
    const older = { ...lut, fingerprint: { ...lut.fingerprint, torch: '0.4.1', threads: lut.fingerprint.threads + 3 } };
    const r = await checkLut(tinyConfig(), older, { ...FAST, sample: 1 });
    expect(r.fingerprint.differences).toEqual([`threads: LUT ${lut.fingerprint.threads + 3} ≠ ${lut.fingerprint.threads}`, `torch: LUT "0.4.1" ≠ "${lut.fingerprint.torch}"`]);
    const small32 = loadConfig('mbv2-small32');
    const loaded = await readLutOrLatListFile(SMALL32_LAT_LIST, { space: buildDenseSpace(small32), batch: 2 });
    const p = await checkLut(small32, loaded, { ...FAST, sample: 2 });
    expect(p.format).toBe('lat_list');
    expect(p.fingerprint.lut).toBeNull();
    expect(p.fingerprint.differences).toEqual(['the positional lat_list format records no fingerprint (device, threads, LibTorch version unknown); batch 2 assumed']);
    expect(p.rows).toHaveLength(2);
  });

  test('a LUT of another space is refused, naming how much is missing and the first position', async () => {
    await expect(checkLut(loadConfig('mbv2-small32'), lut, { ...FAST, configName: 'mbv2-small32.yaml' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message:
        "the LUT does not fit mbv2-small32.yaml: it lacks 402 of the 402 entries that space needs at batch 2, first stem: key stem_mbv2/3/16/2/32x32/2 (a LUT of another space or batch? build one with 'torchnas lut build')",
    });
    const partial = { ...lut, entries: lut.entries.filter((e) => e.op !== 'conv1_1') };
    await expect(checkLut(tinyConfig(), partial, FAST)).rejects.toMatchObject({ message: expect.stringContaining('it lacks 2 of the 20 entries that space needs at batch 2, first conv1_1 branch 0: key conv1_1/20/32/1/4x4/2') });
  });

  test('show: entries, runs, total, spread, slowest first, per op; with a space, coverage and the positional total', () => {
    const s = showLut(lut, { space: tinySpace(), top: 3 });
    const medians = lut.entries.map((e) => e.median);
    expect(s.entries).toBe(20);
    expect(s.runs).toBe(lut.entries.reduce((a, e) => a + e.count, 0));
    expect(s.total).toBeCloseTo(medians.reduce((a, b) => a + b, 0), 12);
    expect(s.slowest).toHaveLength(3);
    expect(s.slowest[0].median).toBe(Math.max(...medians));
    expect(s.slowest[1].median).toBeLessThanOrEqual(s.slowest[0].median);
    expect(s.slowest[0].share).toBeCloseTo(s.slowest[0].median / s.total, 12);
    const cvs = lut.entries.map((e) => e.std / e.mean).sort((a, b) => a - b);
    expect(s.spread).toBeCloseTo((cvs[9] + cvs[10]) / 2, 12);
    expect(s.ops.map((o) => [o.op, o.entries])).toEqual(expect.arrayContaining([['mbconv_k3_t3', 8], ['mbconv_k5_t6', 5], ['skip_connect', 3], ['conv1_1', 2], ['stem_mbv2', 1], ['linear', 1]]));
    expect(s.space).toEqual({ positions: 22, entries: 20, missing: 0, firstMissing: null, total: costListSum(costListFromLut(tinySpace(), lut, { statistic: 'median' })) });
    expect(showLut(lut, { space: loadSpace('mbv2-small32') }).space).toMatchObject({ missing: 402, firstMissing: 'stem: key stem_mbv2/3/16/2/32x32/2', total: null });
  });

  test('show of the bundled lat_list (§8): 402 keyed entries, 584 positions summing to the file\'s 1371.66 ms', async () => {
    const space = loadSpace('mbv2-small32');
    const loaded = await readLutOrLatListFile(SMALL32_LAT_LIST, { space });
    const s = showLut(loaded, { space });
    expect([s.format, s.entries, s.runs, s.spread, s.fingerprint]).toEqual(['lat_list', 402, null, null, null]);
    expect(s.space!.positions).toBe(584);
    expect(s.space!.total).toBeCloseTo(1371.6644525527954, 9);
    expect(loaded.lut.fingerprint.batch).toBe(32);
    await expect(readLutOrLatListFile(SMALL32_LAT_LIST)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('is a positional lat_list (densenas.md §5.2): it has no keys, so it needs the config it was measured for (--config F)') });
    const junk = path.join(dir, 'junk.txt');
    fs.writeFileSync(junk, 'hello');
    await expect(readLutOrLatListFile(junk)).rejects.toMatchObject({ code: 'FILE_CORRUPT', message: `${junk}: neither a keyed DenseNAS LUT (a JSON object) nor a positional lat_list (a nested list)` });
  });
});
