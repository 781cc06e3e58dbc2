/**
 * Request bodies in flight, bounded. Fastify buffers each body whole (up to the body limit) and a
 * review holds its parsed body until it is answered, so without a bound a caller opening many slow
 * connections holds bodyLimit × connections of memory for as long as it likes. A body counts from its
 * first byte until its answer is sent: at most `maxBodies` at once and `maxBytes` together (a declared
 * Content-Length is reserved up front, chunked bodies are counted as they arrive), and each must arrive
 * whole within `receiveTimeoutMs`. Over a bound the request is answered 503 BODIES_IN_FLIGHT, after the
 * deadline 408 BODY_TIMEOUT, both with `Connection: close`, so the socket goes too.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface BodyBudgetOptions {
  /** Bodies being received or held by a review at once. */
  maxBodies?: number;
  /** Their bytes together. */
  maxBytes?: number;
  /** Time allowed to receive one whole body. */
  receiveTimeoutMs?: number;
}

export const DEFAULT_BODY_BUDGET = {
  maxBodies: 256,
  maxBytes: 24 * 1024 * 1024,
  receiveTimeoutMs: 10_000,
} as const;

export type BodyBudgetCode = 'BODIES_IN_FLIGHT' | 'BODY_TIMEOUT';

/** Thrown from the body stream; app.ts maps it to its status and code. */
export class BodyBudgetError extends Error {
  constructor(
    readonly code: BodyBudgetCode,
    readonly statusCode: 503 | 408,
    message: string,
  ) {
    super(message);
    this.name = 'BodyBudgetError';
  }
}

export interface BodyBudgetState {
  readonly bodies: number;
  readonly bytes: number;
  /** Requests refused or cut, by code (also exported as a metric by the caller). */
  readonly refused: Readonly<Record<BodyBudgetCode, number>>;
}

interface Hold {
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

export function useBodyBudget(
  app: FastifyInstance,
  options: BodyBudgetOptions,
  bodyLimit: number,
  onRefused?: (code: BodyBudgetCode) => void,
): BodyBudgetState {
  const maxBodies = options.maxBodies ?? DEFAULT_BODY_BUDGET.maxBodies;
  const maxBytes = options.maxBytes ?? DEFAULT_BODY_BUDGET.maxBytes;
  const receiveTimeoutMs = options.receiveTimeoutMs ?? DEFAULT_BODY_BUDGET.receiveTimeoutMs;
  const state = { bodies: 0, bytes: 0, refused: { BODIES_IN_FLIGHT: 0, BODY_TIMEOUT: 0 } };
  const holds = new WeakMap<FastifyRequest, Hold>();

  const refuse = (code: BodyBudgetCode, message: string): BodyBudgetError => {
    state.refused[code] += 1;
    onRefused?.(code);
    return new BodyBudgetError(code, code === 'BODY_TIMEOUT' ? 408 : 503, message);
  };
  const release = (request: FastifyRequest): void => {
    const hold = holds.get(request);
    if (hold === undefined) return;
    holds.delete(request);
    clearTimeout(hold.timer);
    state.bodies -= 1;
    state.bytes -= hold.bytes;
  };
  const busy = (): string =>
    `too many request bodies in flight (limits: ${maxBodies} bodies, ${maxBytes} bytes together); retry later`;

  app.addHook('preParsing', async (request, reply, payload) => {
    // Without either header an HTTP/1.1 request has no body (GET /healthz, probes): nothing to hold.
    if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined)
      return payload;
    const declared = Number(request.headers['content-length']);
    // Fastify refuses a declared length over the body limit itself (413) before reading anything.
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : 0;
    if (state.bodies + 1 > maxBodies || state.bytes + reserve > maxBytes) {
      reply.header('connection', 'close');
      throw refuse('BODIES_IN_FLIGHT', busy());
    }
    const hold: Hold = { bytes: reserve, timer: undefined };
    holds.set(request, hold);
    state.bodies += 1;
    state.bytes += reserve;
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        received += chunk.length;
        if (received > hold.bytes) {
          const more = Math.min(received, bodyLimit + 1) - hold.bytes;
          if (state.bytes + more > maxBytes) {
            reply.header('connection', 'close');
            callback(refuse('BODIES_IN_FLIGHT', busy()));
            return;
          }
          hold.bytes += more;
          state.bytes += more;
        }
        callback(null, chunk);
      },
      flush(callback: TransformCallback) {
        clearTimeout(hold.timer);
        callback();
      },
    });
    hold.timer = setTimeout(() => {
      reply.header('connection', 'close');
      counted.destroy(
        refuse('BODY_TIMEOUT', `the request body did not arrive whole within ${receiveTimeoutMs} ms`),
      );
    }, receiveTimeoutMs);
    hold.timer.unref();
    // 'close' comes once the answer is sent or the socket is gone, whichever way the request ended.
    reply.raw.once('close', () => release(request));
    payload.on('error', (err) => counted.destroy(err));
    return payload.pipe(counted);
  });
  return state;
}
