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
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAuthenticated } from './caller-auth.js';
import { ReceiveClock, type Receiving } from './receive-clock.js';

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

/** A body from its headers until its answer is sent. */
interface Hold extends Receiving {
  /** Bytes it holds in the budget: its declared length up front, or what arrived of a chunked body. */
  bytes: number;
  /** The caller's address share, or undefined for a verified caller (no per-address cap). */
  share: Share | undefined;
  address: string;
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
  const clock = new ReceiveClock(o);

  const refuse = (code: BodyBudgetCode, message: string): BodyBudgetError => {
    refused[code] += 1;
    onRefused?.(code);
    return new BodyBudgetError(code, message);
  };
  /** The body arrived whole (or its request ended): it no longer counts against its address. */
  const leaveShare = (hold: Hold): void => {
    clock.delete(hold);
    if (hold.share === undefined) return;
    hold.share.bodies -= 1;
    hold.share.bytes -= hold.bytes;
    if (hold.share.bodies === 0) shares.delete(hold.address);
    hold.share = undefined;
  };
  const release = (hold: Hold): void => {
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

  // A callback hook (no promise per request) that returns the request itself as the body stream: a
  // counting Transform piped in between cost ~45 µs of CPU per cached review (issue 26, round 8).
  app.addHook('preParsing', (request, reply, payload, done) => {
    // Without either header an HTTP/1.1 request has no body (GET /healthz, probes): nothing to hold.
    if (
      request.headers['content-length'] === undefined &&
      request.headers['transfer-encoding'] === undefined
    ) {
      done(null, payload);
      return;
    }
    const verified = isAuthenticated(request);
    if (callers.verifiedOnly === true && !verified) {
      reply.header('connection', 'close');
      done(
        refuse(
          'CLIENT_CERT_REQUIRED',
          'request bodies are read only from callers with a client certificate signed by the --client-ca',
        ),
      );
      return;
    }
    const address = addressOf(request);
    const declared = Number(request.headers['content-length']);
    // Fastify refuses a declared length over the body limit itself (413) before reading anything.
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : 0;
    let share = verified ? undefined : shares.get(address);
    const busy = overBy(verified ? undefined : (share ?? { bodies: 0, bytes: 0 }), 1, reserve, address);
    if (busy !== undefined) {
      reply.header('connection', 'close');
      done(refuse('BODIES_IN_FLIGHT', busy));
      return;
    }
    if (!verified && share === undefined) shares.set(address, (share = { bodies: 0, bytes: 0 }));
    state.bodies += 1;
    state.bytes += reserve;
    if (share !== undefined) {
      share.bodies += 1;
      share.bytes += reserve;
    }
    const raw = request.raw;
    /** Ends the body's reading with `err`, answered with its status and `Connection: close`. */
    const fail = (err: BodyBudgetError): void => {
      leaveShare(hold);
      raw.removeListener('data', count);
      reply.header('connection', 'close');
      // Fastify's body reader listens for 'error' on the stream this hook returns (the request) and
      // answers with the error's statusCode; destroy() would close the socket before that answer.
      // In a microtask: the reader sees the current chunk first (it may refuse it over the body
      // limit itself), and a reader that has stopped listening has answered already.
      queueMicrotask(() => {
        if (raw.listenerCount('error') > 0) raw.emit('error', err);
      });
    };
    const hold: Hold = {
      bytes: reserve,
      share,
      address,
      started: performance.now(),
      received: 0,
      windowStart: 0,
      windowBytes: 0,
      cut: (why) => fail(refuse('BODY_TIMEOUT', why)),
    };
    // Bytes are counted as they reach Fastify's own reader. A declared length was reserved whole, and
    // the HTTP parser delivers no more than it: only a chunked body grows its hold chunk by chunk.
    const count = (chunk: Buffer): void => {
      if (hold.received === 0) hold.windowStart = performance.now();
      hold.received += chunk.length;
      hold.windowBytes += chunk.length;
      if (hold.received > hold.bytes) {
        const more = Math.min(hold.received, bodyLimit + 1) - hold.bytes;
        const busy = overBy(hold.share, 0, more, address);
        if (busy !== undefined) return fail(refuse('BODIES_IN_FLIGHT', busy));
        hold.bytes += more;
        state.bytes += more;
        if (hold.share !== undefined) hold.share.bytes += more;
      }
      if (hold.received === declared) leaveShare(hold);
    };
    // prependListener, not on(): Readable's on('data') would start the flow before Fastify's reader
    // listens, and its first chunks would be lost to it.
    raw.prependListener('data', count);
    if (reserve === 0 && declared === 0) leaveShare(hold);
    else clock.add(hold);
    if (!Number.isFinite(declared)) raw.once('end', () => leaveShare(hold));
    // 'close' comes once the answer is sent or the socket is gone, whichever way the request ended.
    reply.raw.once('close', () => release(hold));
    done(null, payload);
  });
  return state;
}

function definedOnly(options: BodyBudgetOptions): BodyBudgetOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BodyBudgetOptions;
}
