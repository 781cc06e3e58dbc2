/**
 * One HTTP exchange with a registry on undici: per-request timeout joined with the caller's deadline,
 * bounded bodies (streamed, aborted past the cap), and transport errors mapped to coded errors.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ErrorBodySchema, type ErrorBodyShape } from './content.schema.js';
import type { Dispatcher } from 'undici';
import { errorMessage, RegistryError } from '../errors.js';
import { plainHttpHint } from './plain-http.js';
import { RequestAbort } from './request-abort.js';
import type { RequestUrl } from './request-url.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT'; // PUT: IMDSv2's session token (credentials/cloud/aws/metadata.ts)
  url: RequestUrl;
  headers: Record<string, string>;
  body?: string;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** Aborted when the caller's deadline or the per-request timeout ends. */
  signal: Pick<AbortSignal, 'aborted'>;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * One exchange. `onClose` runs once when the response body closes (or at once if it already has),
 * after the per-request abort is disarmed: the caller's release rides on the same listener.
 */
export async function send(req: HttpRequest, what: string, onClose?: () => void): Promise<HttpResponse> {
  const abort = new RequestAbort(req.signal, req.timeoutMs);
  const url = req.url;
  try {
    // The dispatcher's own request(), as undici's top-level request() calls it, without parsing the
    // URL again (and copying the options) on every exchange.
    const res = await req.dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      // undici takes an EventTarget-like signal and reads only what RequestAbort has (its comment)
      signal: abort as unknown as AbortSignal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const closed = (): void => {
      abort.disarm();
      onClose?.();
    };
    if (res.body.destroyed) closed();
    else res.body.once('close', closed);
    return { status: res.statusCode, headers: res.headers, body: res.body, signal: abort };
  } catch (err) {
    abort.disarm();
    throw transportError(err, req.signal, abort.timedOut ? abort : undefined, what, req.url);
  }
}

export function transportError(
  err: unknown,
  caller: AbortSignal,
  timeout: Pick<AbortSignal, 'aborted'> | undefined,
  what: string,
  url?: string | RequestUrl,
): RegistryError {
  if (err instanceof RegistryError) return err;
  if (caller.aborted) {
    const reason: unknown = caller.reason;
    if (reason instanceof RegistryError) return reason;
    return new RegistryError('TIMEOUT', `${what}: deadline reached`, { cause: err, indeterminate: true });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (
    timeout?.aborted ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new RegistryError('TIMEOUT', `${what}: no answer in time`, { cause: err, indeterminate: true });
  }
  const plain = url !== undefined ? plainHttpHint(err, url) : undefined;
  return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: ${plain ?? errorMessage(err)}`, {
    cause: err,
    indeterminate: true,
  });
}

/** Where buffered bytes are counted (a review's share of the process budget, limits.ts). */
export interface ByteBudget {
  /** Counts `n` more bytes, or throws the coded budget error (never waits). */
  take(n: number, what: string): void;
  give(n: number): void;
}

/**
 * Collects a body through its `data` events (no async iterator: no promise per chunk) until `onChunk`
 * says stop or the body ends; `fail` settles with an error and destroys the body.
 */
function collect<T>(
  body: HttpResponse['body'],
  onChunk: (chunk: Buffer) => 'more' | 'done',
  onEnd: () => T,
  onError: (err: unknown) => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      body.off('data', data);
      body.off('end', end);
      body.off('error', error);
      body.off('close', close);
    };
    const settle = (fn: () => T | Promise<T>): void => {
      if (settled) return;
      settled = true;
      cleanup();
      try {
        resolve(fn());
      } catch (err) {
        reject(err);
      }
    };
    const error = (err: unknown): void => {
      settle(() => {
        body.destroy();
        return onError(err);
      });
    };
    const data = (chunk: Buffer): void => {
      try {
        if (onChunk(chunk) === 'done') settle(onEnd);
      } catch (err) {
        error(err);
      }
    };
    const end = (): void => settle(onEnd);
    const close = (): void => error(body.errored ?? prematureClose());
    if (body.errored !== null && body.errored !== undefined) return error(body.errored);
    if (body.destroyed) return error(prematureClose());
    body.on('data', data);
    body.once('end', end);
    body.once('error', error);
    body.once('close', close);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('response body closed before its end'), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}

/**
 * Reads the whole body, failing with RESPONSE_TOO_LARGE as soon as it passes `maxBytes`. With a
 * budget, every byte is counted before it is kept (the declared length up front), so a full budget
 * fails the read at once instead of growing memory.
 */
export function readBody(
  res: HttpResponse,
  maxBytes: number,
  caller: AbortSignal,
  what: string,
  budget?: ByteBudget,
): Promise<Uint8Array> {
  const declared = Number(header(res, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.body.destroy();
    return Promise.reject(tooLarge(what, maxBytes));
  }
  let counted = 0;
  if (budget !== undefined && Number.isSafeInteger(declared) && declared > 0) {
    try {
      budget.take(declared, what);
    } catch (err) {
      res.body.destroy();
      return Promise.reject(err);
    }
    counted = declared;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  return collect(
    res.body,
    (chunk) => {
      total += chunk.byteLength;
      if (total > maxBytes) throw tooLarge(what, maxBytes);
      if (budget !== undefined && total > counted) {
        budget.take(total - counted, what);
        counted = total;
      }
      chunks.push(chunk);
      return 'more';
    },
    () => {
      if (budget !== undefined && counted > total) budget.give(counted - total);
      // a copy of exactly `total` bytes: a chunk is a view into the socket's (larger) read buffer
      const all = Buffer.concat(chunks, total);
      return new Uint8Array(all.buffer, all.byteOffset, all.byteLength); // a view, not a second copy
    },
    (err) => {
      budget?.give(counted);
      throw err instanceof RegistryError ? err : transportError(err, caller, res.signal, what);
    },
  );
}

/** Drops a body we do not need (error responses), reading at most a little of it. */
export function discard(res: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  const text = (): string => {
    res.body.destroy();
    return Buffer.concat(chunks).toString('utf8').slice(0, 300);
  };
  return collect(
    res.body,
    (chunk) => {
      total += chunk.byteLength;
      if (total > 16_384) return 'done';
      chunks.push(chunk);
      return 'more';
    },
    text,
    () => '',
  );
}

function tooLarge(what: string, maxBytes: number): RegistryError {
  return new RegistryError('RESPONSE_TOO_LARGE', `${what}: response is larger than ${maxBytes} bytes`);
}

const errorBodyChecker = TypeCompiler.Compile(ErrorBodySchema);

/** Registry error body (`{"errors":[{"code","message"}]}`, schema-checked) as one short line. */
export function describeErrorBody(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (errorBodyChecker.Check(json)) {
    const first = (json as ErrorBodyShape).errors[0];
    if (first !== undefined) return `${first.code ?? ''} ${first.message ?? ''}`.trim().slice(0, 200);
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}
