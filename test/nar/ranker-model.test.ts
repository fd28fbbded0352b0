// NAR's ranker (nar.md §4.1): parameter counts, the Noam schedule, the rank loss against a hand-computed value, tier
// labels, and the forward pass against our PyTorch model of the same network (bench/nar/reference.py).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/native';
import { tensor } from '../../src/core/tensor';
import { narDatasetFromRecords, takeFeatures } from '../../src/methods/nar/data';
import { tierLabels } from '../../src/methods/nar/metrics';
import { syntheticRecords } from './ranker-helpers';

const NB101 = { nPatch: 19, patchLen: 49, dModel: 256, dInner: 1024, nHead: 4, dK: 64, dV: 64, dTierInner: 2048, dScoreInner: 2048 };

describe('NarRanker', () => {
  test('has 7,869,446 parameters with the NB201 sizes and 31,057,670 with the NB101 sizes (§4.1)', () => {
    const nb201 = new (native().NarRanker)({ seed: 1 });
    expect(nb201.parameterCount).toBe(7869446);
    // Xavier-uniform weights: |w| ≤ sqrt(6 / (fan_in + fan_out)); LayerNorm starts at 1 / 0.
    const w = nb201.parameter('score_fc1.weight').toArray() as Float32Array;
    const bound = Math.sqrt(6 / (31 * 128 + 1024));
    expect(Math.max(...Array.from(w.subarray(0, 100000), Math.abs))).toBeLessThanOrEqual(bound);
    expect(Array.from(nb201.parameter('enc_norm.weight').toArray() as Float32Array).every((v) => v === 1)).toBe(true);
    nb201.dispose();
    const nb101 = new (native().NarRanker)({ ...NB101, seed: 1 });
    expect(nb101.parameterCount).toBe(31057670);
    nb101.dispose();
  });

  test('bad sizes are clear errors', () => {
    expect(() => new (native().NarRanker)({ nHead: 0 })).toThrow(/nHead must be in 1\.\./);
    expect(() => new (native().NarRanker)({ dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
  });

  test('the Noam schedule: lr_mul · d^-0.5 · min(n^-0.5, n · w^-1.5), n from 1 (§4.6)', () => {
    const lr = native().narNoamSchedule(0.07, 128, 30, 385);
    const noam = (n: number) => 0.07 * 128 ** -0.5 * Math.min(n ** -0.5, n * 30 ** -1.5);
    expect(lr[0]).toBeCloseTo(noam(1), 15);
    expect(lr[0]).toBeCloseTo(0.07 / Math.sqrt(128) / 30 ** 1.5, 15);
    expect(lr[29]).toBeCloseTo(1.1296e-3, 7); // the peak at step 30: 0.07 / sqrt(128 · 30) ≈ 1.13e-3
    expect(lr[29]).toBeCloseTo(0.07 / Math.sqrt(128 * 30), 15);
    expect(Math.max(...lr)).toBe(lr[29]);
    expect(lr[384]).toBeCloseTo(noam(385), 15);
    expect(native().narNoamSchedule(0.1, 256, 50, 50)[49]).toBeCloseTo(8.84e-4, 6);
  });

  test('the rank loss of a tiny batch equals the hand-computed value (equal labels count log 2)', () => {
    // s = [1, 0, 2], y = [0.5, 0.2, 0.5]. Ordered pairs (i, j), term log(1 + exp(-(s_i - s_j) sign(y_i - y_j))):
    // (0,1): sign + , diff 1 → log(1+e^-1); (1,0): sign -, diff -1 → log(1+e^-1)
    // (0,2): equal labels → log 2;          (2,0): log 2
    // (1,2): sign -, diff -2 → log(1+e^-2); (2,1): sign +, diff 2 → log(1+e^-2)
    const expected = (2 * Math.log(1 + Math.exp(-1)) + 2 * Math.log(2) + 2 * Math.log(1 + Math.exp(-2))) / 6;
    expect(native().narRankLoss([1, 0, 2], [0.5, 0.2, 0.5])).toBeCloseTo(expected, 12);
    // A wrongly ordered pair costs more than a rightly ordered one.
    expect(native().narRankLoss([0, 1], [1, 0])).toBeCloseTo(Math.log(1 + Math.E), 12);
    expect(native().narRankLoss([5], [1])).toBe(0);
  });
});

describe('tier labels (§4.3)', () => {
  test('sort by accuracy descending, chunks of floor(n/5), the last tier takes the remainder', () => {
    const acc = [10, 90, 50, 70, 30, 20, 80, 60, 40, 100, 5, 95];
    // n = 12 → chunks of 2; order (best first): 100 95 | 90 80 | 70 60 | 50 40 | 30 20 10 5
    expect(Array.from(tierLabels(acc))).toEqual([4, 1, 3, 2, 4, 4, 1, 2, 3, 0, 4, 0]);
    expect(Array.from(tierLabels([3, 3, 3, 3, 3]))).toEqual([0, 1, 2, 3, 4]); // ties keep their order (stable)
    expect(() => tierLabels([1, NaN])).toThrow(/finite/);
  });
});

describe('forward parity with the PyTorch model of bench/nar/reference.py', () => {
  const python = '/usr/bin/python3';
  const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  (hasTorch ? test : test.skip)('eval-mode tier logits and scores agree to float tolerance (NB201 sizes, non-zero tier embeddings)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nar-parity-'));
    try {
      const ranker = new (native().NarRanker)({ seed: 3 });
      const d = narDatasetFromRecords('nb201', syntheticRecords(6, 5));
      const batch = 6;
      const src = takeFeatures(d, [0, 1, 2, 3, 4, 5]);
      const trg = new Float32Array(5 * 31 * 128).map((_, i) => Math.sin(i * 0.37) * 2);
      const names = ranker.parameterNames();
      const chunks: Float32Array[] = [];
      const tensors: [string, number[]][] = [];
      for (const name of names) {
        const p = ranker.parameter(name);
        chunks.push(p.toArray() as Float32Array);
        tensors.push([name, p.shape]);
        p.dispose();
      }
      chunks.push(src, trg);
      const total = chunks.reduce((s, c) => s + c.length, 0);
      const all = new Float32Array(total);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      fs.writeFileSync(path.join(tmp, 'w.bin'), Buffer.from(all.buffer));
      fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify({ space: 'nb201', tensors, batch, src_numel: src.length, trg_numel: trg.length }));
      execFileSync(python, [path.join(__dirname, '../../bench/nar/reference.py'), 'parity', path.join(tmp, 'w.bin'), path.join(tmp, 'meta.json'), path.join(tmp, 'out.json')], {
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      });
      const ref = JSON.parse(fs.readFileSync(path.join(tmp, 'out.json'), 'utf8')) as { logits: number[]; scores: number[]; missing: string[]; parameters: number };
      expect(ref.missing).toEqual([]);
      expect(ref.parameters).toBe(7869446);
      const x = tensor(src, [batch, 31, 4, 4]);
      const t = tensor(trg, [5, 31, 128]);
      return ranker.predict(x, t, 4).then((ours) => {
        x.dispose();
        t.dispose();
        ranker.dispose();
        const close = (a: ArrayLike<number>, b: number[]) => {
          expect(a.length).toBe(b.length);
          const scale = Math.max(...b.map(Math.abs));
          for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * Math.max(1, scale));
        };
        close(ours.logits, ref.logits);
        close(ours.scores, ref.scores);
        // Not trivially equal: the inputs differ, and so do the outputs.
        expect(new Set(ref.scores.map((s) => s.toFixed(6))).size).toBe(batch);
      });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
  if (!hasTorch) test('(skipped: /usr/bin/python3 has no torch, so the parity check cannot run)', () => undefined);
});
