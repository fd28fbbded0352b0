/**
 * The DenseNAS search loop on Fashion-MNIST with a tiny space (fast): per-epoch outputs, the warm-up /
 * search / validation schedule, resume after an interruption equal to an uninterrupted run, derive from
 * a checkpoint, and clear errors. The full MBV2 spaces run the same code (see the README's commands).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDenseSearch, SEARCH_FILES, DenseSearchResult } from '../../src/methods/densenas/search';
import { buildLut } from '../../src/methods/densenas/lut';
import { parseDenseNasConfig, parseNetConfig } from '../../src/spaces/densenas';
import { CHECKPOINT_FILE, RUN_FILE } from '../../src/core/resume';
import { runCli } from '../helpers/cli';
import { configPath, tinySearchYaml } from '../helpers/densenas';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-densenas-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Blocks 0..4 on 28×28×1; arch steps from epoch 1 (0-based), validation from epoch 2; FLOPs as the cost. */
const YAML = tinySearchYaml({ epochs: 4, seed: 3, archStart: 1, valStart: 2 });
const config = () => parseDenseNasConfig(YAML, 'tiny-fmnist.yaml');
// Wall time and the derived network's measured latency vary between runs; everything else must not.
const strip = (r: DenseSearchResult) => r.records.map(({ seconds: _s, derivedLatency: _l, ...rest }) => rest);

