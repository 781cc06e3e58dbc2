/**
 * HTTPS registries that speak HTTP/2 (Docker Hub, GHCR and ECR fronts do, by ALPN): the client learns
 * the protocol from its first connection and multiplexes every request over that one connection; an
 * HTTP/1.1-only front gets a pool as before. TLS handshakes are counted at a front (HTTP/2 with
 * HTTP/1.1 fallback, like those registries') that relays to the real registry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { DEFAULT_LIMITS } from '../../../src/registry/limits.js';
import { parseReference } from '../../../src/registry/reference.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';
import { makeTlsCert, type TestCert } from '../../helpers/tls.js';

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

interface Front {
  host: string;
  handshakes: number;
  /** HTTP versions of the requests seen. */
  versions: string[];
  /** Most requests in flight at once (each answer waits 20 ms, so concurrent ones overlap). */
  peak: number;
  stop(): Promise<void>;
}

/** An HTTPS front relaying GETs to `upstream`; HTTP/2 and HTTP/1.1 by ALPN unless `h1Only`. */
async function startFront(cert: TestCert, upstream: string, h1Only: boolean, ipv6 = false): Promise<Front> {
  const front: Front = { host: '', handshakes: 0, versions: [], peak: 0, stop: async () => undefined };
  let inFlight = 0;
  const handle = (
    req: Http2ServerRequest | IncomingMessage,
    response: Http2ServerResponse | ServerResponse,
  ) => {
    // Both answer writeHead(status, headers).end(body); @types/node 24's overloads do not unify.
    const res = response as {
      writeHead(status: number, headers?: Record<string, string>): { end(body?: Buffer): void };
    };
    front.versions.push(req.httpVersion);
    front.peak = Math.max(front.peak, ++inFlight);
    void (async () => {
      await new Promise((r) => setTimeout(r, 20));
      const up = await fetch(`${upstream}${req.url}`, {
        headers: { accept: String(req.headers.accept ?? '*/*') },
      });
      const body = Buffer.from(await up.arrayBuffer());
      const headers: Record<string, string> = { 'content-length': String(body.byteLength) };
      for (const h of ['content-type', 'docker-content-digest']) {
        const v = up.headers.get(h);
        if (v !== null) headers[h] = v;
      }
      res.writeHead(up.status, headers).end(body);
    })()
      .catch(() => res.writeHead(502).end())
      .finally(() => inFlight--);
  };
  const tls = { cert: cert.certPem, key: cert.keyPem };
  // node:http2 always offers h2 by ALPN: an HTTP/1.1-only front is a node:https server.
  const server = h1Only
    ? createHttpsServer(tls, handle)
    : createSecureServer({ ...tls, allowHTTP1: true }, handle);
  server.on('secureConnection', () => front.handshakes++);
  await new Promise<void>((r) => server.listen(0, ipv6 ? '::1' : '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  front.host = ipv6 ? `[::1]:${port}` : `localhost:${port}`;
  front.stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
    });
  return front;
}

describe('an HTTPS registry front', () => {
  let cert: TestCert;
  const reg = useRegistry();
  const images: BuiltImage[] = [];

  beforeAll(async () => {
    cert = await makeTlsCert();
    for (let i = 0; i < 20; i++) {
      const img = buildImage({ steps: [{ createdBy: `ADD ${i} /`, files: { n: `h2-${i}` } }] });
      await pushImage(reg.url, `app${i}`, 'v1', img);
      await pushImage(reg.url, `app${i}`, 'v2', img);
      images.push(img);
    }
  });

  /** Resolves 20 images at once, then again by another tag, through a fresh client; the front's counts. */
  async function twoPods(h1Only: boolean, ipv6 = false): Promise<Front> {
    const front = await startFront(cert, reg.url, h1Only, ipv6);
    const client = createRegistry({ registries: { [front.host]: { ca: [cert.certPem] } } });
    try {
      for (const tag of ['v1', 'v2']) {
        const digests = await Promise.all(
          images.map(async (_, i) => {
            const ref = parseReference(`${front.host}/app${i}:${tag}`);
            const resolved = await client.access().resolve(ref, signal());
            return resolved.digest;
          }),
        );
        expect(digests).toEqual(images.map((img) => img.manifest.digest));
      }
    } finally {
      await client.close();
      await front.stop();
    }
    return front;
  }

  describe('that speaks HTTP/2', () => {
    it('gets every request of two concurrent 20-image pods over one connection (one handshake)', async () => {
      const front = await twoPods(false);
      expect(front.versions).toEqual(Array<string>(40).fill('2.0'));
      expect(front.handshakes).toBe(1);
      // Multiplexed, not one stream after another.
      expect(front.peak).toBeGreaterThan(10);
    });

    it('does the same at an IPv6 literal ([::1])', async () => {
      const front = await twoPods(false, true);
      expect(new Set(front.versions)).toEqual(new Set(['2.0']));
      expect(front.handshakes).toBe(1);
    });
  });

  describe('that speaks HTTP/1.1 only', () => {
    it('gets them over a pool of HTTP/1.1 connections, at most the per-host cap', async () => {
      const front = await twoPods(true);
      expect(front.versions).toEqual(Array<string>(40).fill('1.1'));
      // Concurrent requests need several connections over HTTP/1.1, within maxConnectionsPerRegistry.
      expect(front.handshakes).toBeGreaterThan(1);
      expect(front.handshakes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxConnectionsPerRegistry);
    });
  });
});
