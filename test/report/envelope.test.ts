import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchnasError } from '../../src/core/errors';
import { info } from '../../src/core/device';
import { recordRun, ResultEnvelope } from '../../src/report/envelope';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-envelope-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const read = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as ResultEnvelope;
const description = { method: 'test run', device: 'cpu', seed: 3, config: { a: 1 } };
const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };

describe('the result.json envelope', () => {
  test('completed: versions, device, threads, seed, config, timestamps, and the result', async () => {
    const out = path.join(tmp, 'ok');
    const seen: ResultEnvelope[] = [];
    const r = await recordRun(description, { out, onEnvelope: (e) => seen.push(e) }, async () => ({ answer: 42 }), () => null);
    expect(r).toEqual({ answer: 42 });
    const e = read(out);
    expect(e).toEqual(seen[0]);
    expect(e).toMatchObject({ method: 'test run', torchnas: pkg.version, libtorch: info().libtorch, device: 'cpu', threads: info().threads, seed: 3, config: { a: 1 }, status: 'completed', result: { answer: 42 } });
    expect(e.error).toBeUndefined();
    expect(new Date(e.startedAt).toISOString()).toBe(e.startedAt);
    expect(Date.parse(e.finishedAt) - Date.parse(e.startedAt)).toBe(Math.round(e.wallSeconds * 1000));
  });

  test('interrupted and failed runs still write one valid envelope with their partial result, and rethrow', async () => {
    const cancelled = path.join(tmp, 'cancelled');
    await expect(recordRun(description, { out: cancelled }, async () => { throw new TorchnasError('stop', 'CANCELLED'); }, () => ({ done: 2 }))).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(read(cancelled)).toMatchObject({ status: 'interrupted', error: { code: 'CANCELLED', message: 'stop' }, result: { done: 2 } });

    const failed = path.join(tmp, 'failed');
    await expect(recordRun(description, { out: failed }, async () => { throw new RangeError('boom'); }, () => null)).rejects.toThrow('boom');
    expect(read(failed)).toMatchObject({ status: 'failed', error: { code: 'INTERNAL', message: 'boom' }, result: null });
  });

  test('nothing is written without out', async () => {
    const before = fs.readdirSync(tmp).length;
    await recordRun(description, {}, async () => 1, () => null);
    expect(fs.readdirSync(tmp)).toHaveLength(before);
  });
});
