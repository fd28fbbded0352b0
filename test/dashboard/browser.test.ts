/**
 * The dashboard in a real browser: Debian's chromium driven by puppeteer-core (no browser download). The runs
 * folder holds a finished TE-NAS search, an NCP training and an NCP edit (test/fixtures/dashboard, written by the
 * real commands: make.sh there) and a run in progress whose events.jsonl this test appends to. Screenshots go to
 * test-artifacts/dashboard/ (git-ignored).
 *
 * Chromium: $TORCHNAS_CHROMIUM, else /usr/bin/chromium. Missing, the tests fail in CI ($CI set: .ci/run installs
 * it) and are skipped with a printed reason elsewhere.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { startDashboard, Dashboard } from '../../src/dashboard/server';
import { exportDashboard } from '../../src/dashboard/export';

// The callbacks handed to page.evaluate/$eval/waitForFunction run in the browser, where these are its globals.
declare const window: unknown;
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dashboard');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'dashboard');

function findChromium(): string | undefined {
  // $TORCHNAS_CHROMIUM, when set, is the only candidate (a wrong one is reported as missing, never worked around)
  const candidates = process.env.TORCHNAS_CHROMIUM ? [process.env.TORCHNAS_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((c) => fs.existsSync(c));
}
const chromium = findChromium();
if (!chromium) {
  if (process.env.CI) {
    test('chromium is installed (CI)', () => {
      throw new Error('chromium not found (/usr/bin/chromium or $TORCHNAS_CHROMIUM): .ci/run installs the Debian chromium package before npm test');
    });
  } else {
    process.stderr.write('test/dashboard/browser.test.ts: SKIPPED: no chromium (/usr/bin/chromium or $TORCHNAS_CHROMIUM); apt-get install chromium to run the browser tests\n');
  }
}
const describeBrowser = chromium ? describe : describe.skip;

/** Points Chart.js actually laid out for a plot (elements of every dataset), and what the page says it was given. */
async function renderedPoints(page: Page, plotId: string): Promise<{ rendered: number; given: number }> {
  return page.$eval(`canvas[data-plot-id="${plotId}"]`, (canvas) => {
    const chart = (window as unknown as { Chart: { getChart(c: unknown): { data: { datasets: unknown[] }; getDatasetMeta(i: number): { data: unknown[] } } } }).Chart.getChart(canvas);
    let rendered = 0;
    chart.data.datasets.forEach((_d, i) => (rendered += chart.getDatasetMeta(i).data.length));
    return { rendered, given: Number(canvas.getAttribute('data-points')) };
  });
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describeBrowser('dashboard in chromium', () => {
  let tmp: string;
  let runs: string;
  let dashboard: Dashboard;
  let browser: Browser;
  const liveEvents = () => path.join(runs, 'live-search', 'events.jsonl');
  const line = (e: Record<string, unknown>) => JSON.stringify({ t: 0, time: new Date().toISOString(), ...e }) + '\n';
  const appendProgress = (from: number, count: number) => {
    for (let k = from; k < from + count; k++) fs.appendFileSync(liveEvents(), line({ type: 'progress', done: k, total: 100, fields: { epoch: 1, loss: 2 / k } }));
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-dashboard-'));
    runs = path.join(tmp, 'runs');
    for (const run of ['tenas-search', 'ncp-train', 'ncp-edit']) fs.cpSync(path.join(FIXTURES, run), path.join(runs, run), { recursive: true });
    // a run in progress: started by this (living) process, three progress events so far
    fs.mkdirSync(path.join(runs, 'live-search'));
    fs.writeFileSync(liveEvents(), line({ type: 'start', method: 'my-method search', seed: 3, device: 'cpu', config: { epochs: 9 }, pid: process.pid, host: os.hostname() }));
    appendProgress(1, 3);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dashboard = await startDashboard({ runs, port: 0, pollMs: 150 });
    const puppeteer = await import('puppeteer-core');
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the list shows every run; TE-NAS rounds and NCP plots render with their points; the live run gains points without a reload', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(dashboard.url);
    await page.waitForSelector('body[data-ready="1"]');

    const rows = await page.$$eval('#runs tr.run', (trs) => trs.map((tr) => ({ id: tr.getAttribute('data-run-id'), method: tr.getAttribute('data-method'), status: tr.querySelector('.status')?.textContent })));
    expect(rows).toEqual([
      { id: 'live-search', method: 'my-method search', status: 'running' },
      { id: 'ncp-edit', method: 'ncp edit', status: 'completed' },
      { id: 'ncp-train', method: 'ncp train', status: 'completed' },
      { id: 'tenas-search', method: 'tenas search', status: 'completed' },
    ]);
    const tenasRow = await page.$eval('#runs tr[data-run-id="tenas-search"]', (tr) => tr.textContent ?? '');
    const tenas = readJson(path.join(runs, 'tenas-search', 'result.json'));
    expect(tenasRow).toContain(tenas.result.arch);
    expect(tenasRow).toContain(`${tenas.seed}`);

    // TE-NAS: one scatter per round, one point per candidate of that round
    await page.click('#runs tr[data-run-id="tenas-search"]');
    await page.waitForSelector('#view[data-shown="tenas-search"] canvas[data-plot-id="tenas:round:0"]');
    expect(tenas.result.rounds.length).toBeGreaterThan(1);
    for (const [i, round] of (tenas.result.rounds as { candidates: unknown[] }[]).entries()) {
      expect(await renderedPoints(page, `tenas:round:${i}`)).toEqual({ rendered: round.candidates.length, given: round.candidates.length });
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'tenas-search.png'), fullPage: true });

    // NCP edit: the Pareto sweep has one point per FLOPs weight
    await page.click('#runs tr[data-run-id="ncp-edit"]');
    await page.waitForSelector('#view[data-shown="ncp-edit"] canvas[data-plot-id="ncp:pareto"]');
    const edit = readJson(path.join(runs, 'ncp-edit', 'result.json'));
    expect((await renderedPoints(page, 'ncp:pareto')).rendered).toBe(edit.result.pareto.length);
    const steps = (edit.result.trajectories as { steps: unknown[] }[]).reduce((n, t) => n + t.steps.length, 0);
    expect((await renderedPoints(page, 'ncp:trajectories')).rendered).toBe(steps);
    await page.screenshot({ path: path.join(ARTIFACTS, 'ncp-edit.png'), fullPage: true });

    // NCP train: the learning curve has one point per epoch
    await page.click('#runs tr[data-run-id="ncp-train"]');
    await page.waitForSelector('#view[data-shown="ncp-train"] canvas[data-plot-id="ncp:loss"]');
    const train = readJson(path.join(runs, 'ncp-train', 'result.json'));
    expect((await renderedPoints(page, 'ncp:loss')).rendered).toBe(train.result.history.length);

    // the run in progress: a method with no plots of its own still shows its numeric event series, live
    await page.click('#runs tr[data-run-id="live-search"]');
    await page.waitForSelector('#view[data-shown="live-search"] canvas[data-plot-id="events:loss"]');
    expect((await renderedPoints(page, 'events:loss')).rendered).toBe(3);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    appendProgress(4, 4);
    await page.waitForFunction(
      () => {
        const canvas = document.querySelector('canvas[data-plot-id="events:loss"]');
        const chart = canvas && (window as unknown as { Chart: { getChart(c: unknown): { getDatasetMeta(i: number): { data: unknown[] } } } }).Chart.getChart(canvas);
        return chart ? chart.getDatasetMeta(0).data.length === 7 : false;
      },
      { timeout: 15000 },
    );
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'live-run.png'), fullPage: true });

    // a second run started meanwhile appears in the list without a reload
    fs.mkdirSync(path.join(runs, 'second'));
    fs.writeFileSync(path.join(runs, 'second', 'events.jsonl'), line({ type: 'start', method: 'tenas search', seed: 2, device: 'cpu', config: null, pid: process.pid, host: os.hostname() }));
    await page.waitForSelector('#runs tr[data-run-id="second"]', { timeout: 15000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // its end is noticed too: the status changes to the end line's
    fs.appendFileSync(liveEvents(), line({ type: 'end', status: 'completed', wallSeconds: 1.5 }));
    await page.waitForFunction(() => document.querySelector('#runs tr[data-run-id="live-search"] .status')?.textContent === 'completed', { timeout: 15000 });
    await page.close();
  });

  test('overlay: ticking two runs of one method draws both runs’ series in one plot', async () => {
    // a second seed of the same NCP training (real run: make.sh)
    fs.cpSync(path.join(FIXTURES, 'ncp-train-seed7'), path.join(runs, 'ncp-train-seed7'), { recursive: true });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(dashboard.url);
    await page.waitForSelector('#runs tr[data-run-id="ncp-train-seed7"]');
    await page.click('#runs tr[data-run-id="ncp-train"] input.pick');
    // a live re-render of the list (another run's new event) keeps the tick
    appendProgress(8, 1);
    await page.waitForFunction(() => (document.querySelector('#runs tr[data-run-id="live-search"] .headline')?.textContent ?? '').startsWith('8/100'), { timeout: 15000 });
    expect(await page.$eval('#runs tr[data-run-id="ncp-train"] input.pick', (c) => (c as unknown as { checked: boolean }).checked)).toBe(true);
    await page.click('#runs tr[data-run-id="ncp-train-seed7"] input.pick');
    await page.click('#overlay');
    await page.waitForSelector('#view[data-shown="ncp-train,ncp-train-seed7"] canvas[data-plot-id="ncp:loss"]');
    const histories = ['ncp-train', 'ncp-train-seed7'].map((id) => readJson(path.join(runs, id, 'result.json')).result.history as { trainLoss: number }[]);
    expect((await renderedPoints(page, 'ncp:loss')).rendered).toBe(histories[0].length + histories[1].length);
    // each run's own curve (the seeds differ)
    const curves = await page.$eval('canvas[data-plot-id="ncp:loss"]', (canvas) =>
      (window as unknown as { Chart: { getChart(c: unknown): { data: { datasets: { data: { y: number }[] }[] } } } }).Chart.getChart(canvas).data.datasets.map((d) => d.data.map((p) => p.y)),
    );
    expect(curves).toEqual(histories.map((h) => h.map((e) => e.trainLoss)));
    expect(curves[0]).not.toEqual(curves[1]);
    const legend = await page.$eval('canvas[data-plot-id="ncp:loss"]', (canvas) =>
      (window as unknown as { Chart: { getChart(c: unknown): { data: { datasets: { label: string }[] } } } }).Chart.getChart(canvas).data.datasets.map((d) => d.label),
    );
    expect(legend).toEqual(['ncp-train: train loss', 'ncp-train-seed7: train loss']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'overlay.png'), fullPage: true });
    await page.close();
  });

  test('the exported HTML opens offline (file://, network off) and shows the same plots', async () => {
    const out = path.join(tmp, 'dashboard.html');
    const r = await exportDashboard(runs, out);
    expect(r.runs).toBe(fs.readdirSync(runs).length);
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    await page.setOfflineMode(true);
    const requests: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      requests.push(request.url());
      if (request.url().startsWith('file:')) void request.continue();
      else void request.abort();
    });
    await page.goto(`file://${out}#run=tenas-search`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForSelector('#view[data-shown="tenas-search"] canvas[data-plot-id="tenas:round:0"]');
    const tenas = readJson(path.join(runs, 'tenas-search', 'result.json'));
    expect((await renderedPoints(page, 'tenas:round:0')).rendered).toBe(tenas.result.rounds[0].candidates.length);
    expect(await page.$$eval('#runs tr.run', (trs) => trs.length)).toBe(r.runs);
    // everything came from the one file
    expect(requests.every((u) => u.startsWith('file:'))).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'export-offline.png'), fullPage: true });
    await page.close();
  });
});
