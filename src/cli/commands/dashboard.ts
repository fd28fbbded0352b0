/** `torchnas dashboard`: every run under a folder on one local web page, live; or one exported HTML file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../../core/errors';
import { exportDashboard } from '../../dashboard/export';
import { isLoopback, startDashboard } from '../../dashboard/server';
import { defineCommand, intFlag } from '../command';

export const dashboardCommand = defineCommand({
  name: 'dashboard',
  summary: 'serve every run under a folder on one local web page (live), or export it as one HTML file',
  usage: '[--runs DIR] [--port N] [--host H] [--export OUT.html]',
  flags: {
    runs: { type: 'string', value: 'DIR', help: 'folder holding the runs (their --out folders, at any depth up to 4); default ./runs' },
    port: { type: 'string', value: 'N', help: 'port (default 8765; 0 picks a free one)' },
    host: { type: 'string', value: 'H', help: 'address to bind (default 127.0.0.1); any other than loopback requires the printed token' },
    export: { type: 'string', value: 'OUT.html', help: 'write one self-contained HTML file of the same views (library and data inlined) and exit' },
  },
  notes: [
    'Read-only: GET only, nothing outside DIR is served. The page updates live (server-sent events) as runs append to',
    'their events.jsonl. Stop with Ctrl-C.',
  ],
  async run(flags) {
    const runs = flags.runs ?? 'runs';
    if (!fs.existsSync(runs) || !fs.statSync(runs).isDirectory()) throw new TorchnasError(`--runs ${runs}: no such folder (give the folder your runs' --out folders are in)`, 'INVALID_ARGUMENT');
    if (flags.export !== undefined) {
      const r = await exportDashboard(runs, path.resolve(flags.export));
      process.stdout.write(`wrote ${flags.export}: ${r.runs} run(s), ${(r.bytes / 1024).toFixed(0)} KiB, opens offline\n`);
      return 0;
    }
    const port = intFlag(flags.port, 'port') ?? 8765;
    if (port < 0 || port > 65535) throw new TorchnasError(`--port expects 0..65535, got ${port}`, 'INVALID_ARGUMENT');
    const host = flags.host ?? '127.0.0.1';
    let dashboard;
    try {
      dashboard = await startDashboard({ runs, port, host });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new TorchnasError(`port ${port} is in use on ${host}: pick another with --port (0 = any free port)`, 'INVALID_ARGUMENT');
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new TorchnasError(`--host ${host}: not an address of this machine`, 'INVALID_ARGUMENT');
      throw e;
    }
    process.stdout.write(`torchnas dashboard: ${path.resolve(runs)}\n  ${dashboard.url}\n`);
    if (!isLoopback(host)) process.stdout.write(`  bound to ${host}: the token in the URL is required (keep it private)\n`);
    const stop = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await dashboard.close();
    process.stderr.write(`torchnas dashboard: stopped (${stop})\n`);
    return 0;
  },
});
