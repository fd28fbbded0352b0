/**
 * The dashboard server without a browser: what it serves (runs, plots, run files) and what it refuses — paths
 * outside the runs folder (plain, encoded and double-encoded '..', absolute paths, symlinks leading out), writes,
 * foreign Host headers, and requests without the token when bound to a non-loopback address.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDashboard, Dashboard } from '../../src/dashboard/server';
import { renderExport } from '../../src/dashboard/export';
import { RunsFolder } from '../../src/dashboard/runs';
import { MAX_EVENT_POINTS, thin } from '../../src/dashboard/plots';
import { runCli } from '../helpers/cli';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'dashboard');

/** A raw request: the path goes out exactly as written (no URL normalisation on the client side). */
function request(port: number, rawPath: string, options: { method?: string; host?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let tmp: string;
let runs: string;
const SECRET = 'secret outside the runs folder';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dashboard-server-'));
  runs = path.join(tmp, 'runs');
  fs.mkdirSync(path.join(runs, 'nested'), { recursive: true });
  fs.cpSync(path.join(FIXTURES, 'tenas-search'), path.join(runs, 'nested', 'tenas-search'), { recursive: true });
  fs.cpSync(path.join(FIXTURES, 'ncp-train'), path.join(runs, 'ncp-train'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
  fs.mkdirSync(path.join(tmp, 'outside-run'));
  fs.cpSync(path.join(FIXTURES, 'ncp-edit', 'result.json'), path.join(tmp, 'outside-run', 'result.json'));
  // symlinks inside the folder that lead out of it: a file and a run folder
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(runs, 'link-to-secret.txt'));
  fs.symlinkSync(path.join(tmp, 'outside-run'), path.join(runs, 'linked-run'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('on 127.0.0.1 (the default)', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    dashboard = await startDashboard({ runs, port: 0 });
  });
  afterAll(() => dashboard.close());

  test('binds loopback without a token; lists the runs (nested ones too, symlinked folders not followed)', async () => {
    expect(dashboard.token).toBeNull();
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
    const list = JSON.parse((await request(dashboard.port, '/api/runs')).body) as { id: string; method: string; status: string; seed: number }[];
    expect(list.map((r) => [r.id, r.method, r.status])).toEqual([
      ['ncp-train', 'ncp train', 'completed'],
      ['nested/tenas-search', 'tenas search', 'completed'],
    ]);
    const tenas = JSON.parse(fs.readFileSync(path.join(runs, 'nested', 'tenas-search', 'result.json'), 'utf8'));
    expect(list[1].seed).toBe(tenas.seed);
  });

  test('a run’s plots: one TE-NAS scatter per round with its candidates; unknown ids are 404', async () => {
    const detail = JSON.parse((await request(dashboard.port, '/api/run?id=nested%2Ftenas-search')).body) as { plots: { id: string; series: { points: unknown[] }[] }[] };
    const tenas = JSON.parse(fs.readFileSync(path.join(runs, 'nested', 'tenas-search', 'result.json'), 'utf8'));
    for (const [i, round] of (tenas.result.rounds as { candidates: { pruned: boolean }[] }[]).entries()) {
      const plot = detail.plots.find((p) => p.id === `tenas:round:${i}`)!;
      expect(plot.series.map((s) => s.points.length)).toEqual([round.candidates.filter((c) => !c.pruned).length, round.candidates.filter((c) => c.pruned).length]);
    }
    expect((await request(dashboard.port, '/api/run?id=linked-run')).status).toBe(404);
    expect((await request(dashboard.port, '/api/run?id=..%2Foutside-run')).status).toBe(404);
    expect((await request(dashboard.port, '/api/run?id=nope')).status).toBe(404);
  });

  test('serves files inside the folder and the bundled library; nothing outside', async () => {
    const inside = await request(dashboard.port, '/files/ncp-train/result.json');
    expect(inside.status).toBe(200);
    expect(JSON.parse(inside.body).method).toBe('ncp train');
    const library = await request(dashboard.port, '/assets/chart.umd.min.js');
    expect(library.status).toBe(200);
    expect(library.body).toMatch(/Chart/);
    const refused = [
      '/files/../secret.txt',
      '/files/..%2fsecret.txt',
      '/files/%2e%2e%2fsecret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/nested/..%2f..%2fsecret.txt',
      '/files/%252e%252e%252fsecret.txt',
      '/files/..%5csecret.txt',
      `/files/${encodeURIComponent(path.join(tmp, 'secret.txt'))}`,
      '/files/link-to-secret.txt',
      '/files/linked-run/result.json',
      '/files/ncp-train/%00result.json',
      '/../secret.txt',
    ];
    for (const p of refused) {
      const r = await request(dashboard.port, p);
      expect([p, r.status]).toEqual([p, expect.any(Number)]);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain(SECRET);
    }
    const folder = new RunsFolder(runs);
    expect(folder.resolve('../secret.txt')).toBeUndefined();
    expect(folder.resolve('link-to-secret.txt')).toBeUndefined();
    expect(folder.resolve('ncp-train/result.json')).toBe(path.join(fs.realpathSync(runs), 'ncp-train', 'result.json'));
  });

  test('read-only: anything but GET/HEAD is 405; a foreign Host header is 403', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await request(dashboard.port, '/api/runs', { method })).status).toBe(405);
    expect((await request(dashboard.port, '/api/runs', { host: 'evil.example:80' })).status).toBe(403);
    expect((await request(dashboard.port, '/api/runs', { host: `localhost:${dashboard.port}` })).status).toBe(200);
  });
});

