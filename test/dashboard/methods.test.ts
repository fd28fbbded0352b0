/**
 * The DenseNAS and LUT views on runs made by the real commands (a tiny Fashion-MNIST space, so seconds):
 * op-probability histograms per epoch, predicted vs measured latency, LUT entries; and the run records the
 * commands leave (the LUT's beside the table).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { plotsOf, summarize } from '../../src/dashboard/plots';
import { RunsFolder } from '../../src/dashboard/runs';
import '../../src/dashboard/methods';
import { RunEventLog } from '../../src/report/events';
import { runCli } from '../helpers/cli';
import { tinySearchYaml } from '../helpers/densenas';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dashboard-methods-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const runs = path.join(tmp, 'runs');

/** The tiny space of test/methods/densenas-search.test.ts: blocks 0..4 on 28×28×1, FLOPs as the cost. */
const YAML = tinySearchYaml({ epochs: 3, seed: 3, archStart: 1, valStart: 2 });
const count = (plot: { series: { points?: unknown[]; values?: unknown[] }[] }) => plot.series.map((s) => (s.points ?? s.values ?? []).length);

test('densenas search and train: histograms per epoch, predicted vs measured latency, learning curves', async () => {
  const config = path.join(tmp, 'tiny.yaml');
  fs.writeFileSync(config, YAML);
  const search = await runCli(['densenas', 'search', '--config', config, '--limit', '64', '--measure', '--out', path.join(runs, 'search'), '--threads', '1']);
  expect(search.code).toBe(0);
  const train = await runCli(['densenas', 'train', '--net-config', path.join(runs, 'search'), '--epochs', '2', '--limit', '64', '--out', path.join(runs, 'train'), '--threads', '1']);
  expect(train.code).toBe(0);

  const folder = new RunsFolder(runs);
  expect(folder.list()).toEqual(['search', 'train']);
  const run = folder.read('search')!;
  const result = run.envelope!.result as { records: { epoch: number; stackOpProbability: Record<string, number>; derivedCost: number; derivedLatency: { median: number } | null }[] };
  expect(result.records.length).toBe(3);
  const plots = plotsOf(run);
  const stack = plots.find((p) => p.id === 'densenas:stackOpProbability')!;
  expect(stack.type).toBe('bar');
  expect(stack.categories).toEqual(Object.keys(result.records[0].stackOpProbability));
  expect(stack.series.map((s) => s.name)).toEqual(['epoch 1', 'epoch 2', 'epoch 3']);
  expect(stack.series[2].values).toEqual(Object.values(result.records[2].stackOpProbability));
  const latency = plots.find((p) => p.id === 'densenas:latency')!;
  // a FLOPs table (MMAdds): the table's prediction and the measured latency in plots of their own units
  expect(latency.series.map((s) => s.name)).toEqual(['predicted by the table (MMAdds)', 'expected cost of the super network']);
  expect(latency.series[0].points).toEqual(result.records.map((e) => [e.epoch, e.derivedCost]));
  const measured = plots.find((p) => p.id === 'densenas:measured')!;
  expect(measured.yLabel).toBe('ms per batch');
  expect(measured.series[0].points).toEqual(result.records.map((e) => [e.epoch, e.derivedLatency!.median]));
  // every progress event is a point of the generic loss series
  const progress = run.events.filter((e) => e.type === 'progress' && typeof e.fields.loss === 'number').length;
  expect(count(plots.find((p) => p.id === 'events:loss')!)).toEqual([progress]);
  expect(summarize(run)).toMatchObject({ method: 'densenas search', status: 'completed', seed: 3 });

  const trained = folder.read('train')!;
  const t = trained.envelope!.result as { epochs: unknown[]; predictedCost: number; measuredLatencyMs: number };
  const trainPlots = plotsOf(trained);
  expect(count(trainPlots.find((p) => p.id === 'densenas-train:loss')!)).toEqual([t.epochs.length]);
  expect(trainPlots.find((p) => p.id === 'densenas-train:latency')!.series[0].values).toEqual([t.predictedCost, t.measuredLatencyMs]);
}, 120000);

