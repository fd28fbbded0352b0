import { native } from '../../src/native';
import { tensor } from '../../src/core/tensor';
import { TorchnasError } from '../../src/core/errors';

describe('native jobs run off the JS thread', () => {
  test('the event loop turns while a job runs: a timer set after the call cancels the job mid-way', async () => {
    // Proof by ordering, not by elapsed time: the only way this epoch ends before its last step is the
    // timer's cancel. A job that held the JS thread would run all its steps first and resolve.
    const b = native();
    const model = new b.SmallCnn({ seed: 3 });
    const n = 4096;
    const x = tensor(Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 7) % 256), [n, 28, 28]);
    const y = tensor(Int32Array.from({ length: n }, (_, i) => i % 10), [n]);
    const token = new b.CancelToken();
    const events: string[] = [];
    let lastStep = 0;
    const job = model.trainEpoch(x, y, { batchSize: 16 }, ([step]) => (lastStep = step), token).then(
      () => events.push('job resolved'),
      (e: TorchnasError) => events.push(`job rejected ${e.code}`),
    );
    events.push('call returned');
    setImmediate(() => {
      events.push('timer ran');
      token.cancel();
    });
    await job;
    expect(events).toEqual(['call returned', 'timer ran', 'job rejected CANCELLED']);
    expect(lastStep).toBeLessThan(n / 16);
  });

  test('a second job on a busy model is refused, not raced', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 1 });
    const x = tensor(new Uint8Array(64 * 784), [64, 28, 28]);
    const y = tensor(new Int32Array(64), [64]);
    const first = model.trainSteps(x, y, 5);
    expect(() => model.trainSteps(x, y, 1)).toThrow(/busy/);
    await first;
    await expect(model.trainSteps(x, y, 1)).resolves.toHaveLength(1);
  });

  test('tensors disposed in JS while a job holds them stay valid for the job', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 2 });
    const x = tensor(new Uint8Array(32 * 784).fill(100), [32, 28, 28]);
    const y = tensor(new Int32Array(32).fill(3), [32]);
    const job = model.trainSteps(x, y, 20);
    x.dispose();
    y.dispose();
    const losses = await job;
    expect(losses.every(Number.isFinite)).toBe(true);
  });

  test('errors inside the job reject with TorchnasError codes', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 0 });
    const wrongSize = tensor(new Uint8Array(4 * 30 * 30), [4, 30, 30]);
    const y4 = tensor(new Int32Array(4), [4]);
    await expect(model.trainSteps(wrongSize, y4, 1)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/\[N, 1, 28, 28\], got \[4, 1, 30, 30\]/) });
    const x = tensor(new Uint8Array(4 * 784), [4, 28, 28]);
    await expect(model.trainSteps(x, tensor(new Int32Array(3), [3]), 1)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(model.trainSteps(x, tensor(new Int32Array([0, 1, 2, 10]), [4]), 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/labels must lie in \[0, 9\]/) });
    await expect(model.trainSteps(x, tensor(new Float32Array(4), [4]), 1)).rejects.toBeInstanceOf(TorchnasError);
    expect(() => model.trainSteps(x, 'nope' as never, 1)).toThrow(/labels must be a Tensor/);
  });

  test('cancellation stops an epoch with CANCELLED', async () => {
    const b = native();
    const model = new b.SmallCnn({ seed: 0 });
    const n = 4096;
    const x = tensor(new Uint8Array(n * 784), [n, 28, 28]);
    const y = tensor(new Int32Array(n), [n]);
    const token = new b.CancelToken();
    let lastStep = 0;
    const job = model.trainEpoch(x, y, { batchSize: 16 }, ([step]) => {
      lastStep = step;
      if (step >= 3) token.cancel();
    }, token);
    await expect(job).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(lastStep).toBeLessThan(n / 16);
  });
});
