/**
 * One HTTP exchange with a registry on undici: per-request timeout joined with the caller's deadline,
 * bounded bodies (streamed, aborted past the cap), and transport errors mapped to coded errors.
 */
import { request, type Dispatcher } from 'undici';
import { errorMessage, RegistryError } from '../errors.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
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
  /** Aborts when the caller's deadline or the per-request timeout ends. */
  signal: AbortSignal;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export async function send(req: HttpRequest, what: string): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      dispatcher: req.dispatcher,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body, signal };
  } catch (err) {
    throw transportError(err, req.signal, timeout, what);
  }
}

export function transportError(
  err: unknown,
  caller: AbortSignal,
  timeout: AbortSignal | undefined,
  what: string,
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
  return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: ${errorMessage(err)}`, {
    cause: err,
    indeterminate: true,
  });
}

/** Where buffered bytes are counted (a review's share of the process budget, limits.ts). */
export interface ByteBudget {
  take(n: number, signal: AbortSignal, what: string): Promise<void>;
  give(n: number): void;
}

/**
 * Reads the whole body, failing with RESPONSE_TOO_LARGE as soon as it passes `maxBytes`. With a
 * budget, every byte is counted before it is kept (the declared length up front), so a full budget
 * stops reading (back-pressure on the socket) instead of growing memory.
 */
export async function readBody(
  res: HttpResponse,
  maxBytes: number,
  caller: AbortSignal,
  what: string,
  budget?: ByteBudget,
): Promise<Uint8Array> {
  const declared = Number(header(res, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.body.destroy();
    throw tooLarge(what, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  let counted = 0;
  try {
    if (budget !== undefined && Number.isSafeInteger(declared) && declared > 0) {
      await budget.take(declared, caller, what);
      counted = declared;
    }
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        res.body.destroy();
        throw tooLarge(what, maxBytes);
      }
      if (budget !== undefined && total > counted) {
        await budget.take(total - counted, caller, what);
        counted = total;
      }
      chunks.push(chunk);
    }
  } catch (err) {
    res.body.destroy();
    budget?.give(counted);
    if (err instanceof RegistryError) throw err;
    throw transportError(err, caller, res.signal, what);
  }
  if (budget !== undefined && counted > total) budget.give(counted - total);
  const all = Buffer.concat(chunks, total);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength); // a view, not a second copy
}

/** Drops a body we do not need (error responses), reading at most a little of it. */
export async function discard(res: HttpResponse): Promise<string> {
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > 16_384) break;
      chunks.push(chunk);
    }
    res.body.destroy();
    return Buffer.concat(chunks).toString('utf8').slice(0, 300);
  } catch {
    return '';
  }
}

function tooLarge(what: string, maxBytes: number): RegistryError {
  return new RegistryError('RESPONSE_TOO_LARGE', `${what}: response is larger than ${maxBytes} bytes`);
}

/** Registry error body (`{"errors":[{"code","message"}]}`) as one short line. */
export function describeErrorBody(text: string): string {
  try {
    const json = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = json.errors?.[0];
    if (first !== undefined) return `${first.code ?? ''} ${first.message ?? ''}`.trim();
  } catch {
    /* not JSON */
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}
