/**
 * NAR ranker training on c10d (Gloo), two processes on 127.0.0.1 under `torchnas launch`: the global batch is shared
 * out by rank (every W-th architecture of each batch), rank 0 alone writes the run folder and evaluates it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rankOrder } from '../../src/methods/nar/train';
import { native } from '../../src/native';
import { compileCli, spawnCli } from '../helpers/cli';
import { freePort } from '../helpers/net';
import { writeTinyRun } from '../nar/ranker-helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-dp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("rank orders: every world-th architecture of each batch, disjoint, covering the epoch's batches", () => {
  const order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
  expect(rankOrder(order, 4, 0, 2)).toEqual([9, 7, 5, 3, 1]);
  expect(rankOrder(order, 4, 1, 2)).toEqual([8, 6, 4, 2, 0]);
  // 3 ranks, batches of 3: the last batch [0] is too small to give every rank one, and is left out
  expect([0, 1, 2].map((r) => rankOrder(order, 3, r, 3))).toEqual([[9, 6, 3], [8, 5, 2], [7, 4, 1]]);
  expect(rankOrder(order, 4, 0, 1)).toEqual(order);
});

const available = native().Distributed.available;
(available ? test : test.skip)('`torchnas launch --nproc-per-node 2 -- nar train`: one run folder, trained on both ranks, evaluated', async () => {
  const { data, configFile } = writeTinyRun(tmp, 'tiny', 300, 3);
  const out = path.join(tmp, 'run');
  const cli = compileCli('build-dp-test');
  const run = spawnCli(cli, ['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'nar', 'train', '--config', configFile, '--data', data, '--out', out, '--epochs', '2', '--seed', '5', '--threads', '1']);
  const exit = await run.exit;
  expect({ code: exit.code, stderr: exit.code === 0 ? '' : exit.stderr }).toEqual({ code: 0, stderr: '' });
  const envelope = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'));
  expect(envelope).toMatchObject({ method: 'nar train', status: 'completed', result: { worldSize: 2, epochs: 2, split: { train: 200, val: 50, rest: 50 } } });
  expect(envelope.result.history).toHaveLength(2);
  // 200 architectures in batches of 50: 4 steps an epoch, 25 architectures per rank per step, both ranks counted
  expect(envelope.result.history[0].trainTierAccuracy * 200).toBeCloseTo(Math.round(envelope.result.history[0].trainTierAccuracy * 200), 6);
  expect(envelope.result.evaluation.best.rest.kendallTau).toEqual(expect.any(Number));
  const events = fs.readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(events.filter((e) => e.type === 'start')).toHaveLength(1);
  expect(fs.existsSync(path.join(out, 'ckp_last.pt'))).toBe(true);
});
