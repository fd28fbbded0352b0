/**
 * A local HTTP server for download tests (127.0.0.1, a free port): each route serves some bytes with Range
 * support, or misbehaves on purpose (cuts the connection, answers 500, ignores Range, stalls, redirects).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';

export type RouteBehaviour =
  /** `chunked`: no Content-Length, so the client learns the size only at the end. */
  | { kind: 'serve'; body: Uint8Array; ignoreRange?: boolean; chunked?: boolean }
  /** The first `times` requests send the headers of the whole body, `cutAt` bytes, then drop the connection. */
  | { kind: 'cut'; body: Uint8Array; cutAt: number; times: number }
  /** Sends `stallAt` bytes, then nothing (the connection stays open until the server closes). */
  | { kind: 'stall'; body: Uint8Array; stallAt: number }
  | { kind: 'status'; status: number }
  | { kind: 'redirect'; location: string };

export interface TableServer {
  /** http://127.0.0.1:PORT */
  base: string;
  /** Every request: its path and Range header. */
  requests: { path: string; range?: string }[];
  route(urlPath: string, behaviour: RouteBehaviour): void;
  close(): Promise<void>;
}

export async function startTableServer(): Promise<TableServer> {
  const routes = new Map<string, RouteBehaviour>();
  const served = new Map<string, number>();
  const requests: TableServer['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const urlPath = req.url ?? '/';
    requests.push({ path: urlPath, range: req.headers.range });
    const route = routes.get(urlPath);
    const count = (served.get(urlPath) ?? 0) + 1;
    served.set(urlPath, count);
    if (!route) return void res.writeHead(404).end('not found');
    if (route.kind === 'status') return void res.writeHead(route.status).end(`status ${route.status}`);
    if (route.kind === 'redirect') return void res.writeHead(302, { location: route.location }).end();
    const body = Buffer.from(route.body);
    if (route.kind === 'cut' && count <= route.times) {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, route.cutAt), () => res.socket?.destroy());
      return;
    }
    if (route.kind === 'stall') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, route.stallAt));
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !(route.kind === 'serve' && route.ignoreRange)) {
      const start = Number(range[1]);
      if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      return void res.end(body.subarray(start));
    }
    res.writeHead(200, route.kind === 'serve' && route.chunked ? {} : { 'content-length': body.length });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    route: (urlPath, behaviour) => {
      routes.set(urlPath, behaviour);
      served.delete(urlPath);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes an extra table catalog (the format of $TORCHNAS_CATALOG) and returns its path. */
export function writeCatalog(dir: string, tables: Record<string, unknown>[]): string {
  const file = path.join(dir, `catalog-${Math.random().toString(16).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ tables }));
  return file;
}
