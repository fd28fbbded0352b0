/**
 * Checkpoints and resume (core issue, item 2): a run killed (SIGKILL) after a checkpoint and resumed with
 * `--resume DIR` ends bit-identical to an uninterrupted run with the same seed — for the NCP predictor
 * (Adam + OneCycle per batch, dropout) and the SmallCnn demo (SGD with momentum, shuffles).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNcpConfig } from '../../src/methods/ncp/config';
import { trainNcpPredictor } from '../../src/methods/ncp/train';
import { trainDemo } from '../../src/methods/demo/train-demo';
import { native } from '../../src/native';
import { CHECKPOINT_FILE, RUN_FILE } from '../../src/core/resume';
import { compileCli, ROOT, spawnCli } from '../helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let cli: string;
beforeAll(() => {
  cli = compileCli();
}, 120_000);

/** Starts the CLI, waits until DIR/checkpoint.pt exists, kills the process with SIGKILL. */
async function killAfterFirstCheckpoint(argv: string[], dir: string): Promise<void> {
  const run = spawnCli(cli, argv);
  const checkpoint = path.join(dir, CHECKPOINT_FILE);
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(checkpoint)) {
    if (Date.now() > deadline) throw new Error('no checkpoint appeared');
    if (run.child.exitCode !== null) throw new Error(`the run ended before its first checkpoint: ${(await run.exit).stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  run.child.kill('SIGKILL');
  const { signal } = await run.exit;
  expect(signal).toBe('SIGKILL');
}

describe('ncp train --resume', () => {
  const epochs = 40;
  const config = () => {
    const c = loadNcpConfig(path.join(ROOT, 'configs', 'ncp', 'seg.yaml'));
    return { ...c, optimization: { ...c.optimization, epoch: epochs } };
  };

  test('killed after a checkpoint and resumed: bit-identical to an uninterrupted run', async () => {
    const file = path.join(tmp, 'seg-short.yaml');
    const text = fs.readFileSync(path.join(ROOT, 'configs', 'ncp', 'seg.yaml'), 'utf8').replace(/^(\s*)epoch:\s*\d+/m, `$1epoch: ${epochs}`);
    fs.writeFileSync(file, text);
    const data = 'nas-bench-mr/seg';
    const killed = path.join(tmp, 'ncp-killed');
    await killAfterFirstCheckpoint(['ncp', 'train', '--config', file, '--data', data, '--out', killed, '--seed', '5', '--threads', '1'], killed);

    const resumed = await trainNcpPredictor(config(), { data, resume: killed, threads: 1 });
    const whole = await trainNcpPredictor(config(), { data, seed: 5, threads: 1, out: path.join(tmp, 'ncp-whole') });

    expect(resumed.resumedAtEpoch).toBeGreaterThan(0);
    expect(resumed.resumedAtEpoch).toBeLessThan(epochs);
    expect(whole.resumedAtEpoch).toBe(0);
    expect(resumed.seed).toBe(5);
    expect(resumed.history).toEqual(whole.history); // every epoch's loss, lr and validation L1, exactly
    expect(resumed.bestEpoch).toBe(whole.bestEpoch);
    expect(resumed.metrics).toEqual(whole.metrics);
    // The resumed run wrote its outputs into the folder it continued.
    const manifest = JSON.parse(fs.readFileSync(path.join(killed, 'predictor.json'), 'utf8'));
    expect(manifest.bestEpoch).toBe(whole.bestEpoch);
  }, 300_000);

  test('settings that differ from the stored run are refused, naming the setting', async () => {
    const data = 'nas-bench-mr/seg';
    const dir = path.join(tmp, 'ncp-short');
    const short = { ...config(), optimization: { ...config().optimization, epoch: 2 } };
    await trainNcpPredictor(short, { data, out: dir, seed: 3 });
    expect(fs.existsSync(path.join(dir, RUN_FILE))).toBe(true);
    await expect(trainNcpPredictor(short, { data, resume: dir, seed: 4 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('seed 3, not 4'),
    });
    const longer = { ...short, optimization: { ...short.optimization, epoch: 3 } };
    await expect(trainNcpPredictor(longer, { data, resume: dir })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'config.optimization.epoch' was 2 when the run started, now 3") });
    // A finished run resumes to the same result without training again.
    const again = await trainNcpPredictor(short, { data, resume: dir });
    expect(again.resumedAtEpoch).toBe(2);
    await expect(trainNcpPredictor(short, { data, resume: path.join(tmp, 'nowhere') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  }, 120_000);

  test('a corrupted checkpoint is FILE_CORRUPT, never a crash', async () => {
    const data = 'nas-bench-mr/seg';
    const dir = path.join(tmp, 'ncp-corrupt');
    const short = { ...config(), optimization: { ...config().optimization, epoch: 1 } };
    await trainNcpPredictor(short, { data, out: dir });
    const file = path.join(dir, CHECKPOINT_FILE);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    await expect(trainNcpPredictor(short, { data, resume: dir })).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  }, 120_000);
});

describe('train-demo --resume', () => {
  test('killed after the first epoch and resumed: bit-identical to an uninterrupted run', async () => {
    const killed = path.join(tmp, 'demo-killed');
    const settings = { epochs: 3, limit: 1024, batchSize: 64, threads: 1 };
    await killAfterFirstCheckpoint(
      ['train-demo', '--epochs', '3', '--limit', '1024', '--batch', '64', '--seed', '9', '--threads', '1', '--out', killed],
      killed,
    );
    const resumed = await trainDemo({ ...settings, resume: killed });
    const whole = await trainDemo({ ...settings, seed: 9, out: path.join(tmp, 'demo-whole') });
    expect(resumed.resumedAtEpoch).toBeGreaterThan(0);
    expect(resumed.resumedAtEpoch).toBeLessThan(3);
    const strip = (r: typeof whole) => r.epochs.map(({ seconds: _s, ...e }) => e);
    expect(strip(resumed)).toEqual(strip(whole));
    expect([resumed.testAccuracy, resumed.testLoss]).toEqual([whole.testAccuracy, whole.testLoss]);
    // The final weights are equal, parameter by parameter.
    const a = new (native().SmallCnn)({ seed: 0 });
    const b = new (native().SmallCnn)({ seed: 1 });
    await a.load(path.join(killed, 'model.pt'));
    await b.load(path.join(tmp, 'demo-whole', 'model.pt'));
    for (const name of a.parameterNames()) {
      expect(Array.from(a.parameter(name).toArray() as Float32Array)).toEqual(Array.from(b.parameter(name).toArray() as Float32Array));
    }
    // More epochs may follow a finished run (the lr is constant): they continue the same computation.
    const four = await trainDemo({ ...settings, epochs: 4, resume: path.join(tmp, 'demo-whole') });
    expect(four.resumedAtEpoch).toBe(3);
    expect(strip(four).slice(0, 3)).toEqual(strip(whole));
  }, 300_000);
});
