/**
 * The exchange without a body stream (src/registry/exchange.ts) keeps every bound of the stream it
 * replaced: an endless body is cut on the chunk that passes its cap (the registry sees its connection
 * closed, the byte budget gets every counted byte back, the connection slots are freed), a dropped
 * body closes its connection, and a small error body that is discarded leaves the connection to be
 * reused.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connections } from '../../../src/registry/connections.js';
import { discard, readBody, type ByteBudget } from '../../../src/registry/http.js';
import { OCI_MANIFEST, startHostileRegistry, type HostileRegistry } from '../../helpers/hostile-registry.js';

/** Writes 64 KiB chunks as fast as the client takes them, until the client goes away (`closed`). */
function endless(res: ServerResponse): { closed: Promise<void> } {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  res.writeHead(200, { 'content-type': OCI_MANIFEST }); // no length: chunked, only the cap stops it
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk)) {
      /* until the socket pushes back */
    }
  };
  res.on('drain', pump);
  pump();
  return { closed: new Promise((resolve) => res.once('close', () => resolve())) };
}

/** A budget that counts what is held (a review's share of limits.ts's, without its limit). */
function countingBudget(): ByteBudget & { held: number; peak: number } {
  return {
    held: 0,
    peak: 0,
    take(n) {
      this.held += n;
      this.peak = Math.max(this.peak, this.held);
    },
    give(n) {
      this.held -= n;
    },
  };
}

describe('a registry exchange without a body stream', () => {
  let reg: HostileRegistry;
  let connections: Connections;
  let stream: ReturnType<typeof endless> | undefined;
  beforeAll(async () => {
    reg = await startHostileRegistry();
    reg.route(/^GET \/v2\/endless\//, (_req, res) => {
      stream = endless(res);
    });
    reg.route(/^GET \/v2\/missing\//, (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no such manifest"}]}');
    });
    connections = new Connections({ registries: { [reg.host]: { insecure: true } } }, {});
  });
  afterAll(async () => {
    await connections.close();
    await reg.stop();
  });

  const get = (path: string) =>
    connections.request(
      reg.host,
      {
        method: 'GET',
        url: connections.requestUrl(reg.host, path),
        headers: {},
        dispatcher: connections.agent(reg.host),
        signal: AbortSignal.timeout(20_000),
        timeoutMs: 20_000,
      },
      `GET ${path}`,
      undefined,
    );

  it('cuts an endless body at its cap: RESPONSE_TOO_LARGE, connection closed, budget and slots given back', async () => {
    const res = await get('/v2/endless/app/blobs/x');
    const budget = countingBudget();
    const cap = 1024 * 1024;
    await expect(readBody(res, cap, AbortSignal.timeout(20_000), 'blob', budget)).rejects.toThrowWithCode(
      'RESPONSE_TOO_LARGE',
    );
    await stream?.closed; // the registry's writes end: the client closed the connection
    expect(budget.held).toBe(0);
    // counted up to the cap, never the chunk that passed it nor anything after it
    expect(budget.peak).toBeGreaterThan(cap / 2);
    expect(budget.peak).toBeLessThanOrEqual(cap);
    expect(connections.open.used).toBe(0);
  });

  it('closes the connection of a body dropped unread, and frees its slots', async () => {
    const res = await get('/v2/endless/app/blobs/y');
    res.body.destroy();
    await stream?.closed;
    expect(connections.open.used).toBe(0);
  });

  it('keeps the connection of a discarded small error body for the next request', async () => {
    const before = reg.sockets.total;
    const first = await get('/v2/missing/app/manifests/1');
    expect(first.status).toBe(404);
    expect(await discard(first)).toContain('MANIFEST_UNKNOWN');
    await new Promise((resolve) => setImmediate(resolve)); // undici's pool marks the socket free
    const second = await get('/v2/missing/app/manifests/2');
    expect(second.status).toBe(404);
    await discard(second);
    expect(reg.sockets.total - before).toBeLessThanOrEqual(1); // both over one connection
    expect(connections.open.used).toBe(0);
  });
});