test('lut build: its run record sits beside the table; the view plots every entry; a search against it plots predicted vs measured ms', async () => {
  const config = path.join(tmp, 'tiny-latency.yaml');
  fs.writeFileSync(config, YAML.replace('type: flops', 'type: latency'));
  fs.mkdirSync(path.join(runs, 'lut'), { recursive: true });
  const table = path.join(runs, 'lut', 'tiny.lut.json');
  const r = await runCli(['lut', 'build', '--config', config, '--batch', '16', '--warmup', '0', '--min-runs', '2', '--max-runs', '2', '--threads', '1', '--out', table]);
  expect(r.code).toBe(0);
  const folder = new RunsFolder(runs);
  expect(folder.list()).toContain('lut/tiny.lut.run');
  const run = folder.read('lut/tiny.lut.run')!;
  const lut = JSON.parse(fs.readFileSync(table, 'utf8')) as { entries: { median: number }[] };
  const entries = plotsOf(run).find((p) => p.id === 'lut:entries')!;
  expect(entries.categories!.length).toBe(lut.entries.length);
  expect(entries.series[0].values).toEqual(lut.entries.map((e) => e.median).sort((a, b) => b - a));
  expect(run.events.filter((e) => e.type === 'progress').length).toBe(lut.entries.length);
  // the start line carries the build's description (seed, config with the LUT settings)
  expect(run.events[0]).toMatchObject({ type: 'start', method: 'lut build', seed: 0, config: { lut: { batch: 16, out: table } } });
  expect(summarize(run)).toMatchObject({ method: 'lut build', status: 'completed', headline: expect.stringMatching(new RegExp(`^${lut.entries.length} entries`)) });

  // a search against that latency table: prediction (ms) and measurement share one plot
  const search = await runCli(['densenas', 'search', '--config', config, '--lut', table, '--epochs', '2', '--limit', '32', '--out', path.join(runs, 'latency-search'), '--threads', '1']);
  expect(search.code).toBe(0);
  const searched = new RunsFolder(runs).read('latency-search')!;
  const records = (searched.envelope!.result as { records: { epoch: number; derivedCost: number; derivedLatency: { median: number } }[] }).records;
  const latency = plotsOf(searched).find((p) => p.id === 'densenas:latency')!;
  expect(latency.yLabel).toBe('ms');
  expect(latency.series.map((s) => s.name)).toEqual(['predicted by the table (ms)', 'expected cost of the super network', 'measured on this device (ms, median)']);
  expect(latency.series[2].points).toEqual(records.map((e) => [e.epoch, e.derivedLatency.median]));
}, 120000);

test('NAR runs (the contract nar train|search join by): progress fields as learning curves, predicted-vs-true records as a scatter', () => {
  // no NAR command writes runs yet: this run is written through the same writer the CLI uses
  const dir = path.join(runs, 'nar');
  const log = RunEventLog.open(dir);
  log.start({ method: 'nar train', device: 'cpu', seed: 1, config: { epochs: 3 } });
  const curve = [0.9, 0.6, 0.45];
  curve.forEach((loss, k) => log.progress(k + 1, 3, { epoch: k + 1, loss, kendallTau: 0.2 * (k + 1) }));
  log.record('predicted-vs-true', { name: 'validation', predicted: [0.1, 0.4, 0.35, 0.8], actual: [0.2, 0.3, 0.5, 0.9] });
  log.close();
  const run = new RunsFolder(runs).read('nar')!;
  expect(run.status).toBe('running'); // start without end, and this process lives
  const plots = plotsOf(run);
  expect(plots.find((p) => p.id === 'events:loss')!.series[0].points).toEqual(curve.map((loss, k) => [k + 1, loss]));
  expect(plots.find((p) => p.id === 'events:kendallTau')!.series[0].points!.length).toBe(3);
  expect(plots.find((p) => p.id === 'nar:predicted-vs-true')!.series).toEqual([{ name: 'validation', points: [[0.2, 0.1], [0.3, 0.4], [0.5, 0.35], [0.9, 0.8]] }]);
});

test('a TE-NAS search in progress: finished rounds from their records, the current round from the candidates scored so far', () => {
  // the real search's record, cut in the middle of its second round, as if the (living) search were still going
  const lines = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'dashboard', 'tenas-search', 'events.jsonl'), 'utf8').trim().split('\n');
  const events = lines.map((l) => JSON.parse(l) as { type: string; kind?: string; fields?: { round?: number } });
  const firstRecord = events.findIndex((e) => e.type === 'record' && e.kind === 'round');
  const cut = firstRecord + 1 + 7; // seven candidates of round 2 scored
  expect(events.slice(firstRecord + 1, cut).every((e) => e.type === 'progress' && e.fields?.round === 2)).toBe(true);
  const start = { ...JSON.parse(lines[0]), pid: process.pid, host: os.hostname() };
  const dir = path.join(runs, 'tenas-live');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), [JSON.stringify(start), ...lines.slice(1, cut)].join('\n') + '\n');

  const run = new RunsFolder(runs).read('tenas-live')!;
  expect(run.status).toBe('running');
  const plots = plotsOf(run);
  const round0 = (events[firstRecord] as unknown as { data: { candidates: { pruned: boolean }[] } }).data.candidates;
  expect(count(plots.find((p) => p.id === 'tenas:round:0')!)).toEqual([round0.filter((c) => !c.pruned).length, round0.filter((c) => c.pruned).length]);
  const current = plots.find((p) => p.id === 'tenas:round:1')!;
  expect(current.title).toMatch(/in progress/);
  expect(count(current)).toEqual([7]);
  expect(plots.some((p) => p.id === 'tenas:round:2')).toBe(false);
  // what the scatters show is not repeated as per-step series
  expect(plots.filter((p) => p.id.startsWith('events:'))).toEqual([]);
});
