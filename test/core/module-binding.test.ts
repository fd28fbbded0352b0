/**
 * The one module binding (native/napi/module_wrap.h) and job threads (core issue, items 1 and 3):
 * dispose/DISPOSED, BUSY on every access while a job runs (getters and both sides of copyParametersFrom),
 * jobs on threads of their own (not libuv's pool), per-job thread counts, progress never after settling,
 * a throwing progress callback rejecting its job. Every check is by ordering or by value, never by time.
 */
import * as fs from 'node:fs';
import { native } from '../../src/native';
import { tensor } from '../../src/core/tensor';
import { TorchnasError } from '../../src/core/errors';
import { linkCancelToken } from '../../src/core/cancel';
import { ntkNetwork, singlePathAlpha } from '../../src/methods/tenas/networks';

function batch(n: number) {
  const x = tensor(Uint8Array.from({ length: n * 784 }, (_, i) => (i * 13) % 256), [n, 28, 28]);
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i % 10), [n]);
  return { x, y };
}

describe('one module binding', () => {
  test('dispose(): later use is DISPOSED, dispose is idempotent, `using` disposes', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 1 });
    expect(model.disposed).toBe(false);
    expect(model.parameterBytes).toBeGreaterThan(0);
    model.dispose();
    model.dispose();
    expect(model.disposed).toBe(true);
    expect(() => model.parameterCount).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => model.parameterNames()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    const { x, y } = batch(4);
    expect(() => model.trainSteps(x, y, 1)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    let kept: { disposed: boolean } | undefined;
    {
      using scoped = ntkNetwork({ seed: 0 });
      kept = scoped;
      expect(scoped.disposed).toBe(false);
    }
    expect(kept.disposed).toBe(true);
  });

  test('while a job runs every access is BUSY: getters, parameters, both sides of copyParametersFrom, dispose', async () => {
    const b = native();
    const busy = new b.SmallCnn({ seed: 1 });
    const idle = new b.SmallCnn({ seed: 2 });
    const { x, y } = batch(64);
    const job = busy.trainSteps(x, y, 20);
    expect(busy.busy).toBe(true);
    const isBusy = expect.objectContaining({ code: 'BUSY' });
    expect(() => busy.parameterCount).toThrow(isBusy);
    expect(() => busy.bufferCount).toThrow(isBusy);
    expect(() => busy.parameter('conv1.weight')).toThrow(isBusy);
    expect(() => busy.parameterSummary()).toThrow(isBusy);
    expect(() => busy.setParameter('conv1.weight', idle.parameter('conv1.weight'))).toThrow(isBusy);
    expect(() => idle.copyParametersFrom(busy)).toThrow(isBusy); // the source is busy
    expect(() => busy.copyParametersFrom(idle)).toThrow(isBusy); // the destination is busy
    expect(() => busy.dispose()).toThrow(isBusy);
    await job;
    expect(busy.busy).toBe(false);
    idle.copyParametersFrom(busy);
    expect(idle.parameterSummary().sum).toBe(busy.parameterSummary().sum);
    expect(() => idle.copyParametersFrom(ntkNetwork({ seed: 0 }) as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('a getter called on a foreign object is INVALID_ARGUMENT, not a crash or a plain Error', () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 1 });
    const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(model), 'parameterCount')!.get!;
    for (const self of [{}, Object.create(b.SmallCnn.prototype), ntkNetwork({ seed: 0 }), b.SmallCnn.prototype]) {
      expect(() => getter.call(self)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(getter.call(model)).toBe(model.parameterCount);
  });
});

describe('jobs run on threads of their own', () => {
  test('a filesystem read completes while four long jobs run', async () => {
    // libuv's pool has 4 threads: jobs on it would leave none for fs.readFile until one ended.
    const b = native();
    const events: string[] = [];
    const tokens = [0, 1, 2, 3].map(() => new b.CancelToken());
    const { x, y } = batch(4096);
    const jobs = tokens.map((token, k) => {
      const model = new b.SmallCnn({ seed: k });
      return model
        .trainEpoch(x, y, { batchSize: 8 }, undefined, token)
        .then(() => events.push(`job ${k} finished`), (e: TorchnasError) => events.push(`job ${k} ${e.code}`));
    });
    await fs.promises.readFile(__filename);
    events.push('file read');
    for (const t of tokens) t.cancel();
    await Promise.all(jobs);
    expect(events[0]).toBe('file read');
    expect(events.slice(1).sort()).toEqual(['job 0 CANCELLED', 'job 1 CANCELLED', 'job 2 CANCELLED', 'job 3 CANCELLED']);
  });

  test('a job’s thread count is its own: concurrent jobs with other counts do not change it or the process’s', async () => {
    const b = native();
    const before = b.getThreads();
    const counts = await Promise.all([b.jobThreads(1), b.jobThreads(2), b.jobThreads(1), b.jobThreads()]);
    expect(counts.slice(0, 3)).toEqual([1, 2, 1]);
    expect(counts[3]).toBe(before); // a job without its own count runs with the process's
    // NTK jobs with several workers (one intra-op thread each) leave the process's count alone.
    const net = ntkNetwork({ seed: 0 });
    const other = ntkNetwork({ seed: 1 });
    const inputs = tensor(new Float32Array(8 * 3 * 32 * 32).fill(0.5), [8, 3, 32, 32]);
    const alpha = singlePathAlpha([3, 3, 3, 3, 3, 3]);
    await Promise.all([net.ntk(inputs, { alpha, workers: 3 }), other.ntk(inputs, { alpha, workers: 2 })]);
    expect(b.getThreads()).toBe(before);
    expect(await b.jobThreads()).toBe(before);
  });
});

describe('progress', () => {
  test('no progress row arrives after the promise settles', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 4 });
    const { x, y } = batch(256);
    let settled = false;
    let late = 0;
    let rows = 0;
    await model.trainEpoch(x, y, { batchSize: 8 }, () => {
      rows++;
      if (settled) late++;
    });
    settled = true;
    await new Promise((r) => setTimeout(r, 50)); // any queued row would run now
    expect(rows).toBe(32);
    expect(late).toBe(0);
  });

  test('a throwing progress callback rejects the job with that error and stops it', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 5 });
    const { x, y } = batch(4096);
    let calls = 0;
    const thrown = new Error('stop from the progress callback');
    const job = model.trainEpoch(x, y, { batchSize: 8 }, () => {
      calls++;
      throw thrown;
    });
    await expect(job).rejects.toBe(thrown);
    expect(calls).toBeLessThan(512);
    expect(model.busy).toBe(false);
  });

  test('an AbortSignal stops a running NTK job (the native job polls the token)', async () => {
    const controller = new AbortController();
    const net = ntkNetwork({ seed: 0 });
    const inputs = tensor(new Float32Array(64 * 3 * 32 * 32).fill(0.25), [64, 3, 32, 32]);
    const cancel = linkCancelToken(controller.signal);
    const events: string[] = [];
    const job = net.ntk(inputs, { alpha: singlePathAlpha([3, 3, 3, 3, 3, 3]), cancel: cancel.token }).then(
      () => events.push('finished'),
      (e: TorchnasError) => events.push(e.code),
    );
    setImmediate(() => controller.abort());
    await job;
    cancel.release();
    expect(events).toEqual(['CANCELLED']);
  });
});
