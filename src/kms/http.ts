/**
 * One JSON exchange with a key service or token endpoint on undici: the caller's signal joined with a
 * per-request timeout, no redirects followed, the answer's size bounded, errors as plain messages
 * (never the body of a failed answer, which may echo credentials).
 */
import { request, type Dispatcher } from 'undici';
import { errorMessage } from '../errors.js';

/** Public-key answers are a few KB; a key listing a few pages of versions. */
export const MAX_ANSWER_BYTES = 256 * 1024;
export const REQUEST_TIMEOUT_MS = 5000;

export interface JsonRequest {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface JsonAnswer {
  status: number;
  /** The parsed body, or undefined when it was empty or not JSON. */
  json: unknown;
}

export class HttpFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Sends `req` to `url`; resolves with any status (the caller decides), rejects on transport failure. */
export async function requestJson(url: URL, req: JsonRequest): Promise<JsonAnswer> {
  const timeout = AbortSignal.timeout(req.timeoutMs ?? REQUEST_TIMEOUT_MS);
  const signal = AbortSignal.any([req.signal, timeout]);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: req.method ?? 'GET',
      headers: { accept: 'application/json', ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal,
      ...(req.dispatcher !== undefined ? { dispatcher: req.dispatcher } : {}),
    });
  } catch (err) {
    const why = timeout.aborted
      ? `no answer within ${req.timeoutMs ?? REQUEST_TIMEOUT_MS} ms`
      : req.signal.aborted
        ? 'the review deadline was reached'
        : errorMessage(err);
    throw new HttpFailure(`${url.origin}: ${why}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        res.body.destroy();
        throw new HttpFailure(`${url.origin}: answer larger than ${MAX_ANSWER_BYTES} bytes`, res.statusCode);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpFailure) throw err;
    throw new HttpFailure(`${url.origin}: answer cut short: ${errorMessage(err)}`, res.statusCode);
  }
  let json: unknown;
  try {
    json = size === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json };
}

/** `requestJson`, then: a 2xx with a JSON object, else an HttpFailure saying the status and `hint`. */
export async function getJsonObject(
  url: URL,
  req: JsonRequest,
  hint: (status: number) => string = () => '',
): Promise<Record<string, unknown>> {
  const { status, json } = await requestJson(url, req);
  if (status < 200 || status > 299) {
    const extra = hint(status);
    throw new HttpFailure(
      `${url.origin}${url.pathname} answered HTTP ${status}${extra !== '' ? ` (${extra})` : ''}`,
      status,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HttpFailure(
      `${url.origin}${url.pathname} answered HTTP ${status} without a JSON object`,
      status,
    );
  }
  return json as Record<string, unknown>;
}