test('a search writes every epoch: checkpoint, net_config (text and JSON), records, histograms, top-k', async () => {
  const out = path.join(tmp, 'run');
  const rows: string[] = [];
  const r = await runDenseSearch(config(), { limit: 64, out, onProgress: (_d, _t, f) => rows.push(String(f?.phase)) });
  expect(r.records.map((e) => [e.epoch, e.stage, e.archLoss === null, e.valAccuracy === null])).toEqual([
    [1, 'warmup', true, true],
    [2, 'search', false, true],
    [3, 'search', false, false],
    [4, 'search', false, false],
  ]);
  expect(new Set(rows)).toEqual(new Set(['warm-up', 'arch', 'weights', 'validation']));
  expect(r.costUnit).toBe('MMAdds');
  for (const e of r.records) {
    expect(e.expectedCost).toBeGreaterThan(0);
    expect(e.derivedCost).toBeGreaterThan(0);
    const head = Object.values(e.headOpProbability);
    expect(head.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  }
  for (const f of [CHECKPOINT_FILE, RUN_FILE, SEARCH_FILES.netConfig, SEARCH_FILES.netConfigJson, SEARCH_FILES.records, SEARCH_FILES.topK, SEARCH_FILES.histogram, 'result.json']) {
    expect(fs.existsSync(path.join(out, f))).toBe(true);
  }
  const text = fs.readFileSync(path.join(out, SEARCH_FILES.netConfig), 'utf8');
  expect(text).toMatch(/net_type: mbv2\s*$/);
  const parsed = parseNetConfig(text);
  expect(parsed.entries[0]).toEqual({ kind: 'block', inChannels: 8, outChannels: 8, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 });
  expect(r.topK.length).toBe(2);
  expect(fs.readFileSync(path.join(out, SEARCH_FILES.histogram), 'utf8')).toMatch(/^<svg/);
  const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  expect(envelope).toMatchObject({ method: 'densenas search', status: 'completed', seed: 3 });

  // derive from the checkpoint gives the last epoch's network
  const derived = await runCli(['densenas', 'derive', '--checkpoint', out, '--json']);
  expect(derived.code).toBe(0);
  expect(JSON.parse(derived.stdout).netConfig).toEqual(parseNetConfig(r.derived.netConfig));
}, 120_000);

test('interrupted after an epoch and resumed: the same records and network as an uninterrupted run', async () => {
  const whole = await runDenseSearch(config(), { limit: 48, seed: 5 });
  const out = path.join(tmp, 'interrupted');
  const controller = new AbortController();
  const run = runDenseSearch(config(), {
    limit: 48,
    seed: 5,
    out,
    signal: controller.signal,
    onProgress: (_d, _t, f) => {
      if (f?.epoch === 3) controller.abort(); // after two finished (and checkpointed) epochs
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
  const copy = path.join(tmp, 'interrupted-copy');
  fs.cpSync(out, copy, { recursive: true });
  const resumed = await runDenseSearch(config(), { limit: 48, resume: out });
  expect(resumed.resumedAtEpoch).toBe(2);
  expect(strip(resumed)).toEqual(strip(whole));
  expect(resumed.derived).toEqual(whole.derived);
  await expect(runDenseSearch(config(), { limit: 48, resume: out, seed: 6 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('seed 5, not 6') });
  // `densenas search --resume DIR` alone: the config, limit and the rest come from DIR's run.json
  const cli = await runCli(['densenas', 'search', '--resume', copy, '--json']);
  expect({ code: cli.code, stderr: cli.code === 0 ? '' : cli.stderr }).toEqual({ code: 0, stderr: '' });
  const envelope = JSON.parse(cli.stdout);
  expect(envelope.result.resumedAtEpoch).toBe(2);
  expect(strip(envelope.result)).toEqual(strip(whole));
}, 240_000);

test('annealed temperature and Gumbel-softmax: T as scheduled, deterministic per seed, resume equals uninterrupted; measured derived latency', async () => {
  const schedule = '    arch_update_epoch: 1\n    softmax_temp_decay: 0.5\n    softmax_temp_min: 0.3\n';
  const gumbel = () => parseDenseNasConfig(YAML.replace('    arch_update_epoch: 1\n', `${schedule}    gumbel: true\n`), 'gumbel.yaml');
  const plain = () => parseDenseNasConfig(YAML.replace('    arch_update_epoch: 1\n', schedule), 'annealed.yaml');
  const a = await runDenseSearch(gumbel(), { limit: 32, seed: 7, measureDerived: true });
  // T0 = 1 until arch updates start (epoch index 1), then ×0.5 per epoch, floored at 0.3.
  expect(a.records.map((r) => r.temperature)).toEqual([1, 1, 0.5, 0.3]);
  for (const r of a.records) {
    expect(r.derivedLatency!.median).toBeGreaterThan(0);
    expect(r.derivedLatency!.count).toBeGreaterThanOrEqual(1);
  }
  const again = await runDenseSearch(gumbel(), { limit: 32, seed: 7 });
  expect(again.records.every((r) => r.derivedLatency === null)).toBe(true); // FLOPs table: not measured unless asked
  expect(strip(again)).toEqual(strip(a));
  // The noise changes the architecture steps (same seed, same schedule, no Gumbel).
  const noNoise = await runDenseSearch(plain(), { limit: 32, seed: 7 });
  expect(noNoise.records[0].weightLoss).toBe(a.records[0].weightLoss); // warm-up: identical
  expect(noNoise.records[1].archLoss).not.toEqual(a.records[1].archLoss);

  const out = path.join(tmp, 'gumbel-interrupted');
  const controller = new AbortController();
  const run = runDenseSearch(gumbel(), {
    limit: 32,
    seed: 7,
    out,
    signal: controller.signal,
    onProgress: (_d, _t, f) => {
      if (f?.epoch === 4) controller.abort(); // after three checkpointed epochs, with T already annealed
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
  const resumed = await runDenseSearch(gumbel(), { limit: 32, resume: out });
  expect(resumed.resumedAtEpoch).toBe(3);
  expect(strip(resumed)).toEqual(strip(a));
}, 240_000);

test('a LUT built by lut build on this device is accepted by search (same fingerprint), and the derived net is timed', async () => {
  const latency = parseDenseNasConfig(YAML.replace('type: flops', 'type: latency'), 'latency.yaml');
  const lut = path.join(tmp, 'tiny-lut.json');
  await buildLut(latency, { batch: 16, out: lut, warmup: 1, minRuns: 3, maxRuns: 5 });
  const r = await runDenseSearch(latency, { lut, epochs: 2, limit: 16, archStart: 1, valStart: 1 });
  expect(r.costUnit).toBe('ms');
  expect(r.records.every((e) => e.derivedLatency !== null && e.derivedLatency.median > 0)).toBe(true);
  // Another batch than the LUT's is another fingerprint: refused, naming the field.
  await expect(runDenseSearch(latency, { lut, epochs: 1, limit: 16, batchSize: 8 })).rejects.toMatchObject({ message: expect.stringMatching(/batch/) });
}, 120_000);

test('bad schedule keys are config errors naming the key', () => {
  expect(() => parseDenseNasConfig(YAML.replace('    arch_update_epoch: 1\n', '    arch_update_epoch: 1\n    softmax_temp_decay: 1.5\n'), 'x.yaml')).toThrow(/softmax_temp_decay/);
  expect(() => parseDenseNasConfig(YAML.replace('    arch_update_epoch: 1\n', '    arch_update_epoch: 1\n    gumbel: 3\n'), 'x.yaml')).toThrow(/gumbel/);
});

test('clear errors: a latency config without a LUT, images that do not fit the config, a LUT of another space', async () => {
  const latency = parseDenseNasConfig(YAML.replace('type: flops', 'type: latency'), 'latency.yaml');
  await expect(runDenseSearch(latency, { limit: 16 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/--lut/) });
  const small32 = parseDenseNasConfig(fs.readFileSync(configPath('mbv2-small32'), 'utf8'), 'mbv2-small32.yaml');
  await expect(runDenseSearch(small32, { limit: 16, lut: 'densenas/lat-small32-cpu' })).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
    message: expect.stringMatching(/fashion-mnist has 1×28×28 images but the config's data.input_size is \(3,32,32\)/),
  });
  await expect(runDenseSearch(config(), { limit: 16, lut: 'densenas/lat-small32-cpu' })).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
}, 60_000);

test('folder:DIR data: a search on an image folder (classes = sorted folders, resized to data.input_size), num_classes checked', async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { PNG } = require('pngjs') as { PNG: { sync: { write(png: { width: number; height: number; data: Buffer }): Buffer } } };
  const root = path.join(tmp, 'images');
  const colours: Record<string, [number, number, number]> = { blue: [20, 40, 220], green: [30, 200, 40], red: [220, 30, 30] };
  for (const [name, rgb] of Object.entries(colours)) {
    for (let i = 0; i < 8; i++) {
      const [w, h] = [20 + i, 18];
      const data = Buffer.alloc(w * h * 4);
      for (let p = 0; p < w * h; p++) data.set([...rgb.map((v) => Math.min(255, v + ((p * 5 + i) % 30))), 255], p * 4);
      fs.mkdirSync(path.join(root, 'train', name), { recursive: true });
      fs.writeFileSync(path.join(root, 'train', name, `${i}.png`), PNG.sync.write({ width: w, height: h, data }));
    }
  }
  const rgb = (classes: number) =>
    parseDenseNasConfig(
      YAML.replace('num_classes: 10', `num_classes: ${classes}`).replace('input_size: (1,28,28)', 'input_size: (3,16,16)').replace('mean: [0.286]', 'mean: [0.5, 0.5, 0.5]').replace('std: [0.353]', 'std: [0.25, 0.25, 0.25]'),
      'tiny-folder.yaml',
    );
  const r = await runDenseSearch(rgb(3), { data: `folder:${root}`, epochs: 2, limit: 16 });
  expect(r.data).toBe(`folder:${root}`);
  expect(r.records).toHaveLength(2);
  expect(r.trainImages + r.valImages).toBeGreaterThan(0);
  expect(Number.isFinite(r.records[1].weightLoss)).toBe(true);
  await expect(runDenseSearch(rgb(10), { data: `folder:${root}`, epochs: 1, limit: 16 })).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
    message: expect.stringMatching(/3 class folders but the config's num_classes is 10/),
  });
  await expect(runDenseSearch(rgb(3), { data: `folder:${path.join(tmp, 'nothing-here')}`, epochs: 1 })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
}, 120_000);
