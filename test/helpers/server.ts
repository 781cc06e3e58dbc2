/**
 * Starts the real webhook (buildApp + HTTPS on an ephemeral loopback port) for a test file, with the
 * audit records and the server log captured as parsed JSON lines, and an undici client that trusts
 * the development CA.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Agent, request } from 'undici';
import type { AuditRecord } from '../../src/audit/record.js';
import { createAuditWriter } from '../../src/audit/writer.js';
import type { Engine } from '../../src/evaluate/engine.js';
import { buildApp } from '../../src/server/app.js';
import type { BodyBudgetOptions, BodyBudgetState } from '../../src/server/body-budget.js';
import type { CallerAuthOptions } from '../../src/server/caller-auth.js';
import { createDevCertificate } from '../../src/server/dev-cert.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';

/** A pino destination that keeps every line, parsed, in memory (pino writes synchronously to it). */
export interface LineSink {
  write(line: string): void;
  lines: Record<string, unknown>[];
  /** Lines written so far (also counted when they are not retained). */
  count: number;
}

/** `retain: false` only parses and counts (long runs such as the fuzz test must not hold every line). */
export function lineSink(retain = true): LineSink {
  const sink: LineSink = {
    lines: [],
    count: 0,
    write(line: string) {
      for (const l of line.split('\n')) {
        if (l.trim() === '') continue;
        const parsed = JSON.parse(l) as Record<string, unknown>;
        sink.count += 1;
        if (retain) sink.lines.push(parsed);
      }
    },
  };
  return sink;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

export interface TestServer {
  url: string;
  ca: string;
  metrics: Metrics;
  /** Audit records written so far, in order. */
  audit: AuditRecord[];
  /** Server log lines written so far (warnings for bad requests, errors). */
  log: Record<string, unknown>[];
  /** Lines written so far, also when not retained. */
  counts(): { audit: number; log: number };
  dispatcher: Agent;
  /** What the server's body budget holds now. */
  bodies: BodyBudgetState;
  post(path: string, body: unknown, options?: { contentType?: string; raw?: boolean }): Promise<Reply>;
  get(path: string): Promise<Reply>;
  close(): Promise<void>;
}

export interface StartOptions {
  engine: Engine;
  readiness?: () => { ready: boolean; reason?: string; degraded?: string[] };
  bodyLimit?: number;
  bodyBudget?: BodyBudgetOptions;
  /** PEM of a client CA: the server asks for client certificates and verifies them against it. */
  clientCa?: string;
  callerAuth?: CallerAuthOptions;
  /** Concurrent connections of the client (keep-alive). */
  connections?: number;
  /** Keep audit and log lines in memory (default true). */
  retainLines?: boolean;
  /** Serve /mutate (digest pinning) with the same engine, as `imagegate serve` does. */
  mutate?: boolean;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function startServer(options: StartOptions): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-server-'));
  const cert = await createDevCertificate(dir);
  const auditSink = lineSink(options.retainLines ?? true);
  const logSink = lineSink(options.retainLines ?? true);
  const logger: Logger = pino({ level: 'info' }, logSink);
  const metrics = createMetrics();
  const app = buildApp({
    engine: options.engine,
    audit: createAuditWriter(auditSink),
    metrics,
    logger,
    readiness: options.readiness ?? (() => ({ ready: true })),
    https: {
      cert: cert.cert,
      key: cert.key,
      ...(options.clientCa !== undefined
        ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false }
        : {}),
    },
    ...(options.callerAuth !== undefined ? { callerAuth: options.callerAuth } : {}),
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.bodyBudget !== undefined ? { bodyBudget: options.bodyBudget } : {}),
    ...(options.mutate === true ? { mutate: true } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const url = `https://127.0.0.1:${address.port}`;
  const dispatcher = new Agent({
    connect: { ca: cert.ca },
    connections: options.connections ?? 8,
    keepAliveTimeout: 10_000,
  });

  async function send(method: 'GET' | 'POST', path: string, body?: string, contentType?: string) {
    const res = await request(`${url}${path}`, {
      method,
      dispatcher,
      ...(body !== undefined ? { body } : {}),
      headers: contentType !== undefined ? { 'content-type': contentType } : {},
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: parse(text) };
  }

  return {
    url,
    ca: cert.ca,
    metrics,
    audit: auditSink.lines as unknown as AuditRecord[],
    log: logSink.lines,
    counts: () => ({ audit: auditSink.count, log: logSink.count }),
    dispatcher,
    bodies: app.bodiesInFlight,
    post(path, body, opts = {}) {
      const text = opts.raw === true ? (body as string) : JSON.stringify(body);
      return send('POST', path, text, opts.contentType ?? 'application/json');
    },
    get(path) {
      return send('GET', path);
    },
    async close() {
      await dispatcher.close();
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