test('off loopback, every request needs the printed token', async () => {
  const dashboard = await startDashboard({ runs, port: 0, host: '0.0.0.0' });
  try {
    expect(dashboard.token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/?token=${dashboard.token}`);
    expect((await request(dashboard.port, '/')).status).toBe(401);
    expect((await request(dashboard.port, '/api/runs?token=wrong')).status).toBe(401);
    expect((await request(dashboard.port, '/files/ncp-train/result.json')).status).toBe(401);
    expect((await request(dashboard.port, `/api/runs?token=${dashboard.token}`)).status).toBe(200);
    expect((await request(dashboard.port, '/api/runs', { headers: { 'x-torchnas-token': dashboard.token! } })).status).toBe(200);
  } finally {
    await dashboard.close();
  }
});

test('the export inlines the library and the data; nothing refers to the network', () => {
  const { html, runs: count } = renderExport(runs);
  expect(count).toBe(2);
  expect(html).not.toMatch(/<script[^>]+src=/);
  expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
  expect(html).toContain('window.__TORCHNAS__ = ');
  // one <script> closes per script opened: nothing inlined closed one early
  expect(html.match(/<script>/g)!.length).toBe(html.match(/<\/script>/g)!.length);
});

test('`torchnas dashboard`: --export writes the file; a missing folder or a bad port is a usage error', async () => {
  const out = path.join(tmp, 'export.html');
  const r = await runCli(['dashboard', '--runs', runs, '--export', out]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^wrote .*export\.html: 2 run\(s\), \d+ KiB, opens offline\n$/);
  expect(fs.readFileSync(out, 'utf8')).toContain('"id":"nested/tenas-search"');
  const missing = await runCli(['dashboard', '--runs', path.join(tmp, 'nope')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--runs .*nope: no such folder/);
  const port = await runCli(['dashboard', '--runs', runs, '--port', 'abc']);
  expect(port.code).toBe(2);
  expect(port.stderr).toMatch(/--port expects an integer, got 'abc'/);
});

test('a long run’s progress series is thinned for the browser, keeping the first and the latest point', () => {
  const points = Array.from({ length: 10001 }, (_v, i) => [i, i * i] as [number, number]);
  const shown = thin(points, MAX_EVENT_POINTS);
  expect(shown.length).toBeLessThanOrEqual(MAX_EVENT_POINTS);
  expect(shown.length).toBeGreaterThan(MAX_EVENT_POINTS / 2);
  expect(shown[0]).toEqual([0, 0]);
  expect(shown[shown.length - 1]).toEqual([10000, 1e8]);
  expect(thin(points.slice(0, 50), MAX_EVENT_POINTS)).toHaveLength(50);
});
