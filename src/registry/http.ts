/**
 * One HTTP exchange with a registry on undici: per-request timeout joined with the caller's deadline,
 * bounded bodies (collected as they arrive, cut past the cap), and transport errors mapped to coded
 * errors. The exchange itself is exchange.ts (undici's dispatch handler, no body stream).
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ErrorBodySchema, type ErrorBodyShape } from './content.schema.js';
import type { Dispatcher } from 'undici';
import { Exchange } from './exchange.js';
import { header as headerOf, type ByteBudget, type Headers, type ResponseBody } from './response.js';
import type { RequestUrl } from './request-url.js';

export type { ByteBudget, ResponseBody } from './response.js';
export { transportError } from './transport-error.js';

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
  /** Lower-cased names; a repeated header's values as an array. */
  headers: Headers;
  body: ResponseBody;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return res instanceof Exchange ? res.header(lower) : headerOf(res.headers, lower);
}

/**
 * One exchange, answered at its headers. `onClose` runs once when the exchange ends (the body
 * received in full, failed, cut or dropped), after the per-request abort is disarmed: the caller's
 * release of its connection slots rides on it.
 */
export function send(req: HttpRequest, what: string, onClose?: () => void): Promise<HttpResponse> {
  const url = req.url;
  const exchange = new Exchange(req.signal, req.timeoutMs, what, url, onClose);
  // The dispatcher's own dispatch(), as undici's request() calls it, without its body stream.
  const opts: Dispatcher.DispatchOptions = {
    origin: url.origin,
    path: url.pathname + url.search,
    method: req.method,
    headers: req.headers,
    headersTimeout: req.timeoutMs,
    bodyTimeout: req.timeoutMs,
  };
  if (req.body !== undefined) opts.body = req.body;
  return exchange.start(req.dispatcher, opts);
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
  return res.body.read(maxBytes, caller, what, budget);
}

/** Drops a body we do not need (error responses), reading at most a little of it. */
export function discard(res: HttpResponse): Promise<string> {
  return res.body.discard();
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
