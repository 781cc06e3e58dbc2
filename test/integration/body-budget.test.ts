/**
 * Slow request bodies against the real HTTPS server (issue 20, property 2): many connections that
 * declare or stream large bodies and then stall are refused past the bodies-in-flight bound (count and
 * bytes) and cut at the receive deadline, their sockets closed, while /healthz keeps answering.
 * Asserted on codes and on what the budget holds, never on elapsed time.
 */
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_BUDGET } from '../../src/server/body-budget.js';
import { DEFAULT_BODY_LIMIT } from '../../src/server/app.js';
import { buildEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Slow {
  socket: TLSSocket;
  /** Resolves with the status and error code of the answer once the server closes the socket. */
  answer: Promise<{ status: number; code: string | undefined }>;
}

/** Sends headers and `sent` bytes of a body, then stalls. */
function slowBody(server: TestServer, headers: Record<string, string>, sent: number): Promise<Slow> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca: server.ca, servername: 'localhost' });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    const answer = new Promise<{ status: number; code: string | undefined }>((done) => {
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1];
        done({ status, code });
      });
    });
    socket.on('error', () => undefined); // a reset after the answer is expected
    socket.once('secureConnect', () => {
      const head = Object.entries({ 'content-type': 'application/json', ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST /validate HTTP/1.1\r\nhost: localhost\r\n${head}\r\n`);
      if (sent > 0) socket.write(headers['transfer-encoding'] === 'chunked' ? chunk(sent) : '{'.repeat(sent));
      resolve({ socket, answer });
    });
    socket.once('error', reject);
  });
}

function chunk(n: number): string {
  return `${n.toString(16)}\r\n${'{'.repeat(n)}\r\n`;
}

async function settle(server: TestServer, bodies: number): Promise<void> {
  // The server registers a body when its headers are parsed: wait until it holds what it accepted.
  for (let i = 0; i < 500 && server.bodies.bodies < bodies; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('request bodies in flight', () => {
  describe('with the default budget, 100 connections each declaring a 3 MiB body and sending 1 KiB', () => {
    let server: TestServer;
    beforeAll(async () => {
      const { engine } = await buildEngine();
      // Defaults, but a short receive deadline so the held bodies are cut within the test.
      server = await startServer({ engine, bodyBudget: { receiveTimeoutMs: 8_000 } });
    });
    afterAll(() => server.close());

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
      expect(server.bodies.refused).toEqual({ BODIES_IN_FLIGHT: 100 - held, BODY_TIMEOUT: 0 });
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
    let server: TestServer;
    beforeAll(async () => {
      const { engine } = await buildEngine();
      server = await startServer({ engine, bodyBudget: { maxBodies: 20, receiveTimeoutMs: 5_000 } });
    });
    afterAll(() => server.close());

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
      expect(server.bodies.refused).toEqual({ BODIES_IN_FLIGHT: 40, BODY_TIMEOUT: 20 });
    });
  });

  describe('chunked bodies that grow past the byte budget together', () => {
    let server: TestServer;
    beforeAll(async () => {
      const { engine } = await buildEngine();
      server = await startServer({
        engine,
        bodyBudget: { maxBytes: 1024 * 1024, receiveTimeoutMs: 1_500 },
      });
    });
    afterAll(() => server.close());

    it('refuses the body whose bytes would pass it, and the budget never holds more', async () => {
      const a = await slowBody(server, { 'transfer-encoding': 'chunked' }, 600 * 1024);
      await settle(server, 1);
      for (let i = 0; i < 200 && server.bodies.bytes < 600 * 1024; i++)
        await new Promise((r) => setTimeout(r, 10));
      const b = await slowBody(server, { 'transfer-encoding': 'chunked' }, 600 * 1024);
      const second = await b.answer;
      expect(second).toEqual({ status: 503, code: 'BODIES_IN_FLIGHT' });
      expect(server.bodies.bytes).toBeLessThanOrEqual(1024 * 1024);
      expect(await a.answer).toEqual({ status: 408, code: 'BODY_TIMEOUT' });
    });
  });
});
