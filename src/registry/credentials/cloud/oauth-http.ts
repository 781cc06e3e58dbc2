/**
 * The few HTTP calls a cloud token source makes (metadata server, STS, Entra, ACR exchange): one
 * bounded exchange on undici with the per-call timeout joined to the caller's signal, the answer read
 * up to a small cap and checked against a compiled schema. Failures are coded errors naming the call.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import type { Dispatcher } from 'undici';
import { errorMessage, RegistryError } from '../../../errors.js';
import { describeErrorBody, discard, readBody, send } from '../../http.js';

/** A token answer is a few kilobytes; anything past this is refused unread. */
export const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

/** What every token call needs: where to connect from, the caller's deadline and the per-call timeout. */
export interface CloudHttp {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  timeoutMs: number;
}

/** An access token and when it stops being valid (epoch milliseconds). */
export interface CloudToken {
  token: string;
  expiresAtMs: number;
}

export interface TokenCall {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  /** A form (`application/x-www-form-urlencoded`) or a JSON body. */
  form?: Record<string, string>;
  json?: unknown;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A token endpoint as configured (environment, credentials file, config): https, or plain http only
 * on loopback (a node-local agent or a test stand-in); `allowHttp` for the GCE metadata server,
 * which speaks plain HTTP by design.
 */
export function endpointUrl(text: string, what: string, allowHttp = false): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw unavailable(`${what}: "${text.slice(0, 100)}" is not a URL`);
  }
  const ok =
    url.protocol === 'https:' || (url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname)));
  if (!ok) throw unavailable(`${what}: ${url.protocol}//${url.host} is not https`);
  if (url.username !== '' || url.password !== '') throw unavailable(`${what}: URL carries credentials`);
  return url;
}

export function unavailable(message: string, cause?: unknown): RegistryError {
  return new RegistryError('CREDENTIALS_UNAVAILABLE', message, {
    indeterminate: true,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * One call; a 2xx answer must match `schema` (else CREDENTIALS_UNAVAILABLE naming the field), any
 * other status becomes CREDENTIALS_UNAVAILABLE with the service's own short error text.
 */
export async function callJson<S extends TSchema>(
  http: CloudHttp,
  call: TokenCall,
  checker: TypeCheck<S>,
  what: string,
): Promise<Static<S>> {
  const headers: Record<string, string> = { 'user-agent': 'imagegate', accept: 'application/json' };
  let body: string | undefined;
  if (call.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(call.form).toString();
  } else if (call.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(call.json);
  }
  Object.assign(headers, call.headers);
  try {
    return await exchange(http, call, headers, body, checker, what);
  } catch (err) {
    // the review's own deadline stays a TIMEOUT; a service down or unreachable is this provider's failure
    if (http.signal.aborted || (err instanceof RegistryError && err.code === 'CREDENTIALS_UNAVAILABLE'))
      throw err;
    throw unavailable(`${what}: ${errorMessage(err)}`, err);
  }
}

async function exchange<S extends TSchema>(
  http: CloudHttp,
  call: TokenCall,
  headers: Record<string, string>,
  body: string | undefined,
  checker: TypeCheck<S>,
  what: string,
): Promise<Static<S>> {
  const res = await send(
    {
      method: call.method,
      url: call.url,
      headers,
      ...(body !== undefined ? { body } : {}),
      dispatcher: http.dispatcher,
      signal: http.signal,
      timeoutMs: http.timeoutMs,
    },
    what,
  );
  if (res.status < 200 || res.status > 299) {
    const text = await discard(res);
    throw unavailable(`${what}: HTTP ${res.status} ${oauthError(text)}`.trim());
  }
  const bytes = await readBody(res, MAX_TOKEN_ANSWER_BYTES, http.signal, what);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw unavailable(`${what}: the answer is not JSON`);
  }
  if (!checker.Check(json)) {
    const first = checker.Errors(json).First();
    throw unavailable(`${what}: unexpected answer (${first?.path || '/'}: ${first?.message ?? '?'})`);
  }
  return json;
}

/** OAuth2 (`error`, `error_description`) and Google (`error.message`) error bodies as one short line. */
function oauthError(text: string): string {
  try {
    const o = JSON.parse(text) as Record<string, unknown> | null;
    if (typeof o === 'object' && o !== null) {
      const err = o.error;
      const desc = o.error_description;
      if (typeof err === 'string') {
        const d = typeof desc === 'string' ? `: ${desc.split(/\r?\n/)[0] ?? ''}` : '';
        return `${err}${d}`.slice(0, 200);
      }
      if (typeof err === 'object' && err !== null) {
        const m = (err as Record<string, unknown>).message;
        if (typeof m === 'string') return m.slice(0, 200);
      }
    }
  } catch {
    /* not JSON */
  }
  return describeErrorBody(text);
}

/** `expires_in` seconds from now, or an RFC 3339 `expireTime`, as epoch milliseconds. */
export function expiryFrom(now: number, expiresIn: number | string | undefined, fallbackS = 300): number {
  if (typeof expiresIn === 'string') {
    const t = /^[0-9]+$/.test(expiresIn) ? now + Number(expiresIn) * 1000 : Date.parse(expiresIn);
    return Number.isFinite(t) ? t : now + fallbackS * 1000;
  }
  return now + (expiresIn !== undefined && expiresIn > 0 ? expiresIn : fallbackS) * 1000;
}
