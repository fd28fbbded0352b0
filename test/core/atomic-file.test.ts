/** Issue 7: atomic writes sync file and folder, name temps by pid, and clean up after killed writers. */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanStaleTemps, writeFileAtomic, writeJsonAtomic } from '../../src/core/atomic-file';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-atomic-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  return dir;
}

/** A pid no process has: spawn a short-lived child and wait for it to exit. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

test('temps are named <name>.tmp-<pid>-<random>; the temp is synced before the rename, the folder after', async () => {
  const dir = folder('order');
  const file = path.join(dir, 'r.json');
  const events: string[] = [];
  const probe = await fs.promises.open(path.join(dir, 'probe'), 'w');
  const handleProto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  fs.rmSync(path.join(dir, 'probe'));
  const realSync = handleProto.sync;
  const sync = jest.spyOn(handleProto, 'sync').mockImplementation(function (this: fs.promises.FileHandle) {
    events.push(`sync ${fs.fstatSync(this.fd).isDirectory() ? 'folder' : 'file'}`);
    return realSync.call(this);
  });
  const rename = jest.spyOn(fs.promises, 'rename');
  try {
    await writeJsonAtomic(file, { a: 1 });
    await writeJsonAtomic(file, { a: 2 });
  } finally {
    sync.mockRestore();
  }
  const temps = rename.mock.calls.map(([from]) => path.basename(String(from)));
  rename.mockRestore();
  expect(temps).toHaveLength(2);
  for (const name of temps) expect(name).toMatch(new RegExp(`^r\\.json\\.tmp-${process.pid}-[0-9a-f]{12}$`));
  expect(temps[0]).not.toBe(temps[1]);
  expect(events).toEqual(['sync file', 'sync folder', 'sync file', 'sync folder']);
  expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ a: 2 });
  expect(fs.readdirSync(dir)).toEqual(['r.json']);
});

test('cleanStaleTemps removes temps of dead writers only, never of live ones or other files', async () => {
  const dir = folder('clean');
  const dead = await deadPid();
  const names = {
    dead: `a.json.tmp-${dead}-0a1b2c3d4e5f`,
    deadCounter: `b.json.tmp-${dead}-7`,
    mine: `c.json.tmp-${process.pid}-00ff00ff00ff`,
    parent: `d.json.tmp-${process.ppid}-123456`,
    unrelated: 'notes.tmp-x',
    result: 'result.json',
  };
  for (const name of Object.values(names)) fs.writeFileSync(path.join(dir, name), 'x');
  expect((await cleanStaleTemps(dir)).sort()).toEqual([names.dead, names.deadCounter].sort());
  expect(fs.readdirSync(dir).sort()).toEqual([names.mine, names.parent, names.unrelated, names.result].sort());
  expect(await cleanStaleTemps(path.join(dir, 'missing'))).toEqual([]);
});

describe('a writer killed with SIGKILL mid-write', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** Starts the writer, waits until one of its temps exists, kills it; returns the temps it left. */
  async function killMidWrite(dir: string): Promise<string[]> {
    const writer = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'atomic-writer.js'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = writer;
    const prefix = `result.json.tmp-${writer.pid}-`;
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    // Poll the folder (no time limit here: jest's per-test timeout guards a writer that never writes).
    for (;;) {
      if (fs.readdirSync(dir).some((n) => n.startsWith(prefix))) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    writer.kill('SIGKILL');
    await exited;
    return fs.readdirSync(dir).filter((n) => n.startsWith(prefix));
  }

  test('leaves its temp behind; the next write into the folder removes it, and the result is whole', async () => {
    const dir = folder('killed');
    let left: string[] = [];
    // The kill can land between a rename and the next open; then there is no temp, so try again.
    for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) left = await killMidWrite(dir);
    expect(left).toHaveLength(1);
    const liveTemp = `other.json.tmp-${process.pid}-abcdef`;
    fs.writeFileSync(path.join(dir, liveTemp), 'in progress');
    await writeFileAtomic(path.join(dir, 'next.txt'), 'next');
    const after = fs.readdirSync(dir).sort();
    expect(after.filter((n) => n.includes('.tmp-'))).toEqual([liveTemp]);
    expect(after).toContain('next.txt');
    if (after.includes('result.json')) {
      // Whatever the killed writer renamed into place is complete JSON.
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).rows).toHaveLength(200000);
    }
  });
});
