/**
 * DenseNAS derived networks (§4.4 step 4, §6): built natively from a net_config with exactly the
 * analytically counted parameters, trained on Fashion-MNIST, measured, exported as a torch.load state dict.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/native';
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
