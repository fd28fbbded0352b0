/**
 * DenseNAS derived networks (§4.4 step 4, §6): built natively from a net_config with exactly the
 * analytically counted parameters, trained on Fashion-MNIST, measured, exported as a torch.load state dict.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/native';
import { tensor } from '../../src/core/tensor';
import { countDerivedNet, DENSENAS_C_NET_CONFIG, parseNetConfig } from '../../src/spaces/densenas';
import { trainDerivedNet } from '../../src/methods/densenas/train';
import { ISSUE18_NET_CONFIG } from '../helpers/densenas';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dense-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('DenseNAS-C and the issue-18 network: native parameters equal the analytic count (6.13 M / 5.42 M at 1000 classes)', () => {
  for (const [text, millions] of [[DENSENAS_C_NET_CONFIG, 6.13], [ISSUE18_NET_CONFIG, 5.42]] as const) {
    const config = parseNetConfig(text, { netType: 'mbv2' });
    const net = new (native().DenseDerivedNet)(config, { numClasses: 1000 });
    expect(net.parameterCount).toBe(countDerivedNet(config).params);
    expect(Math.round(net.parameterCount / 1e4) / 100).toBe(millions);
    net.dispose();
  }
});

test('a small derived network trains on Fashion-MNIST, is measured and exported', async () => {
  const file = path.join(tmp, 'net_config');
  fs.writeFileSync(file, "[[8, 8], 'mbconv_k3_t1', [], 0, 1]|\n[[8, 16], 'mbconv_k3_t3', ['mbconv_k3_t3'], 1, 2]|\n[[16, 32], 'mbconv_k5_t6', [], 0, 2]|\n[[32, 64], 'conv1_1']\nnet_type: mbv2");
  const out = path.join(tmp, 'out');
  const r = await trainDerivedNet(file, { epochs: 2, limit: 2048, batchSize: 64, lr: 0.1, out });
  expect(r.epochs).toHaveLength(2);
  expect(r.epochs[1].meanLoss).toBeLessThan(r.epochs[0].meanLoss);
  expect(r.testAccuracy).toBeGreaterThan(0.6); // 10 classes: chance is 0.1
  expect(r.parameters).toBe(countDerivedNet(parseNetConfig(fs.readFileSync(file, 'utf8')), { inputSize: 28, inChannels: 1, numClasses: 10 }).params);
  expect(r.measuredLatencyMs).toBeGreaterThan(0);
  expect(r.predictedCost).toBeNull();
  const dict = fs.readFileSync(path.join(out, 'state_dict.pt'));
  expect(dict.subarray(0, 2).toString()).toBe('PK'); // LibTorch's pickle archive (a zip), what torch.load reads
  expect(fs.existsSync(path.join(out, 'weights.pt'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'))).toMatchObject({ method: 'densenas train', status: 'completed' });
}, 180_000);

test('folder:DIR data: trains on an image folder (sorted classes, resized to --input-size), tests on its val split', async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { PNG } = require('pngjs') as { PNG: { sync: { write(png: { width: number; height: number; data: Buffer }): Buffer } } };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const jpeg = require('jpeg-js') as { encode(img: { width: number; height: number; data: Buffer }, quality?: number): { data: Buffer } };
  const root = path.join(tmp, 'folder');
  let k = 0;
  const image = (dir: string, light: boolean, asJpeg: boolean) => {
    const [w, h] = [12 + (k % 5), 10 + (k % 3)];
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const v = (light ? 180 : 40) + ((i * 7 + k * 13) % 50);
      data.set([v, v, v, 255], i * 4);
    }
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `img${k++}.${asJpeg ? 'jpg' : 'png'}`);
    fs.writeFileSync(file, asJpeg ? jpeg.encode({ width: w, height: h, data }, 90).data : PNG.sync.write({ width: w, height: h, data }));
  };
  for (let i = 0; i < 24; i++) {
    image(path.join(root, 'train', 'light'), true, i % 2 === 0);
    image(path.join(root, 'train', 'dark'), false, i % 2 === 1);
  }
  for (let i = 0; i < 6; i++) {
    image(path.join(root, 'val', 'light'), true, i % 2 === 0);
    image(path.join(root, 'val', 'dark'), false, i % 2 === 1);
  }
  const file = path.join(tmp, 'net_config_small');
  fs.writeFileSync(file, "[[8, 8], 'mbconv_k3_t1', [], 0, 1]|\n[[8, 16], 'mbconv_k3_t3', [], 0, 2]|\n[[16, 32], 'conv1_1']\nnet_type: mbv2");
  const r = await trainDerivedNet(file, { data: `folder:${root}`, inputSize: 16, epochs: 4, batchSize: 8, lr: 0.05 });
  // Two classes (dark = 0, light = 1): the classifier has 2 outputs on 3×16×16 inputs.
  expect(r.parameters).toBe(countDerivedNet(parseNetConfig(fs.readFileSync(file, 'utf8')), { inputSize: 16, inChannels: 3, numClasses: 2 }).params);
  expect(r.testAccuracy).toBeGreaterThan(0.75); // brightness separates the classes; chance is 0.5
  await expect(trainDerivedNet(file, { data: `folder:${path.join(tmp, 'no-such-folder')}` })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  await expect(trainDerivedNet(file, { data: 'fashion-mnist', inputSize: 16 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/folder:DIR data only/) });
}, 180_000);

test('a broken net_config is a clear error', () => {
  const bad = { netType: 'mbv2' as const, entries: [{ kind: 'block' as const, inChannels: 8, outChannels: 16, headOp: 'mbconv_k3_t3', stackOps: [], stride: 2 }, { kind: 'block' as const, inChannels: 12, outChannels: 16, headOp: 'mbconv_k3_t3', stackOps: [], stride: 1 }] };
  expect(() => new (native().DenseDerivedNet)(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/entry 1: takes 12 channels but the entry before gives 16/) }));
});

test('the training batch norm (our kernels, ReLU/ReLU6 fused) trains and normalises as ATen\'s: losses, weights, running statistics', async () => {
  type Entry = { kind: 'block'; inChannels: number; outChannels: number; headOp: string; stackOps: string[]; stride: number } | { kind: 'conv1_1'; inChannels: number; outChannels: number };
  const nets: { netType: 'mbv2' | 'res'; entries: Entry[] }[] = [
    {
      netType: 'mbv2',
      entries: [
        { kind: 'block', inChannels: 8, outChannels: 8, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 },
        { kind: 'block', inChannels: 8, outChannels: 16, headOp: 'mbconv_k5_t3', stackOps: ['mbconv_k3_t6', 'skip_connect'], stride: 2 },
        { kind: 'block', inChannels: 16, outChannels: 24, headOp: 'mbconv_k7_t6', stackOps: [], stride: 2 },
        { kind: 'conv1_1', inChannels: 24, outChannels: 40 },
      ],
    },
    {
      netType: 'res',
      entries: [
        { kind: 'block', inChannels: 8, outChannels: 16, headOp: 'basic_block', stackOps: ['basic_block'], stride: 2 },
        { kind: 'block', inChannels: 16, outChannels: 24, headOp: 'basic_block', stackOps: [], stride: 2 },
      ],
    },
  ];
  // 13×13 inputs: odd planes after the strides (7×7, 4×4, 2×2).
  const n = 12;
  const x = tensor(Float32Array.from({ length: n * 13 * 13 }, (_, i) => Math.sin(i * 0.61) + 0.3 * Math.cos(i * 0.07)), [n, 1, 13, 13]);
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i % 10), [n]);
  const saved = native().kernelChoices().file;
  try {
    for (const config of nets) {
      const run = async (force: string) => {
        native().kernelChoices({ force });
        const net = new (native().DenseDerivedNet)(config, { inChannels: 1, numClasses: 10, seed: 3, bn: { momentum: 0.1, eps: 1e-3 } });
        const losses = Array.from(await net.trainSteps(x, y, 4, { lr: 0.05 }));
        const evaluated = await net.evaluate(x, y); // eval mode: the running statistics
        const weights = net.parameterNames().map((p) => Array.from(net.parameter(p).toArray() as Float32Array));
        net.dispose();
        return { losses, evaluated, weights };
      };
      const aten = await run('batch_norm_train=aten');
      const ours = await run('');
      ours.losses.forEach((v, i) => expect(Math.abs(v - aten.losses[i])).toBeLessThan(2e-5 * (1 + Math.abs(v))));
      expect(aten.losses[3]).toBeLessThan(aten.losses[0]);
      expect(Math.abs(ours.evaluated.loss - aten.evaluated.loss)).toBeLessThan(1e-4 * (1 + aten.evaluated.loss));
      aten.weights.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(ours.weights[i][j] - v)).toBeLessThan(1e-4 * (1 + Math.abs(v)))));
    }
  } finally {
    native().kernelChoices({ force: '', file: saved });
  }
}, 60_000);
