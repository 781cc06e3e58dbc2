/**
 * Slow request bodies against the real HTTPS server (issue 20, property 2): many connections that
 * declare or stream large bodies and then stall are refused past the bodies-in-flight bound (count and
 * bytes) and cut at the receive deadline, their sockets closed, while /healthz keeps answering.
 * Asserted on codes and on what the budget holds, never on elapsed time.
 */
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BODY_BUDGET } from '../../src/server/body-budget.js';
import { DEFAULT_BODY_LIMIT } from '../../src/server/app.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { policyYaml } from '../helpers/policy-documents.js';
import { createTestCa } from '../helpers/certs.js';
import { startHostileRegistry, stall, type HostileRegistry } from '../helpers/hostile-registry.js';
import { startServer, type StartOptions, type TestServer } from '../helpers/server.js';
import { useServer } from '../helpers/served-engine.js';

interface Answer {
  status: number;
  code: string | undefined;
  message?: string;
}

interface Slow {
  socket: TLSSocket;
  /** Resolves with the status and error code of the answer once the server closes the socket. */
  answer: Promise<Answer>;
}

/** Sends headers and `sent` bytes of a body, then stalls; `from` a local address, to `path`. */
function slowBody(
  server: TestServer,
  headers: Record<string, string>,
  sent: number,
  where: { from?: string; path?: string } = {},
): Promise<Slow> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: server.ca,
      servername: 'localhost',
      ...(where.from !== undefined ? { localAddress: where.from } : {}),
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    const answer = new Promise<Answer>((done) => {
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1];
        const message = /"message":"([^"]*)"/.exec(text)?.[1];
        done({ status, code, ...(message !== undefined ? { message } : {}) });
      });
    });
    socket.on('error', () => undefined); // a reset after the answer is expected
    socket.once('secureConnect', () => {
      const head = Object.entries({ 'content-type': 'application/json', ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST ${where.path ?? '/validate'} HTTP/1.1\r\nhost: localhost\r\n${head}\r\n`);
      if (sent > 0) socket.write(headers['transfer-encoding'] === 'chunked' ? chunk(sent) : '{'.repeat(sent));
      resolve({ socket, answer });
    });
    socket.once('error', reject);
  });
}

function chunk(n: number): string {
  return `${n.toString(16)}\r\n${'{'.repeat(n)}\r\n`;
}

/** The whole budget open to one address, no first-byte deadline or minimum rate. */
const ONE_CALLER = {
  maxBodiesPerAddress: DEFAULT_BODY_BUDGET.maxBodies,
  maxBytesPerAddress: DEFAULT_BODY_BUDGET.maxBytes,
  firstByteTimeoutMs: 60_000,
  minBytesPerSecond: 0,
} as const;

async function settle(server: TestServer, bodies: number): Promise<void> {
  // The server registers a body when its headers are parsed: wait until it holds what it accepted.
  for (let i = 0; i < 500 && server.bodies.bodies < bodies; i++) await new Promise((r) => setTimeout(r, 10));
}

/** The default engine behind a server with this body budget, for the enclosing `describe`. */
const useBudgetedServer = (bodyBudget: StartOptions['bodyBudget']): TestServer =>
  useServer(async () => startServer({ engine: (await buildEngine()).engine, bodyBudget }));

describe('request bodies in flight', () => {
  describe('with the default budget, 100 connections each declaring a 3 MiB body and sending 1 KiB', () => {
    // The total's defaults, but a short receive deadline so the held bodies are cut within the test;
    // all from one address here, so no per-address share or receive rate (tested below).
    const server = useBudgetedServer({ receiveTimeoutMs: 8_000, ...ONE_CALLER });

    it('holds at most maxBytes of them, refuses the rest 503 BODIES_IN_FLIGHT, cuts the held ones 408 BODY_TIMEOUT', async () => {
      const held = Math.floor(DEFAULT_BODY_BUDGET.maxBytes / DEFAULT_BODY_LIMIT);
      const conns = await Promise.all(
        Array.from({ length: 100 }, () =>
          slowBody(server, { 'content-length': String(DEFAULT_BODY_LIMIT) }, 1024),
        ),
      );
      await settle(server, held);
      for (let i = 0; i < 500 && server.bodies.refused.BODIES_IN_FLIGHT < 100 - held; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(server.bodies.bodies).toBe(held);
      expect(server.bodies.refused).toEqual({
        BODIES_IN_FLIGHT: 100 - held,
        BODY_TIMEOUT: 0,
        CLIENT_CERT_REQUIRED: 0,
      });
      expect(server.bodies.bytes).toBeLessThanOrEqual(DEFAULT_BODY_BUDGET.maxBytes);

      const health = await server.get('/healthz');
      expect(health.status).toBe(200);

      const answers = await Promise.all(conns.map((c) => c.answer));
      const byCode = new Map<string, number>();
      for (const a of answers)
        byCode.set(`${a.status} ${a.code}`, (byCode.get(`${a.status} ${a.code}`) ?? 0) + 1);
      expect(Object.fromEntries(byCode)).toEqual({
        '503 BODIES_IN_FLIGHT': 100 - held,
        '408 BODY_TIMEOUT': held,
      });
      expect(server.bodies).toMatchObject({ bodies: 0, bytes: 0 });
      expect((await server.get('/healthz')).status).toBe(200);
    });
  });

  describe('with a budget of 20 bodies, 60 chunked bodies that stall', () => {
    const server = useBudgetedServer({ maxBodies: 20, receiveTimeoutMs: 5_000, ...ONE_CALLER });

    it('holds 20, refuses 40 at once, and /healthz answers meanwhile', async () => {
      const conns = await Promise.all(
        Array.from({ length: 60 }, () => slowBody(server, { 'transfer-encoding': 'chunked' }, 100)),
      );
      await settle(server, 20);
      expect(server.bodies.bodies).toBe(20);
      expect((await server.get('/healthz')).status).toBe(200);
      const answers = await Promise.all(conns.map((c) => c.answer));
      expect(answers.filter((a) => a.code === 'BODIES_IN_FLIGHT' && a.status === 503)).toHaveLength(40);
      expect(answers.filter((a) => a.code === 'BODY_TIMEOUT' && a.status === 408)).toHaveLength(20);
      expect(server.bodies.refused).toEqual({
        BODIES_IN_FLIGHT: 40,
        BODY_TIMEOUT: 20,
        CLIENT_CERT_REQUIRED: 0,
      });
    });
  });

  describe('chunked bodies that grow past the byte budget together', () => {
    const server = useBudgetedServer({ maxBytes: 1024 * 1024, receiveTimeoutMs: 1_500, ...ONE_CALLER });

    it('refuses the body whose bytes would pass it, and the budget never holds more', async () => {
      const a = await slowBody(server, { 'transfer-encoding': 'chunked' }, 600 * 1024);
      await settle(server, 1);
      for (let i = 0; i < 200 && server.bodies.bytes < 600 * 1024; i++)
        await new Promise((r) => setTimeout(r, 10));
      const b = await slowBody(server, { 'transfer-encoding': 'chunked' }, 600 * 1024);
      const second = await b.answer;
      expect(second).toMatchObject({ status: 503, code: 'BODIES_IN_FLIGHT' });
      expect(server.bodies.bytes).toBeLessThanOrEqual(1024 * 1024);
      expect(await a.answer).toMatchObject({ status: 408, code: 'BODY_TIMEOUT' });
    });
  });

  describe('one address past its share (4 bodies), beside another address', () => {
    const server = useBudgetedServer({ ...ONE_CALLER, maxBodiesPerAddress: 4, receiveTimeoutMs: 3_000 });

    it('holds 4 of its 10 stalled bodies, refuses 6 naming the address, and still holds the other caller', async () => {
      const pod = await Promise.all(
        Array.from({ length: 10 }, () =>
          slowBody(server, { 'transfer-encoding': 'chunked' }, 100, { from: '127.0.0.2' }),
        ),
      );
      await settle(server, 4);
      const other = await slowBody(server, { 'transfer-encoding': 'chunked' }, 100, { from: '127.0.0.3' });
      await settle(server, 5);
      expect(server.bodies).toMatchObject({ bodies: 5, addresses: 2 });
      const answers = await Promise.all(pod.map((c) => c.answer));
      const refused = answers.filter((a) => a.status === 503 && a.code === 'BODIES_IN_FLIGHT');
      expect(refused).toHaveLength(6);
      expect(refused[0]?.message).toMatch(/from 127\.0\.0\.2 .*4 bodies/);
      expect(answers.filter((a) => a.status === 408)).toHaveLength(4);
      expect(await other.answer).toMatchObject({ status: 408, code: 'BODY_TIMEOUT' });
      expect(server.bodies).toMatchObject({ bodies: 0, bytes: 0, addresses: 0 });
    });
  });

  describe('receive deadlines: first byte within 500 ms, then 4 KiB/s', () => {
    const server = useBudgetedServer({
      firstByteTimeoutMs: 500,
      minBytesPerSecond: 4096,
      receiveTimeoutMs: 30_000,
    });

    it('cuts a body whose first byte never comes and one that stalls after 1 KiB, long before the 30 s deadline', async () => {
      const silent = await slowBody(server, { 'content-length': '2048' }, 0);
      const stalled = await slowBody(server, { 'content-length': '65536' }, 1024);
      expect(await silent.answer).toMatchObject({
        status: 408,
        code: 'BODY_TIMEOUT',
        message: expect.stringMatching(/no byte of the request body arrived within 500 ms/),
      });
      expect(await stalled.answer).toMatchObject({
        status: 408,
        code: 'BODY_TIMEOUT',
        message: expect.stringMatching(/under the minimum of 4096/),
      });
      expect(server.bodies.refused.BODY_TIMEOUT).toBe(2);
      // a body sent at once is untouched by either
      const ok = await server.post('/validate', podReview(['registry.example.com/team/app:1']));
      expect(ok.status).toBe(200);
    });
  });

  describe('with a client CA', () => {
    let server: TestServer;
    beforeAll(async () => {
      const ca = await createTestCa('apiserver client CA');
      const { engine } = await buildEngine();
      server = await startServer({
        engine,
        mutate: true,
        clientCa: ca.cert,
        callerAuth: { requireClientCert: true },
      });
    });
    afterAll(() => server.close());

    it('reads no body of a caller without a verified certificate, on any route (403 CLIENT_CERT_REQUIRED)', async () => {
      const conns = await Promise.all(
        ['/validate', '/mutate', '/no-such-route', '/healthz'].map((path) =>
          slowBody(server, { 'content-length': String(DEFAULT_BODY_LIMIT) }, 1024, { path }),
        ),
      );
      const answers = await Promise.all(conns.map((c) => c.answer));
      expect(answers.map((a) => [a.status, a.code])).toEqual(
        Array.from({ length: 4 }, () => [403, 'CLIENT_CERT_REQUIRED']),
      );
      expect(server.bodies).toMatchObject({ bodies: 0, bytes: 0 });
      // the review routes refuse in their own hook, before the budget; the others in the budget's
      expect(server.bodies.refused.CLIENT_CERT_REQUIRED).toBe(2);
      expect((await server.get('/healthz')).status).toBe(200);
    });
  });

  describe('a burst of 40 reviews from one address, each held 2 s by a stalling registry, share 4', () => {
    let server: TestServer;
    let reg: HostileRegistry;
    beforeAll(async () => {
      reg = await startHostileRegistry();
      reg.route(/./, stall);
      const size = { maxCompressed: '16Mi' };
      const spec = { mode: 'enforce', onError: 'allow', images: [{ glob: `${reg.host}/**` }], size };
      const policy = await writePolicyFile(policyYaml('size', spec));
      const { engine } = await buildEngine({ policy: [policy], insecureRegistry: [reg.host] });
      server = await startServer({
        engine,
        bodyBudget: { ...ONE_CALLER, maxBodiesPerAddress: 4 },
        connections: 40,
      });
    });
    afterAll(async () => {
      await server.close();
      await reg.stop();
    });

    it("answers all 40 (the API server's burst): a body leaves its address share once it arrived whole", async () => {
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          server.post('/validate?timeout=2s', podReview([`${reg.host}/team/app-${i}:1`])),
        ),
      );
      expect(burst.map((r) => r.status)).toEqual(Array.from({ length: 40 }, () => 200));
      expect(server.bodies.refused.BODIES_IN_FLIGHT).toBe(0);
    });

    it('still counts each whole body, with its bytes, in the total until it is answered', async () => {
      const reviews = Array.from({ length: 12 }, (_, i) => podReview([`${reg.host}/team/held-${i}:1`]));
      const sent = reviews.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0);
      const answers = Promise.all(reviews.map((r) => server.post('/validate?timeout=2s', r)));
      await vi.waitFor(() => expect(server.bodies.bodies).toBe(12), { timeout: 1500, interval: 10 });
      // arrived whole: out of the address's share, still in the total (count and bytes)
      expect(server.bodies.addresses).toBe(0);
      expect(server.bodies.bytes).toBeGreaterThanOrEqual(sent);
      expect((await answers).map((r) => r.status)).toEqual(Array.from({ length: 12 }, () => 200));
      await vi.waitFor(() => expect([server.bodies.bodies, server.bodies.bytes]).toEqual([0, 0]), {
        timeout: 1000,
        interval: 10,
      });
    });
  });
});
