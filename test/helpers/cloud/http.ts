/** What every cloud stand-in server needs: a loopback listener, bounded bodies, JSON and OAuth2 answers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

export interface StandIn {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Requests served, by "METHOD path" (query left off). */
  hits: Map<string, number>;
  /** While set, every request is answered with this status (a provider outage). */
  down: number | undefined;
  server: Server;
  stop(): Promise<void>;
}

export function count(s: StandIn, key: string): number {
  return s.hits.get(key) ?? 0;
}

export async function startStandIn(handler: Handler): Promise<StandIn> {
  const state = { hits: new Map<string, number>(), down: undefined } as unknown as StandIn;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const key = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
      state.hits.set(key, (state.hits.get(key) ?? 0) + 1);
      if (state.down !== undefined) return json(res, state.down, { error: 'unavailable' });
      Promise.resolve(handler(req, Buffer.concat(chunks).toString('utf8'), res)).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: String(err) });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.server = server;
  state.host = `127.0.0.1:${port}`;
  state.url = `http://${state.host}`;
  state.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** An OAuth2 error answer (RFC 6749 §5.2). */
export function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  json(res, status, { error, error_description: description });
}
