/**
 * A registry shaped like Docker Hub, GHCR or ECR, for the bench: three HTTPS "hosts" (loopback ports,
 * one certificate) in front of the real docker-registry, each adding `delayMs` to every request:
 *
 * - the registry API: answers 401 with a Bearer challenge unless the request carries a token for
 *   its repository's pull scope, proxies manifests and tags to docker-registry, and redirects blob
 *   downloads (307) to the CDN host;
 * - the token realm on another host: one opaque token per scope, valid `expiresIn` seconds;
 * - the CDN: serves the redirected blob downloads (no credentials, as a signed URL would).
 *
 * Like those registries' fronts, each host offers HTTP/2 and HTTP/1.1 by ALPN (`BENCH_H1_ONLY=1`: HTTP/1.1
 * only, to compare). Counts TLS handshakes ('secureConnection'), requests and token requests per host.
 */
import { randomBytes } from 'node:crypto';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:tls';
import type { TestCert } from '../test/helpers/tls.js';

export interface HostCounters {
  handshakes: number;
  requests: number;
}

export interface RealRegistry {
  /** host:port of the registry API (what image references name). */
  host: string;
  authHost: string;
  cdnHost: string;
  counts: { registry: HostCounters; auth: HostCounters; cdn: HostCounters };
  /** Token requests per scope. */
  tokens: Map<string, number>;
  /** 401 challenges answered. */
  challenges: number;
  reset(): void;
  stop(): Promise<void>;
}

type IncomingMessage = Http2ServerRequest;
type ServerResponse = Http2ServerResponse;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listen(
  cert: TestCert,
  counters: HostCounters,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: Server; host: string; sockets: Set<Socket> }> {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    counters.requests++;
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
  };
  const tls = { cert: cert.certPem, key: cert.keyPem };
  // node:http2 offers h2 by ALPN whatever ALPNProtocols says: HTTP/1.1 only is a node:https server,
  // whose request and response have the members the handlers use (the compatibility API's).
  const server =
    process.env.BENCH_H1_ONLY === '1'
      ? createHttpsServer(tls, onRequest as unknown as (a: unknown, b: unknown) => void)
      : createSecureServer({ ...tls, allowHTTP1: true }, onRequest);
  server.setTimeout(60_000);
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    counters.handshakes++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

/** Copies docker-registry's answer (status, the headers a client reads, body). */
async function relay(
  upstream: string,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const answer = await fetch(`${upstream}${path}`, {
    method: req.method,
    headers: req.headers.accept !== undefined ? { accept: req.headers.accept } : {},
    redirect: 'manual',
  });
  const body = Buffer.from(await answer.arrayBuffer());
  const headers: Record<string, string> = { 'content-length': String(body.byteLength) };
  for (const h of ['content-type', 'docker-content-digest', 'location']) {
    const v = answer.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  res.writeHead(answer.status, headers);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

export async function startRealRegistry(
  upstream: string,
  cert: TestCert,
  options: { delayMs: number; expiresIn?: number },
): Promise<RealRegistry> {
  const counts = {
    registry: { handshakes: 0, requests: 0 },
    auth: { handshakes: 0, requests: 0 },
    cdn: { handshakes: 0, requests: 0 },
  };
  const tokens = new Map<string, number>();
  const issued = new Map<string, { scope: string; expires: number }>();
  const expiresIn = options.expiresIn ?? 300;
  const state = { challenges: 0 };

  const auth = await listen(cert, counts.auth, async (req, res) => {
    await delay(options.delayMs);
    const url = new URL(req.url ?? '/', 'https://x');
    const scope = url.searchParams.get('scope') ?? '';
    tokens.set(scope, (tokens.get(scope) ?? 0) + 1);
    const token = randomBytes(24).toString('base64url');
    issued.set(token, { scope, expires: Date.now() + expiresIn * 1000 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  const cdn = await listen(cert, counts.cdn, async (req, res) => {
    await delay(options.delayMs);
    const m = /^\/blobs\/(.+)\/(sha256:[0-9a-f]{64})$/.exec(new URL(req.url ?? '/', 'https://x').pathname);
    if (m === null) return void res.writeHead(404).end();
    await relay(upstream, req, res, `/v2/${m[1]}/blobs/${m[2]}`);
  });
  const registry = await listen(cert, counts.registry, async (req, res) => {
    await delay(options.delayMs);
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const repo = /^\/v2\/(.+)\/(manifests|blobs|referrers)\//.exec(path)?.[1];
    const scope = repo !== undefined ? `repository:${repo}:pull` : '';
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = bearer !== undefined ? issued.get(bearer) : undefined;
    if (grant === undefined || grant.expires <= Date.now() || (repo !== undefined && grant.scope !== scope)) {
      state.challenges++;
      const realm = `https://${auth.host}/token`;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${realm}",service="bench-registry"${scope ? `,scope="${scope}"` : ''}`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (blob !== null) {
      res.writeHead(307, { location: `https://${cdn.host}/blobs/${blob[1]}/${blob[2]}?expires=600` });
      return void res.end();
    }
    await relay(upstream, req, res, req.url ?? '/');
  });

  return {
    host: registry.host,
    authHost: auth.host,
    cdnHost: cdn.host,
    counts,
    tokens,
    get challenges() {
      return state.challenges;
    },
    reset() {
      for (const c of Object.values(counts)) {
        c.handshakes = 0;
        c.requests = 0;
      }
      tokens.clear();
      state.challenges = 0;
    },
    async stop() {
      for (const s of [registry, auth, cdn]) {
        for (const socket of s.sockets) socket.destroy();
        await new Promise<void>((r) => s.server.close(() => r()));
      }
    },
  };
}
