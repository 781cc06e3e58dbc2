/**
 * Idle keep-alive sockets to many distinct registry hosts (issue 20, property 2): pod specs choose the
 * hosts, and undici keeps every idle socket (and its pool) per origin, so 6,400 hosts once left 6,403
 * sockets open. 300 registries on distinct loopback addresses (127.0.x.y: all of 127/8 is loopback)
 * each answer one request with a long keep-alive; the sockets left open, counted at both ends, stay
 * under maxIdleSockets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connections } from '../../../src/registry/connections.js';
import { OriginPools } from '../../../src/registry/origin-pools.js';

const HOSTS = 300;
const MAX_IDLE = 16;

interface Registries {
  hosts: string[];
  /** Sockets open at the registries' side. */
  open(): number;
  connections(): number;
  stop(): Promise<void>;
}

async function startRegistries(n: number): Promise<Registries> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const hosts: string[] = [];
  for (let i = 0; i < n; i++) {
    const address = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
    const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=60' }).end('{}');
    });
    server.on('connection', (s: Socket) => {
      connections++;
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, address, r));
    servers.push(server);
    hosts.push(`${address}:${(server.address() as AddressInfo).port}`);
  }
  return {
    hosts,
    open: () => sockets.size,
    connections: () => connections,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('idle sockets to distinct registry hosts', () => {
  let registries: Registries;
  let connections: Connections;

  beforeAll(async () => {
    registries = await startRegistries(HOSTS);
    connections = new Connections(
      {
        registries: Object.fromEntries(registries.hosts.map((h) => [h, { insecure: true }])),
        limits: { maxIdleSockets: MAX_IDLE },
      },
      {},
    );
  });
  afterAll(async () => {
    await connections.close();
    await registries.stop();
  });

  /** `GET /v2/` on `host` through the connections under test. */
  const getV2 = (host: string) =>
    connections.request(
      host,
      {
        method: 'GET',
        url: new URL(`http://${host}/v2/`),
        headers: {},
        dispatcher: connections.agent(host),
        signal: AbortSignal.timeout(10_000),
        timeoutMs: 10_000,
      },
      'GET /v2/',
      undefined,
    );

  it(`keeps at most maxIdleSockets (${MAX_IDLE}) open after one request to each of ${HOSTS} hosts`, async () => {
    const pools = OriginPools.of(connections.defaultAgent);
    expect(pools).toBeDefined();
    let peakIdle = 0;
    // 20 at a time, as a review's images fan out
    for (let i = 0; i < HOSTS; i += 20) {
      await Promise.all(
        registries.hosts.slice(i, i + 20).map(async (host) => {
          const res = await getV2(host);
          expect(res.status).toBe(200);
          await res.body.discard();
        }),
      );
      peakIdle = Math.max(peakIdle, pools?.sockets().idle ?? Infinity);
    }
    expect(registries.connections()).toBe(HOSTS); // every host was reached, once each
    expect(peakIdle).toBeLessThanOrEqual(MAX_IDLE);
    await until(() => registries.open() <= MAX_IDLE);
    expect(registries.open()).toBeLessThanOrEqual(MAX_IDLE);
    expect(pools?.sockets().open).toBeLessThanOrEqual(MAX_IDLE);
  });

  it('still reaches a host whose idle socket was closed (a new connection)', async () => {
    const host = registries.hosts[0] ?? '';
    const before = registries.connections();
    const res = await getV2(host);
    expect(res.status).toBe(200);
    await res.body.discard();
    expect(registries.connections()).toBe(before + 1);
  });
});
