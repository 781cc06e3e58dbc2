/**
 * A small HTTP proxy in front of the real test registry that counts requests and injects faults:
 * stall, delay, a status (500, 429 + Retry-After), wrong bytes, an oversized body, a redirect loop, a
 * connection reset in the middle of the body, or a redirect to another host.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'wrongBytes' }
  | { kind: 'oversize'; bytes: number; contentType?: string; declareLength?: boolean }
  | { kind: 'redirectLoop' }
  | { kind: 'redirect'; to: string }
  | { kind: 'resetMidBody' };

interface Rule {
  match: RegExp;
  fault: Fault;
  remaining: number;
}

export interface FaultProxy {
  host: string;
  url: string;
  /** Every request seen, as "METHOD /path?query". */
  log: string[];
  /** Whether each logged request carried an Authorization header. */
  authorized: boolean[];
  count(match: RegExp): number;
  /** Applies `fault` to the next `times` requests whose "METHOD /path" matches (default: all). */
  inject(match: RegExp, fault: Fault, times?: number): void;
  clear(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(
  upstream: string,
  options: { tls?: { keyPem: string; certPem: string } } = {},
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: Rule[] = [];
  const log: string[] = [];
  const authorized: boolean[] = [];
  const sockets = new Set<Socket>();

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    mutate?: (body: Buffer) => Buffer,
    reset = false,
  ): void => {
    const up = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          let body: Buffer = Buffer.concat(chunks);
          if (mutate !== undefined && body.length > 0) body = mutate(body);
          const headers = { ...upRes.headers };
          if (req.method !== 'HEAD') {
            // the body is re-sent whole: a chunked upstream answer must not keep its transfer-encoding
            delete headers['transfer-encoding'];
            headers['content-length'] = String(body.length);
          }
          res.writeHead(upRes.statusCode ?? 502, headers);
          if (reset) {
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            setTimeout(() => res.socket?.destroy(), 20);
            return;
          }
          res.end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const line = `${req.method} ${req.url}`;
    log.push(line);
    authorized.push(req.headers.authorization !== undefined);
    const rule = rules.find((r) => r.remaining > 0 && r.match.test(line));
    if (rule === undefined) return forward(req, res);
    rule.remaining--;
    const f = rule.fault;
    switch (f.kind) {
      case 'stall':
        return; // never answer; the socket is destroyed on stop()
      case 'delay':
        setTimeout(() => forward(req, res), f.ms);
        return;
      case 'status':
        res.writeHead(f.status, { 'content-type': 'application/json', ...(f.headers ?? {}) });
        res.end(f.body ?? '{"errors":[{"code":"INJECTED","message":"injected fault"}]}');
        return;
      case 'wrongBytes':
        return forward(req, res, (b) => {
          const copy = Buffer.from(b);
          const i = copy.lastIndexOf('}'.charCodeAt(0));
          const at = i > 0 ? i - 1 : 0;
          copy[at] = (copy[at] ?? 0) ^ 0x20;
          return copy;
        });
      case 'resetMidBody':
        return forward(req, res, undefined, true);
      case 'oversize': {
        res.writeHead(200, {
          'content-type': f.contentType ?? 'application/vnd.oci.image.manifest.v1+json',
          ...(f.declareLength === true ? { 'content-length': String(f.bytes) } : {}),
        });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < f.bytes) {
            const n = Math.min(chunk.length, f.bytes - sent);
            sent += n;
            if (!res.write(chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      case 'redirectLoop':
        res.writeHead(302, { location: req.url ?? '/' }).end();
        return;
      case 'redirect':
        res.writeHead(307, { location: f.to }).end();
        return;
    }
  };
  const server =
    options.tls !== undefined
      ? createHttpsServer({ key: options.tls.keyPem, cert: options.tls.certPem }, handler)
      : createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `${options.tls !== undefined ? 'https' : 'http'}://${host}`,
    log,
    authorized,
    count: (match) => log.filter((l) => match.test(l)).length,
    inject(match, fault, times = Number.POSITIVE_INFINITY) {
      rules.unshift({ match, fault, remaining: times });
    },
    clear() {
      rules.length = 0;
      log.length = 0;
      authorized.length = 0;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
