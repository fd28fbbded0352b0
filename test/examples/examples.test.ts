// The programs in examples/ type-check (tsconfig.examples.json) and run (examples/run.js) with small settings;
// what they print is checked against the library and the files they write.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { lookupNb201, openNb201Table } from '../../src/benchmarks/nb201-lookup';
import { formatNb201String, parseNb201String } from '../../src/spaces/nb201';

const ROOT = path.resolve(__dirname, '..', '..');
const execFileAsync = promisify(execFile);
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-examples-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs examples/NAME.ts with args; resolves with the exit code and output (a non-zero exit does not reject). */
async function example(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [path.join(ROOT, 'examples', 'run.js'), path.join(ROOT, 'examples', `${name}.ts`), ...args], { cwd: tmp });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('the examples type-check against the package API', () => {
  expect(() => execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.examples.json')], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  expect(fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).sort()).toEqual(['nb201-lookup.ts', 'ncp-predictor.ts', 'tenas-search.ts']);
});

test('nb201-lookup: the lookups and the best five cells of the bundled table', async () => {
  const arch = '|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
  const r = await example('nb201-lookup', [arch]);
  expect(r.code).toBe(0);
  const table = await openNb201Table('nb201');
  const best = lookupNb201(table, parseNb201String(arch));
  expect(best).toMatchObject({ index: 81, rank: 1 });
  const lines = r.stdout.split('\n');
  expect(lines[0]).toBe(`15625 architectures from ${path.join(ROOT, 'data', 'nas-bench-201', 'ncp-trainval.pkl.gz')}`);
  expect(lines[1]).toBe(`${arch}: index 81, accuracy ${best.accuracy.toFixed(2)} %, rank 1, ${best.flops} MFLOPs, ${best.params} M params`);
  const top = [...table.records].sort((a, b) => b.acc - a.acc || a.index - b.index).slice(0, 5);
  expect(lines.slice(3, 8)).toEqual(top.map((x) => `  #${table.rankOf[x.index]} index ${x.index} ${formatNb201String(table.index.opsAt(x.index))} ${x.acc.toFixed(2)} %`));
});

describe('tenas-search', () => {
  // the pinned settings of test/fixtures/tenas-pinned.json
  const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'tenas-pinned.json'), 'utf8')) as { search: { arch: string; ntkEvaluations: number } };
  const small = ['--data', 'random', '--batch', '4', '--repeats', '1', '--samples', '500', '--seed', '7', '--threads', '1'];

  test('finds the pinned architecture, reports progress and looks it up in the bundled table', async () => {
    const r = await example('tenas-search', small);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`architecture: ${pinned.search.arch}\n`);
    const found = lookupNb201(await openNb201Table('nb201'), parseNb201String(pinned.search.arch));
    expect(r.stdout).toContain(`NB201 index ${found.index}: ImageNet16-120 accuracy ${found.accuracy.toFixed(2)} %, rank ${found.rank} of 15625`);
    expect(r.stdout).toContain(`${pinned.search.ntkEvaluations} NTK evaluations`);
    expect(r.stderr).toContain('scored 54/54 candidates');
  });

  test('the AbortSignal stops the search after the candidate in flight (exit 130)', async () => {
    const r = await example('tenas-search', [...small, '--stop-after', '5']);
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('search cancelled after 5 of 54 candidate scores\n');
  });
});

test('ncp-predictor: trains on the bundled seg table and propagates; what it prints is what it wrote', async () => {
  const out = path.join(tmp, 'ncp');
  const r = await example('ncp-predictor', ['--epochs', '3', '--iters', '5', '--out', out]);
  expect(r.code).toBe(0);
  const trained = JSON.parse(fs.readFileSync(path.join(out, 'predictor', 'result.json'), 'utf8')).result;
  const edited = JSON.parse(fs.readFileSync(path.join(out, 'edit', 'result.json'), 'utf8')).result;
  expect(trained).toMatchObject({ dataset: 'seg', epochs: 3, table: path.join(ROOT, 'data', 'nas-bench-mr', 'seg.pkl.gz') });
  const m = trained.metrics.mIoU.best;
  expect(r.stdout).toContain(`trained on seg (2005 train / 502 validation), best epoch ${trained.bestEpoch}\n`);
  expect(r.stdout).toContain(`validation mIoU: L1 ${m.l1.toFixed(4)}, Kendall tau ${m.kendallTau.toFixed(4)}, Spearman rho ${m.spearmanRho.toFixed(4)}\n`);
  const steps = edited.trajectories[0].steps;
  expect(steps).toHaveLength(5);
  const last = steps[4];
  expect(r.stdout).toContain(`start  64_64-2_1_2_64-2_2_2_2_64_64-2_3_2_2_2_64_64_64-2_4_2_2_2_2_64_64_64_64-64  predicted mIoU ${steps[0].predictedRounded.mIoU.toFixed(2)}, 1.960 GFLOPs\n`);
  expect(r.stdout).toContain(`step 4 ${last.roundedCode}  predicted mIoU ${last.predictedRounded.mIoU.toFixed(2)}, ${last.flops.toFixed(3)} GFLOPs\n`);
  expect(r.stderr).toContain('epoch 3/3 loss');
});
