/**
 * Run records (events.jsonl): the writer and reader, a real command's record matching its result.json, and a
 * run killed midway leaving a readable prefix that the dashboard lists as stopped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMethod } from '../../src/cli/command';
import { recordRun } from '../../src/report/envelope';
import { EVENTS_FILE, parseEvents, ProgressEvent, RunEventLog, StartEvent } from '../../src/report/events';
import { RunsFolder, statusOf } from '../../src/dashboard/runs';
import { summarize } from '../../src/dashboard/plots';
import { PACKAGE_ROOT } from '../../src/native';
import { compileCli, runCli, spawnCli } from '../helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-events-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const read = (dir: string) => parseEvents(fs.readFileSync(path.join(dir, EVENTS_FILE), 'utf8'));

test('each event is on disk as soon as it is logged; a cut last line is skipped, the rest reads', () => {
  const dir = path.join(tmp, 'unit');
  const log = RunEventLog.open(dir);
  // the folder and the file appear with the first line
  expect(fs.existsSync(dir)).toBe(false);
  log.start({ method: 'demo', device: 'cpu', seed: 5, config: { a: 1 } });
  log.progress(1, 4, { loss: 0.5, phase: 'warm-up' });
  // read back before close: the writes are not buffered in the process
  expect(read(dir).map((e) => e.type)).toEqual(['start', 'progress']);
  log.record('round', { round: 0, candidates: [] });
  log.progress(2, 4, { loss: Number.NaN });
  log.close();
  log.progress(3, 4); // after close: nothing
  const text = fs.readFileSync(path.join(dir, EVENTS_FILE), 'utf8');
  const events = parseEvents(text);
  expect(events.map((e) => e.type)).toEqual(['start', 'progress', 'record', 'progress']);
  expect(events[0]).toMatchObject({ method: 'demo', seed: 5, config: { a: 1 }, pid: process.pid, host: os.hostname() });
  expect((events[1] as ProgressEvent).fields).toEqual({ loss: 0.5, phase: 'warm-up' });
  expect((events[3] as ProgressEvent).fields.loss).toBeNull();
  // a killed writer's last line, cut short, and a line still being written
  expect(parseEvents(text + '{"type":"progress","do').length).toBe(4);
  expect(parseEvents(text + '{"type":"progress","do\n' + '{"t":1,"type":"end","status":"completed"}\n').map((e) => e.type)).toEqual(['start', 'progress', 'record', 'progress', 'end']);
});

test('runMethod with a record folder: start from recordRun, progress and record lines, end with the envelope status; writeResult writes result.json', async () => {
  const dir = path.join(tmp, 'method');
  const value = await runMethod(
    'demo',
    false,
    (context) =>
      recordRun({ method: 'demo run', device: 'cpu', seed: 11, config: { steps: 3 } }, { onEnvelope: context.onEnvelope, onStart: context.onStart }, async () => {
        for (let k = 1; k <= 3; k++) context.onProgress(k, 3, { loss: 1 / k });
        context.onRecord('checkpoint', { step: 3 });
        return { answer: 42 };
      }, () => null),
    { record: dir, writeResult: true, progress: false },
  );
  expect(value).toEqual({ answer: 42 });
  const events = read(dir);
  expect(events.map((e) => e.type)).toEqual(['start', 'progress', 'progress', 'progress', 'record', 'end']);
  expect(events[0]).toMatchObject({ method: 'demo run', seed: 11, config: { steps: 3 } });
  const envelope = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  expect(envelope).toMatchObject({ method: 'demo run', status: 'completed', result: { answer: 42 } });
  expect(events[5]).toMatchObject({ type: 'end', status: 'completed', wallSeconds: envelope.wallSeconds });

  // a run that fails once started: its start, its progress and a failed end naming the error
  const failed = path.join(tmp, 'failed');
  await expect(
    runMethod(
      'broken',
      false,
      (context) =>
        recordRun({ method: 'demo run', device: 'cpu', seed: 1, config: null }, { onStart: context.onStart, onEnvelope: context.onEnvelope }, async () => {
          context.onProgress(1, 2);
          throw Object.assign(new Error('NaN loss'), { code: 'TORCH_ERROR' });
        }, () => null),
      { record: failed, progress: false },
    ),
  ).rejects.toThrow('NaN loss');
  const failedEvents = read(failed);
  expect(failedEvents.map((e) => e.type)).toEqual(['start', 'progress', 'end']);
  expect(failedEvents[2]).toMatchObject({ type: 'end', status: 'failed', error: { message: 'NaN loss' } });
  // a command that fails before its run begins (a bad flag value found by the method) leaves nothing behind
  const early = path.join(tmp, 'early');
  await expect(runMethod('broken', false, async () => Promise.reject(new Error('--max-runs expects an integer')), { record: early, progress: false })).rejects.toThrow('--max-runs');
  expect(fs.existsSync(early)).toBe(false);
}, 30000);

test('`ncp train --out DIR` writes events.jsonl: one progress line per epoch, matching result.json', async () => {
  const config = path.join(tmp, 'ncp.yaml');
  fs.writeFileSync(config, fs.readFileSync(path.join(PACKAGE_ROOT, 'configs', 'ncp', 'seg.yaml'), 'utf8').replace('epoch: 200', 'epoch: 3'));
  const out = path.join(tmp, 'ncp');
  const r = await runCli(['ncp', 'train', '--config', config, '--out', out, '--seed', '4']);
  expect(r.code).toBe(0);
  const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  const events = read(out);
  expect(events[0]).toMatchObject({ type: 'start', method: 'ncp train', seed: 4 });
  const progress = events.filter((e): e is ProgressEvent => e.type === 'progress');
  expect(progress.map((e) => e.done)).toEqual([1, 2, 3]);
  expect(progress.map((e) => e.fields.loss)).toEqual(envelope.result.history.map((h: { trainLoss: number }) => h.trainLoss));
  expect(events[events.length - 1]).toMatchObject({ type: 'end', status: 'completed' });
  expect(statusOf(envelope, events)).toBe('completed');
}, 60000);

describe('a killed run', () => {
  let cli: string;
  beforeAll(() => {
    cli = compileCli('build-events-test');
  }, 120000);

  test('leaves a readable prefix (start and progress, no end); the dashboard lists it as stopped', async () => {
    const pinned = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'tenas-pinned.json'), 'utf8'));
    const config = path.join(tmp, 'tenas.yaml');
    fs.writeFileSync(config, JSON.stringify(pinned.config));
    const runs = path.join(tmp, 'runs');
    const out = path.join(runs, 'killed');
    const run = spawnCli(cli, ['tenas', 'search', '--config', config, '--out', out]);
    // the progress line on stderr comes after its event was written
    await run.waitForStderr(/TE-NAS nb201 search: \d+\/\d+/);
    // while it runs, the dashboard says so
    const folder = new RunsFolder(runs);
    expect(folder.read('killed')!.status).toBe('running');
    run.child.kill('SIGKILL');
    const exit = await run.exit;
    expect(exit.signal).toBe('SIGKILL');
    const events = read(out);
    expect(events[0]).toMatchObject({ type: 'start', method: 'tenas search', seed: pinned.config.seed, pid: run.child.pid });
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === 'end')).toBe(false);
    expect(fs.existsSync(path.join(out, 'result.json'))).toBe(false);
    const summary = summarize(folder.read('killed')!);
    expect(summary).toMatchObject({ id: 'killed', method: 'tenas search', status: 'stopped', seed: pinned.config.seed });
  }, 120000);
});
