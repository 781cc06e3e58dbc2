/**
 * Request bodies in flight, bounded. Fastify buffers each body whole (up to the body limit) and a
 * review holds its parsed body until it is answered, so without a bound a caller opening many slow
 * connections holds bodyLimit × connections of memory for as long as it likes, and with one shared
 * bound it starves the API server's own reviews. A body counts from its first byte until its answer
 * is sent:
 * - all bodies together: at most `maxBodies` and `maxBytes` (a declared Content-Length is reserved up
 *   front, chunked bodies are counted as they arrive);
 * - one remote address without a verified client certificate: at most `maxBodiesPerAddress` bodies
 *   being received and `maxBytesPerAddress` of them, so one pod holds a share, never the whole
 *   budget. A body leaves its share once it has arrived whole: the API server's bursts (many reviews
 *   at once, each sent at network speed) are never refused for its address, only slow senders are;
 * - with a client CA (`verifiedOnly`), no body of a caller without a certificate it verified is read
 *   at all (any route: a POST to an unknown path is parsed too), so every slot belongs to the API
 *   server by construction;
 * - time: the first byte within `firstByteTimeoutMs`, then at least `minBytesPerSecond` every
 *   second, and the whole body within `receiveTimeoutMs`.
 * Over a bound the request is answered 503 BODIES_IN_FLIGHT, too slow 408 BODY_TIMEOUT, without a
 * certificate 403 CLIENT_CERT_REQUIRED, all with `Connection: close`, so the socket goes too.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAuthenticated } from './caller-auth.js';

export interface BodyBudgetOptions {
  /** Bodies being received or held by a review at once. */
  maxBodies?: number;
  /** Their bytes together. */
  maxBytes?: number;
  /** Time allowed to receive one whole body. */
  receiveTimeoutMs?: number;
  /** Bodies one remote address without a verified client certificate may be sending at once. */
  maxBodiesPerAddress?: number;
  /** Their bytes together. */
  maxBytesPerAddress?: number;
  /** Time from the request's headers to the body's first byte. */
  firstByteTimeoutMs?: number;
  /** Bytes a body must gain each second once its first byte arrived (0: no minimum). */
  minBytesPerSecond?: number;
}

export const DEFAULT_BODY_BUDGET = {
  maxBodies: 256,
  maxBytes: 24 * 1024 * 1024,
  receiveTimeoutMs: 10_000,
  maxBodiesPerAddress: 32,
  maxBytesPerAddress: 8 * 1024 * 1024,
  firstByteTimeoutMs: 2_000,
  minBytesPerSecond: 16 * 1024,
} as const satisfies Required<BodyBudgetOptions>;

/** How often a body's receive rate is measured. */
const RATE_WINDOW_MS = 1_000;

export type BodyBudgetCode = 'BODIES_IN_FLIGHT' | 'BODY_TIMEOUT' | 'CLIENT_CERT_REQUIRED';

const STATUS: Record<BodyBudgetCode, 503 | 408 | 403> = {
  BODIES_IN_FLIGHT: 503,
  BODY_TIMEOUT: 408,
  CLIENT_CERT_REQUIRED: 403,
};

/** Thrown from the body stream; app.ts maps it to its status and code. */
export class BodyBudgetError extends Error {
  readonly statusCode: 503 | 408 | 403;
  constructor(
    readonly code: BodyBudgetCode,
    message: string,
  ) {
    super(message);
    this.name = 'BodyBudgetError';
    this.statusCode = STATUS[code];
  }
}

export interface BodyBudgetState {
  readonly bodies: number;
  readonly bytes: number;
  /** Remote addresses with a body in flight now. */
  readonly addresses: number;
  /** Requests refused or cut, by code (also exported as a metric by the caller). */
  readonly refused: Readonly<Record<BodyBudgetCode, number>>;
}

/** Who is calling: whether to read bodies only from callers with a verified certificate. */
export interface BodyCallers {
  verifiedOnly?: boolean;
}

interface Share {
  bodies: number;
  bytes: number;
}

interface Hold {
  bytes: number;
  /** The caller's address share, or undefined for a verified caller (no per-address cap). */
  share: Share | undefined;
  address: string;
  timer: NodeJS.Timeout | undefined;
}

