import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/native';
import { tensor } from '../../src/core/tensor';
import { loadFashionMnist } from '../../src/data/fashion-mnist';
import { trainDemo } from '../../src/methods/demo/train-demo';
import { saveTensors } from '../../src/core/tensor';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-demo-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('SmallCnn on Fashion-MNIST', () => {
  test('training steps reduce the loss on a fixed batch', async () => {
    const s = await loadFashionMnist('train', { limit: 256 });
    const x = tensor(s.images, [s.count, 28, 28]);
    const y = tensor(s.labels, [s.count]);
    const model = new (native().SmallCnn)({ seed: 7 });
    const losses = await model.trainSteps(x, y, 30, { lr: 0.05, momentum: 0.9 });
    expect(losses[0]).toBeGreaterThan(1.5); // ~ln(10) at initialisation
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
  });

  test('same seed gives the same losses; another seed does not', async () => {
    const s = await loadFashionMnist('train', { limit: 64 });
    const x = tensor(s.images, [s.count, 28, 28]);
    const y = tensor(s.labels, [s.count]);
    const run = (seed: number) => new (native().SmallCnn)({ seed }).trainSteps(x, y, 3);
    const [a, b, c] = [await run(11), await run(11), await run(12)];
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  test('module state saved and loaded reproduces the outputs; a foreign file is FILE_CORRUPT', async () => {
    const s = await loadFashionMnist('test', { limit: 16 });
    const x = tensor(s.images, [s.count, 28, 28]);
    const a = new (native().SmallCnn)({ seed: 1 });
    const b = new (native().SmallCnn)({ seed: 2 });
    const file = path.join(tmp, 'cnn.pt');
    await a.save(file);
    const before = (await b.forward(x)).toArray() as Float32Array;
    await b.load(file);
    const outA = (await a.forward(x)).toArray() as Float32Array;
    const outB = (await b.forward(x)).toArray() as Float32Array;
    expect(Array.from(outB)).toEqual(Array.from(outA));
    expect(Array.from(before)).not.toEqual(Array.from(outA));
    const foreign = path.join(tmp, 'foreign.pt');
    await saveTensors(foreign, { weights: tensor(new Float32Array(3)) });
    await expect(b.load(foreign)).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  });

  test('trainDemo on a subset learns and writes result.json and the model', async () => {
    const out = path.join(tmp, 'run');
    const r = await trainDemo({ limit: 3000, seed: 5, out });
    expect(r.trainImages).toBe(3000);
    expect(r.testImages).toBe(10000);
    expect(r.testAccuracy).toBeGreaterThan(0.65);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(saved).toMatchObject({ method: 'train-demo', status: 'completed', device: 'cpu', seed: 5, config: { limit: 3000, seed: 5 } });
    expect(saved.result.testAccuracy).toBe(r.testAccuracy);
    expect(Date.parse(saved.finishedAt)).toBeGreaterThanOrEqual(Date.parse(saved.startedAt));
    expect(fs.existsSync(path.join(out, 'model.pt'))).toBe(true);
  });
});
