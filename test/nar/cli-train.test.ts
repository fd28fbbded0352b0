// `torchnas nar train` / `nar evaluate` on a small NB201 cell-information file and a tiny config (both written here).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { writeTinyRun } from './ranker-helpers';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-cli-train-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('nar train --config --data --out --epochs --json, then nar evaluate --checkpoint --which both --json', async () => {
  const { data, configFile } = writeTinyRun(tmp, 'tiny', 300, 3);
  const out = path.join(tmp, 'run');
  const r = await runCli(['nar', 'train', '--config', configFile, '--data', data, '--out', out, '--epochs', '2', '--seed', '5', '--json']);
  expect(r.code).toBe(0);
  const envelope = JSON.parse(r.stdout);
  expect(envelope).toMatchObject({ method: 'nar train', status: 'completed', seed: 5, result: { epochs: 2, split: { train: 200, val: 50, rest: 50 }, dataset: { source: data, count: 300 } } });
  expect(envelope.result.history).toHaveLength(2);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).status).toBe('completed');
  const e = await runCli(['nar', 'evaluate', '--checkpoint', out, '--which', 'both', '--json']);
  expect(e.code).toBe(0);
  const ev = JSON.parse(e.stdout);
  expect(ev.evaluations.map((x: { checkpoint: string }) => x.checkpoint)).toEqual(['best', 'last']);
  expect(ev.evaluations[1].rest.kendallTau).toBeCloseTo(envelope.result.evaluation.last.rest.kendallTau, 10);
  expect(ev.evaluations[0].restTiers.confusion).toHaveLength(5);
  const text = await runCli(['nar', 'evaluate', '--checkpoint', out]);
  expect(text.stdout).toMatch(/Kendall τ-b val .* rest .*\(50 archs; params alone/);
  const missing = await runCli(['nar', 'evaluate', '--checkpoint', path.join(tmp, 'nowhere')]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/nar\.json is missing/);
  const noConfig = await runCli(['nar', 'train']);
  expect(noConfig.code).not.toBe(0);
  expect(noConfig.stderr).toMatch(/--config is required/);
});

test('nar search --checkpoint: tier-guided search with the trained ranker; every pick within --max-params; files written', async () => {
  const { data, configFile, cells } = writeTinyRun(tmp, 'tiny-search', 300, 4);
  const run = path.join(tmp, 'run-search');
  expect((await runCli(['nar', 'train', '--config', configFile, '--data', data, '--out', run, '--epochs', '1', '--seed', '6', '--json'])).code).toBe(0);
  const params = [...cells.map((c) => c['ImageNet16-120_total_params'] as number)].sort((a, b) => a - b);
  const budget = params[Math.floor(params.length / 2)];
  const r = await runCli(['nar', 'search', '--checkpoint', run, '--iterations', '3', '--max-params', String(budget), '--json']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const envelope = JSON.parse(r.stdout);
  expect(envelope).toMatchObject({ method: 'nar search', status: 'completed', result: { iterations: 3, benchmarkSize: 300, budget: { maxParams: budget } } });
  expect(envelope.result.perIteration).toHaveLength(3);
  const out = path.join(run, 'search');
  for (const f of ['result.json', 'search.json', 'search-picks.svg', 'events.jsonl']) expect(fs.existsSync(path.join(out, f))).toBe(true);
  const byArch = new Map(cells.map((c) => [c.arch_str, c]));
  for (const it of envelope.result.perIteration) {
    for (const pick of [it.top1, ...(it.topK ?? []).flatMap((k: { picks: unknown[] }) => k.picks)].filter(Boolean)) {
      expect((byArch.get(pick.arch)!['ImageNet16-120_total_params'] as number) <= budget).toBe(true);
    }
  }
  const text = await runCli(['nar', 'search', '--checkpoint', run, '--iterations', '2', '--out', path.join(tmp, 'search-text')]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/NAR search: 2 iterations, seed 6, 300 architectures/);
  expect(text.stdout).toMatch(/best top-1: /);
});