/** `::ffff:10.0.0.7` and `10.0.0.7` are one caller. */
function addressOf(request: FastifyRequest): string {
  const a = request.raw.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export function useBodyBudget(
  app: FastifyInstance,
  options: BodyBudgetOptions,
  bodyLimit: number,
  onRefused?: (code: BodyBudgetCode) => void,
  callers: BodyCallers = {},
): BodyBudgetState {
  const o = { ...DEFAULT_BODY_BUDGET, ...definedOnly(options) };
  const shares = new Map<string, Share>();
  const refused = { BODIES_IN_FLIGHT: 0, BODY_TIMEOUT: 0, CLIENT_CERT_REQUIRED: 0 };
  const state = {
    bodies: 0,
    bytes: 0,
    get addresses() {
      return shares.size;
    },
    refused,
  };
  const holds = new WeakMap<FastifyRequest, Hold>();

  const refuse = (code: BodyBudgetCode, message: string): BodyBudgetError => {
    refused[code] += 1;
    onRefused?.(code);
    return new BodyBudgetError(code, message);
  };
  /** The body arrived whole (or its request ended): it no longer counts against its address. */
  const leaveShare = (hold: Hold): void => {
    if (hold.share === undefined) return;
    hold.share.bodies -= 1;
    hold.share.bytes -= hold.bytes;
    if (hold.share.bodies === 0) shares.delete(hold.address);
    hold.share = undefined;
  };
  const release = (request: FastifyRequest): void => {
    const hold = holds.get(request);
    if (hold === undefined) return;
    holds.delete(request);
    clearInterval(hold.timer);
    state.bodies -= 1;
    state.bytes -= hold.bytes;
    leaveShare(hold);
  };
  /** Why `more` bytes (and `body` more bodies) do not fit, or undefined when they do. */
  const overBy = (
    share: Share | undefined,
    body: 0 | 1,
    more: number,
    address: string,
  ): string | undefined => {
    if (state.bodies + body > o.maxBodies || state.bytes + more > o.maxBytes)
      return `too many request bodies in flight (limits: ${o.maxBodies} bodies, ${o.maxBytes} bytes together); retry later`;
    if (
      share !== undefined &&
      (share.bodies + body > o.maxBodiesPerAddress || share.bytes + more > o.maxBytesPerAddress)
    )
      return (
        `too many request bodies in flight from ${address} (limits per address without a verified client ` +
        `certificate: ${o.maxBodiesPerAddress} bodies, ${o.maxBytesPerAddress} bytes); retry later`
      );
    return undefined;
  };

  app.addHook('preParsing', async (request, reply, payload) => {
    // Without either header an HTTP/1.1 request has no body (GET /healthz, probes): nothing to hold.
    if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined)
      return payload;
    const verified = isAuthenticated(request);
    if (callers.verifiedOnly === true && !verified) {
      reply.header('connection', 'close');
      throw refuse(
        'CLIENT_CERT_REQUIRED',
        'request bodies are read only from callers with a client certificate signed by the --client-ca',
      );
    }
    const address = addressOf(request);
    const declared = Number(request.headers['content-length']);
    // Fastify refuses a declared length over the body limit itself (413) before reading anything.
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : 0;
    let share = verified ? undefined : shares.get(address);
    const busy = overBy(verified ? undefined : (share ?? { bodies: 0, bytes: 0 }), 1, reserve, address);
    if (busy !== undefined) {
      reply.header('connection', 'close');
      throw refuse('BODIES_IN_FLIGHT', busy);
    }
    if (!verified && share === undefined) shares.set(address, (share = { bodies: 0, bytes: 0 }));
    const hold: Hold = { bytes: reserve, share, address, timer: undefined };
    holds.set(request, hold);
    state.bodies += 1;
    state.bytes += reserve;
    if (share !== undefined) {
      share.bodies += 1;
      share.bytes += reserve;
    }
    let received = 0;
    let windowStart = 0;
    let windowBytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        if (received === 0) windowStart = performance.now();
        received += chunk.length;
        windowBytes += chunk.length;
        if (received > hold.bytes) {
          const more = Math.min(received, bodyLimit + 1) - hold.bytes;
          const busy = overBy(hold.share, 0, more, address);
          if (busy !== undefined) {
            reply.header('connection', 'close');
            callback(refuse('BODIES_IN_FLIGHT', busy));
            return;
          }
          hold.bytes += more;
          state.bytes += more;
          if (hold.share !== undefined) hold.share.bytes += more;
        }
        callback(null, chunk);
      },
      flush(callback: TransformCallback) {
        clearInterval(hold.timer);
        leaveShare(hold);
        callback();
      },
    });
    const cut = (why: string): void => {
      clearInterval(hold.timer);
      reply.header('connection', 'close');
      counted.destroy(refuse('BODY_TIMEOUT', why));
    };
    const started = performance.now();
    // One timer per body checks all three deadlines (a tenth of the rate window apart).
    hold.timer = setInterval(
      () => {
        const now = performance.now();
        if (now - started >= o.receiveTimeoutMs)
          return cut(`the request body did not arrive whole within ${o.receiveTimeoutMs} ms`);
        if (received === 0) {
          if (now - started >= o.firstByteTimeoutMs)
            cut(`no byte of the request body arrived within ${o.firstByteTimeoutMs} ms`);
          return;
        }
        if (now - windowStart < RATE_WINDOW_MS) return;
        const rate = (windowBytes * 1000) / (now - windowStart);
        if (rate < o.minBytesPerSecond)
          return cut(
            `the request body arrived at ${Math.round(rate)} bytes/s, under the minimum of ${o.minBytesPerSecond}`,
          );
        windowStart = now;
        windowBytes = 0;
      },
      Math.min(RATE_WINDOW_MS, o.firstByteTimeoutMs, o.receiveTimeoutMs) / 10,
    );
    hold.timer.unref();
    // 'close' comes once the answer is sent or the socket is gone, whichever way the request ended.
    reply.raw.once('close', () => release(request));
    payload.on('error', (err) => counted.destroy(err));
    return payload.pipe(counted);
  });
  return state;
}

function definedOnly(options: BodyBudgetOptions): BodyBudgetOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BodyBudgetOptions;
}
