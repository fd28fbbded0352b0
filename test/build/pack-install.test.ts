// torchnas as a dependency (issue 10): `npm pack` of a scratch copy of the repository (its prepack compiles the
// TypeScript and checks the prebuild), then a new npm project outside the repository installs the tarball and runs
// a CommonJS script, an ES module script and a TypeScript file (type-checked against the shipped typings with
// `tsc --noEmit`). Each does real work: an NB201 table lookup, a NAS-Bench-MR FLOPs count, a TE-NAS score.
// The addon must be the shipped prebuild (no compile at install), and a preloaded guard makes any file access
// under the repository throw.
//
// Needs the prebuild (prebuilds/<platform>-<arch>/): CI makes it with scripts/build-prebuild.sh before the tests;
// elsewhere this test makes it first (a node-gyp build, minutes).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'install');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };
const TAG = `${process.platform}-${process.arch}`;

let tmp: string;
let project: string;
let tarball: string;
let installLog: string;

/** Runs a command; returns stdout and stderr together, or only stdout with `stdoutOnly`. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, stdoutOnly = false): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return stdoutOnly ? r.stdout : `${r.stdout}${r.stderr}`;
}

/** The versions the repository locked, so the project's installs hit npm's cache. */
function lockedVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

beforeAll(() => {
  // A missing prebuild, or one older than the native sources (prepack's own check), is made first.
  if (spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-prebuild.js')], { cwd: ROOT }).status !== 0) {
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-prebuild.sh')], { cwd: ROOT, stdio: 'pipe' });
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-install-'));
  // Pack a scratch copy: prepack's tsc writes the copy's dist/, never the dist/ other tests run from.
  const src = path.join(tmp, 'src-copy');
  fs.mkdirSync(src);
  for (const entry of ['package.json', 'tsconfig.json', 'README.md', 'src', 'native', 'configs', 'data', 'prebuilds', 'scripts', 'CMakeLists.txt', 'binding.gyp']) {
    fs.cpSync(path.join(ROOT, entry), path.join(src, entry), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const packOut = run('npm', ['pack', '--pack-destination', tmp, '--json'], src, {}, true);
  // prepack's own lines come first on stdout; the JSON report is the last thing printed.
  const packed = JSON.parse(packOut.slice(packOut.lastIndexOf('\n[') + 1)) as { filename: string; size: number; files: { path: string }[] }[];
  tarball = path.join(tmp, packed[0].filename);
  fs.writeFileSync(path.join(tmp, 'files.json'), JSON.stringify(packed[0].files.map((f) => f.path)));

  project = path.join(tmp, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-torchnas', version: '1.0.0', private: true }));
  const env = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const t0 = Date.now();
  installLog = run('npm', ['install', '--prefer-offline', '--foreground-scripts', tarball, `typescript@${lockedVersion('typescript')}`, `@types/node@${lockedVersion('@types/node')}`], project, env);
  console.log(`pack-install: ${packed[0].filename} ${(packed[0].size / 1e6).toFixed(2)} MB, ${packed[0].files.length} files; npm install ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const f of ['guard.cjs', 'work.cjs', 'work.mjs', 'work.ts']) fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));
}, 900_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball carries exactly what a user needs, with the prebuild and the data', () => {
  const files = JSON.parse(fs.readFileSync(path.join(tmp, 'files.json'), 'utf8')) as string[];
  expect(files).toContain(`prebuilds/${TAG}/torchnas.node`);
  for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts', 'dist/cli/index.js', 'data/NOTICE', 'binding.gyp', 'CMakeLists.txt', 'scripts/install.js', 'scripts/torch-paths.js', 'native/addon.cc']) {
    expect(files).toContain(f);
  }
  expect(files.some((f) => f.startsWith('data/') && f.endsWith('.gz'))).toBe(true);
  expect(files.some((f) => f.startsWith('configs/') && f.endsWith('.yaml'))).toBe(true);
  // Nothing of the development tree.
  expect(files.filter((f) => /^(src|test|bench|build|node_modules|examples)\//.test(f) || f.endsWith('.map'))).toEqual([]);
});

test('npm install uses the prebuild: no compile, no build/ folder', () => {
  expect(installLog).toMatch(/torchnas: using the prebuilt addon/);
  expect(installLog).not.toMatch(/building from source/);
  expect(fs.existsSync(path.join(project, 'node_modules', 'torchnas', 'build'))).toBe(false);
});

function work(args: string[], forbidden = ROOT): Record<string, any> {
  const out = run(process.execPath, ['--require', './guard.cjs', ...args], project, {
    TORCHNAS_FORBIDDEN_ROOT: forbidden,
    TORCHNAS_HOME: path.join(tmp, 'home'),
    TORCHNAS_ADDON: '',
  });
  if (out.includes('read from the repository')) throw new Error(`the script touched the repository:\n${out}`);
  const line = out.split('\n').find((l) => l.startsWith('{"flavour"'));
  if (!line) throw new Error(`no result line in:\n${out}`);
  return JSON.parse(line) as Record<string, any>;
}

function checkResult(r: Record<string, any>): void {
  const installed = path.join(fs.realpathSync(project), 'node_modules', 'torchnas');
  expect(fs.realpathSync(r.addon)).toBe(path.join(installed, 'prebuilds', TAG, 'torchnas.node'));
  expect(r.nb201.file.startsWith(installed)).toBe(true);
  expect(r.nb201.accuracy).toBeGreaterThan(30);
  expect(r.nb201.rank).toBeGreaterThanOrEqual(1);
  // The counter reproduces the table's stored FLOPs and parameters.
  expect(r.flops.counted.flops).toBeCloseTo(r.flops.stored.flops, 6);
  expect(r.flops.counted.params).toBeCloseTo(r.flops.stored.params, 6);
  expect(Number.isFinite(r.tenas.kappa) && r.tenas.kappa >= 1).toBe(true);
  expect(r.tenas.regions).toBeGreaterThan(1);
}

let cjs: Record<string, any>;
test('(a) a CommonJS script', () => {
  cjs = work(['work.cjs']);
  expect(cjs.flavour).toBe('cjs');
  checkResult(cjs);
}, 300_000);

test('(b) an ES module script (named and default exports)', () => {
  const r = work(['work.mjs']);
  expect(r.flavour).toBe('esm');
  checkResult(r);
  expect({ ...r, flavour: 'cjs' }).toEqual(cjs);
}, 300_000);

test('(c) a TypeScript file type-checks against the shipped typings and runs', () => {
  const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', 'work.ts'];
  run(process.execPath, [tsc, '--noEmit', ...common], project);
  // The ES module typings (the import condition, dist/index.d.mts) check the same file as a .mts.
  fs.copyFileSync(path.join(project, 'work.ts'), path.join(project, 'work.mts'));
  run(process.execPath, [tsc, '--noEmit', ...common.slice(0, -1), 'work.mts'], project);
  // A type error is caught: the same call with a wrong option type fails to check.
  fs.writeFileSync(path.join(project, 'bad.ts'), "import { scoreArchitecture } from 'torchnas';\nvoid scoreArchitecture([0, 1], {} as never, { batchSize: 'eight' });\n");
  expect(() => run(process.execPath, [tsc, '--noEmit', ...common.slice(0, -1), 'bad.ts'], project)).toThrow(/bad\.ts\(2,\d+\): error TS2322/);
  run(process.execPath, [tsc, '--outDir', 'out', ...common], project);
  const r = work(['out/work.js']);
  expect(r.flavour).toBe('ts');
  checkResult(r);
  expect({ ...r, flavour: 'cjs' }).toEqual(cjs);
}, 300_000);

test('the guard is live: forbidding the installed package itself makes the script fail', () => {
  expect(() => work(['work.cjs'], path.join(project, 'node_modules', 'torchnas', 'data'))).toThrow(/read from the repository: .*node_modules\/torchnas\/data/);
}, 300_000);

test('package.json: exports with types, require and import; files as shipped', () => {
  const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'torchnas', 'package.json'), 'utf8'));
  expect(installed.version).toBe(PKG.version);
  expect(installed.exports['.'].require.types).toBe('./dist/index.d.ts');
  expect(installed.exports['.'].import.default).toBe('./dist/index.mjs');
});
