import { openInputSource } from '../../../src/data/input-source';
import { searchDarts, SearchSettings } from '../../../src/methods/tenas/search';
import { checkDartsGenotype, parseDartsGenotype } from '../../../src/spaces/darts';

const quick: SearchSettings = {
  pruneNumber: 6, // 7 live ops → 1 in a single round, to keep the test short
  repeats: 1,
  precision: 3,
  ntkBatchSize: 2,
  ntkMode: 'logit_sum',
  init: 'default',
  singularEps: 0,
  linearRegionSamples: 50,
  linearRegionBatchSize: 50,
  linearRegionInputSize: 3,
  numClasses: 10,
  seed: 0,
  device: 'cpu',
};

test('DARTS search: op pruning over both cell types, then edge pruning to two inputs per node; in one run', async () => {
  const run = async () => searchDarts(await openInputSource('random', 3), { ...quick, seed: 3 });
  const a = await run();
  const opRounds = a.rounds.filter((r) => r.phase === 'ops');
  const edgeRounds = a.rounds.filter((r) => r.phase === 'edges');
  expect(opRounds).toHaveLength(1);
  expect(opRounds[0].candidates).toHaveLength(2 * 14 * 7);
  // every edge of both cells lost exactly 6 ops
  const pruned = new Map<string, number>();
  for (const c of opRounds[0].candidates.filter((x) => x.pruned)) pruned.set(`${c.cell} ${c.edge}`, (pruned.get(`${c.cell} ${c.edge}`) ?? 0) + 1);
  expect([...pruned.values()]).toEqual(new Array(28).fill(6));
  expect(opRounds[0].candidates.every((c) => c.op !== 'none')).toBe(true);
  // nodes 1..3 of each cell have 3, 4, 5 inputs; all but two are pruned
  expect(edgeRounds.map((r) => [r.candidates[0].cell, r.candidates.length, r.candidates.filter((c) => c.pruned).length])).toEqual([
    ['normal', 3, 1],
    ['normal', 4, 2],
    ['normal', 5, 3],
    ['reduce', 3, 1],
    ['reduce', 4, 2],
    ['reduce', 5, 3],
  ]);
  expect(a.genotype).toBeDefined();
  checkDartsGenotype(a.genotype!);
  expect(parseDartsGenotype(a.arch)).toEqual(a.genotype);
  expect(a.genotype!.normal.every(([op]) => op !== 'none')).toBe(true);
  expect(a.rounds[0].candidates[0].repeats[0][0]).toBeGreaterThanOrEqual(1); // κ ≥ 1
}, 600_000);
