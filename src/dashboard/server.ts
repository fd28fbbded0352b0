/**
 * `torchnas dashboard`'s server: read-only (GET and HEAD only), bound to 127.0.0.1 unless told otherwise, serving
 * only what lies inside the runs folder (RunsFolder.resolve), with a random token required when the host is not
 * a loopback address. Live updates: the folder is polled, and each run whose events.jsonl grew gets its new
 * lines pushed to every page as a server-sent event.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseEvents } from '../report/events';
import { chartLibraryFile, renderPage } from './page';
import { plotsOf, summarize } from './plots';
import { RunsFolder } from './runs';
import './methods';

export interface DashboardOptions {
  runs: string;
  port?: number;
  host?: string;
  /** How often the folder is checked for new events, ms (default 500). */
  pollMs?: number;
  /** Require this token (default: a random one when the host is not loopback, none otherwise). */
  token?: string | null;
}

export interface Dashboard {
  url: string;
  /** The token the URL carries, or null when none is required. */
  token: string | null;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
};

/** The JSON of one run as the page wants it. */
export function runDetail(folder: RunsFolder, id: string): { summary: ReturnType<typeof summarize>; plots: ReturnType<typeof plotsOf> } | undefined {
  const run = folder.read(id);
  return run ? { summary: summarize(run), plots: plotsOf(run) } : undefined;
}

export function listRuns(folder: RunsFolder): ReturnType<typeof summarize>[] {
  return folder
    .list()
    .map((id) => folder.read(id))
    .filter((r): r is NonNullable<typeof r> => r !== undefined)
    .map(summarize);
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const folder = new RunsFolder(options.runs);
  const host = options.host ?? '127.0.0.1';
  const local = isLoopback(host);
  const token = options.token !== undefined ? options.token : local ? null : crypto.randomBytes(18).toString('base64url');
  const page = renderPage({ title: `torchnas dashboard — ${path.basename(folder.root)}` });
  const libraryFile = chartLibraryFile();
  const streams = new Set<http.ServerResponse>();

  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // the page loads nothing from elsewhere; its one inline script and style are its own
      'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const json = (res: http.ServerResponse, value: unknown) => send(res, 200, JSON.stringify(value), 'application/json; charset=utf-8');

  const authorized = (req: http.IncomingMessage, url: URL): boolean => {
    if (token === null) return true;
    const given = url.searchParams.get('token') ?? (req.headers['x-torchnas-token'] as string | undefined) ?? cookieToken(req.headers.cookie);
    if (given === undefined || given === null) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  };

  const server = http.createServer((req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'read-only: GET and HEAD only\n');
      // a page on another site cannot reach a loopback-bound dashboard by a DNS name that resolves to 127.0.0.1
      const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (local && !isLoopback(hostHeader)) return send(res, 403, 'forbidden host\n');
      const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
      if (!authorized(req, url)) return send(res, 401, 'a token is required: open the URL the dashboard printed at start\n');
      const route = url.pathname;
      if (route === '/' || route === '/index.html') {
        if (token !== null) res.setHeader('set-cookie', `torchnas_token=${token}; HttpOnly; SameSite=Strict; Path=/`);
        return send(res, 200, page, 'text/html; charset=utf-8');
      }
      if (route === '/assets/chart.umd.min.js') return send(res, 200, fs.readFileSync(libraryFile), 'text/javascript; charset=utf-8');
      if (route === '/api/runs') return json(res, listRuns(folder));
      if (route === '/api/run') {
        const detail = runDetail(folder, url.searchParams.get('id') ?? '');
        return detail ? json(res, detail) : send(res, 404, 'no such run\n');
      }
      if (route === '/api/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      if (route.startsWith('/files/')) {
        let relative: string;
        try {
          relative = decodeURIComponent(route.slice('/files/'.length));
        } catch {
          return send(res, 400, 'bad path\n');
        }
        const file = folder.resolve(relative);
        if (!file || !fs.statSync(file).isFile()) return send(res, 404, 'not found\n');
        return send(res, 200, fs.readFileSync(file), CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
      }
      return send(res, 404, 'not found\n');
    } catch (e) {
      return send(res, 500, `error: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  });

  // live: each run's events.jsonl size and result.json mtime; growth is sent as the new complete lines
  const seen = new Map<string, { offset: number; result: number }>();
  const broadcast = (event: string, data: unknown) => {
    const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of streams) s.write(message);
  };
  const stat = (file: string | undefined) => {
    try {
      return file ? fs.statSync(file) : undefined;
    } catch {
      return undefined;
    }
  };
  const poll = () => {
    const ids = folder.list();
    let listChanged = ids.length !== seen.size || ids.some((id) => !seen.has(id));
    for (const id of [...seen.keys()]) if (!ids.includes(id)) seen.delete(id);
    for (const id of ids) {
      const dir = folder.resolve(id === '.' ? '' : id);
      if (!dir) continue;
      const eventsFile = folder.resolve(path.posix.join(id, 'events.jsonl'));
      const events = stat(eventsFile);
      const result = stat(folder.resolve(path.posix.join(id, 'result.json')));
      const before = seen.get(id);
      const now = { offset: before?.offset ?? 0, result: result ? result.mtimeMs : 0 };
      let fresh: ReturnType<typeof parseEvents> = [];
      if (events && eventsFile) {
        if (events.size < now.offset) now.offset = 0;
        if (events.size > now.offset && before) {
          const fd = fs.openSync(eventsFile, 'r');
          try {
            const buffer = Buffer.alloc(events.size - now.offset);
            fs.readSync(fd, buffer, 0, buffer.length, now.offset);
            const text = buffer.toString('utf8');
            const complete = text.lastIndexOf('\n') + 1;
            fresh = parseEvents(text.slice(0, complete));
            now.offset += Buffer.byteLength(text.slice(0, complete));
          } finally {
            fs.closeSync(fd);
          }
        } else if (!before) now.offset = events.size;
      }
      seen.set(id, now);
      if (before && (fresh.length > 0 || now.result !== before.result)) {
        broadcast('run', { id, events: fresh });
        if (fresh.some((e) => e.type === 'start' || e.type === 'end') || now.result !== before.result) listChanged = true;
      }
    }
    if (listChanged) broadcast('runs', { count: ids.length });
  };
  poll();
  const timer = setInterval(() => {
    try {
      poll();
    } catch {
      // a folder removed mid-scan: the next poll sees the new state
    }
  }, options.pollMs ?? 500);
  const keepAlive = setInterval(() => {
    for (const s of streams) s.write(': keep-alive\n\n');
  }, 15000);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8765, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // bound to every address: print one this machine answers on
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/${token === null ? '' : `?token=${token}`}`,
    token,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        clearInterval(keepAlive);
        for (const s of streams) s.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function cookieToken(cookie: string | undefined): string | undefined {
  const m = /(?:^|;\s*)torchnas_token=([^;]+)/.exec(cookie ?? '');
  return m?.[1];
}
