/**
 * The loopback HTTP(S) server under each key service stand-in: records requests, answers JSON, and
 * can be taken down (503 for every request) to play an outage.
 */
import { once } from 'node:events';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { makeTlsCert, type TestCert } from '../tls.js';

export interface KmsRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Answer {
  status: number;
  json?: unknown;
}

export const json = (status: number, body: unknown): Answer => ({ status, json: body });

export abstract class StandInServer {
  readonly requests: KmsRequest[] = [];
  /** While true every request gets 503: the service is down. */
  down = false;
  /** When set, every answer is 200 with this many bytes of JSON padding (a hostile or broken service). */
  hugeAnswerBytes?: number;
  url = '';
  /** host:port, for URIs and environment variables. */
  host = '';
  cert?: TestCert;
  #server?: Server;
  readonly #sockets = new Set<Socket>();

  constructor(private readonly tls = false) {}

  protected abstract answer(req: KmsRequest): Answer;

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    if (this.tls) {
      this.cert = await makeTlsCert();
      this.#server = createHttps({ cert: this.cert.certPem, key: this.cert.keyPem }, handler);
    } else {
      this.#server = createHttp(handler);
    }
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.host = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.url = `${this.tls ? 'https' : 'http'}://${this.host}`;
    return this;
  }

  /** Requests whose path (without query) matches. */
  count(path: RegExp): number {
    return this.requests.filter((r) => path.test(r.url.split('?')[0]!)).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const recorded = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(recorded);
    const a = this.down ? json(503, { error: 'service unavailable' }) : this.answer(recorded);
    const body =
      this.hugeAnswerBytes !== undefined
        ? JSON.stringify({ padding: 'x'.repeat(this.hugeAnswerBytes) })
        : a.json === undefined
          ? ''
          : JSON.stringify(a.json);
    res.writeHead(a.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    if (this.#server !== undefined) {
      this.#server.close();
      await once(this.#server, 'close');
    }
  }
}
