/**
 * One Distribution API call, done right: allowlist before any connection, mirrors in order, auth
 * (basic, bearer challenge with token reuse), redirects without leaking credentials, one 429 retry
 * within the deadline, per-registry TLS settings, and a metrics hook per HTTP exchange.
 */
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { RegistryError, type RegistryErrorCode } from '../errors.js';
import { parseChallenge, parseTokenResponse, type Challenge } from './auth.js';
import { SingleFlight, TtlCache, abortError } from './cache.js';
import { credentialKey, type Credential, type CredentialStore } from './credentials.js';
import { describeErrorBody, discard, header, readBody, send, type HttpResponse } from './http.js';
import {
  isRegistryAllowed,
  normaliseHost,
  type RegistryEndpointOptions,
  type RegistryOptions,
} from './options.js';
import type { ImageReference } from './reference.js';

export interface RegistryHooks {
  /** Called once per HTTP exchange: registry host, HTTP status or error code, duration. */
  onRequest?(registry: string, status: string, ms: number): void;
}

export interface RequestContext {
  creds: CredentialStore;
  /** Epoch ms when the review's budget ends, if known. */
  deadline: number | undefined;
}

export type Target = Pick<ImageReference, 'registry' | 'repository'>;

export interface ExchangeOptions {
  method: 'GET' | 'HEAD';
  path: string;
  accept?: string;
  what: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const DEFAULT_TIMEOUT_MS = 10_000;

function apiHost(host: string): string {
  return host === 'docker.io' ? 'registry-1.docker.io' : host;
}

export function statusError(
  status: number,
  what: string,
  body: string,
  notFound: RegistryErrorCode,
): RegistryError {
  const detail = body ? ` (${body})` : '';
  if (status === 404)
    return new RegistryError(notFound, `${what}: not found${detail}`, {
      indeterminate: notFound !== 'MANIFEST_UNKNOWN',
    });
  if (status === 401 || status === 403)
    return new RegistryError('UNAUTHORIZED', `${what}: access denied (HTTP ${status})${detail}`, {
      indeterminate: true,
    });
  if (status === 429)
    return new RegistryError('RATE_LIMITED', `${what}: rate limited (HTTP 429)`, { indeterminate: true });
  if (status >= 500)
    return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: HTTP ${status}${detail}`, {
      indeterminate: true,
    });
  return new RegistryError('REGISTRY_ERROR', `${what}: unexpected HTTP ${status}${detail}`, {
    indeterminate: true,
  });
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class Transport {
  readonly #options: RegistryOptions;
  readonly #hooks: RegistryHooks;
  readonly #timeoutMs: number;
  readonly #maxRedirects: number;
  readonly #agents = new Map<string, Agent>();
  readonly #defaultAgent: Agent;
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new TtlCache<string>(1024);
  readonly #flights = new SingleFlight();

  constructor(options: RegistryOptions, hooks: RegistryHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#defaultAgent = new Agent({ connect: { timeout: this.#timeoutMs } });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values(), this.#defaultAgent].map((a) => a.close()));
  }

  #endpoint(host: string): RegistryEndpointOptions {
    return this.#options.registries?.[normaliseHost(host)] ?? {};
  }

  #agent(host: string): Dispatcher {
    const cfg = this.#endpoint(host);
    if (cfg.ca === undefined || cfg.ca.length === 0) return this.#defaultAgent;
    let agent = this.#agents.get(host);
    if (agent === undefined) {
      agent = new Agent({ connect: { timeout: this.#timeoutMs, ca: [...rootCertificates, ...cfg.ca] } });
      this.#agents.set(host, agent);
    }
    return agent;
  }

  #baseUrl(host: string): URL {
    const scheme = this.#endpoint(host).insecure ? 'http' : 'https';
    return new URL(`${scheme}://${apiHost(host)}`);
  }

  #assertAllowed(registry: string, what: string): void {
    if (!isRegistryAllowed(this.#options.allow, registry)) {
      throw new RegistryError(
        'REGISTRY_NOT_ALLOWED',
        `${what}: registry ${registry} is not in the allowlist of registries imagegate may contact`,
        { indeterminate: true },
      );
    }
  }

  async #timed(registry: string, fn: () => Promise<HttpResponse>): Promise<HttpResponse> {
    const start = performance.now();
    try {
      const res = await fn();
      this.#hooks.onRequest?.(registry, String(res.status), performance.now() - start);
      return res;
    } catch (err) {
      const status = err instanceof RegistryError ? err.code.toLowerCase() : 'error';
      this.#hooks.onRequest?.(registry, status, performance.now() - start);
      throw err;
    }
  }

  /** GET/HEAD following redirects; credentials are only sent to the registry's own origin. */
  async #follow(
    registry: string,
    url: URL,
    headers: Record<string, string>,
    opts: ExchangeOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    const origin = url.origin;
    let current = url;
    let h = { ...headers };
    for (let hops = 0; ; hops++) {
      const target = current;
      // the registry's own TLS settings; another host uses its own entry (if any) or the system roots
      const dispatcher = this.#agent(target.host === url.host ? registry : target.host);
      const res = await this.#timed(registry, () =>
        send(
          { method: opts.method, url: target, headers: h, dispatcher, signal, timeoutMs: this.#timeoutMs },
          opts.what,
        ),
      );
      if (!REDIRECTS.has(res.status)) return res;
      const location = header(res, 'location');
      await discard(res);
      if (location === undefined) {
        throw new RegistryError('REGISTRY_ERROR', `${opts.what}: redirect without Location`, {
          indeterminate: true,
        });
      }
      if (hops >= this.#maxRedirects) {
        throw new RegistryError(
          'TOO_MANY_REDIRECTS',
          `${opts.what}: more than ${this.#maxRedirects} redirects`,
          {
            indeterminate: true,
          },
        );
      }
      const next = new URL(location, current);
      const sameOrigin = next.origin === origin;
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && sameOrigin)) {
        throw new RegistryError(
          'REGISTRY_ERROR',
          `${opts.what}: refusing redirect to ${next.protocol}//${next.host}`,
          {
            indeterminate: true,
          },
        );
      }
      if (!sameOrigin) {
        const { authorization: _dropped, ...rest } = h;
        h = rest;
      }
      current = next;
    }
  }

  /** One API call with mirrors, auth (challenge → token/basic, one retry) and one 429 retry. */
  async exchange(
    ctx: RequestContext,
    target: Target,
    opts: ExchangeOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    this.#assertAllowed(target.registry, opts.what);
    const endpoints = [...(this.#endpoint(target.registry).mirrors ?? []), target.registry];
    let lastError: unknown;
    for (const [i, endpoint] of endpoints.entries()) {
      const last = i === endpoints.length - 1;
      try {
        const res = await this.#exchangeWith(ctx, endpoint, target.repository, opts, signal);
        // a mirror that lacks the content, refuses us or fails: try the next endpoint
        if (!last && (res.status === 404 || res.status === 401 || res.status === 403 || res.status >= 429)) {
          await discard(res);
          lastError = statusError(res.status, opts.what, '', 'MANIFEST_UNKNOWN');
          continue;
        }
        return res;
      } catch (err) {
        if (last || !(err instanceof RegistryError && err.indeterminate) || signal.aborted) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  async #exchangeWith(
    ctx: RequestContext,
    endpoint: string,
    repository: string,
    opts: ExchangeOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    const cred = ctx.creds.lookup(endpoint, repository);
    const scope = `repository:${repository}:pull`;
    const url = new URL(opts.path, this.#baseUrl(endpoint));
    const headers: Record<string, string> = { 'user-agent': 'imagegate' };
    if (opts.accept !== undefined) headers.accept = opts.accept;
    let authorization = await this.#knownAuthorization(endpoint, scope, cred, signal);
    let authRetried = false;
    let rateRetried = false;
    for (;;) {
      const h = authorization !== undefined ? { ...headers, authorization } : headers;
      const res = await this.#follow(endpoint, url, h, opts, signal);
      if (res.status === 401 && !authRetried) {
        const challenge = parseChallenge(header(res, 'www-authenticate'));
        await discard(res);
        if (challenge === undefined)
          throw statusError(401, opts.what, 'no usable WWW-Authenticate challenge', 'MANIFEST_UNKNOWN');
        this.#challenges.set(endpoint, challenge);
        authorization = await this.#authorize(
          endpoint,
          challenge,
          challenge.scope ?? scope,
          cred,
          signal,
          true,
        );
        if (authorization === undefined) {
          throw new RegistryError('UNAUTHORIZED', `${opts.what}: registry ${endpoint} requires credentials`, {
            indeterminate: true,
          });
        }
        authRetried = true;
        continue;
      }
      if (res.status === 429 && !rateRetried) {
        const wait = retryAfterMs(header(res, 'retry-after'));
        await discard(res);
        const remaining = (ctx.deadline ?? Date.now() + this.#timeoutMs) - Date.now();
        if (wait === undefined || wait >= remaining - 50) {
          throw new RegistryError(
            'RATE_LIMITED',
            `${opts.what}: rate limited (HTTP 429${wait !== undefined ? `, Retry-After ${Math.ceil(wait / 1000)} s exceeds the deadline` : ''})`,
            { indeterminate: true },
          );
        }
        await sleep(wait, signal);
        rateRetried = true;
        continue;
      }
      return res;
    }
  }

  async #knownAuthorization(
    endpoint: string,
    scope: string,
    cred: Credential | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = this.#challenges.get(endpoint);
    if (challenge === undefined) return undefined;
    return this.#authorize(endpoint, challenge, scope, cred, signal, false);
  }

  async #authorize(
    endpoint: string,
    challenge: Challenge,
    scope: string,
    cred: Credential | undefined,
    signal: AbortSignal,
    refresh: boolean,
  ): Promise<string | undefined> {
    if (challenge.scheme === 'basic') {
      if (cred?.kind !== 'basic') return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    if (challenge.realm === undefined) return undefined;
    const key = `${endpoint}|${challenge.realm}|${challenge.service ?? ''}|${scope}|${credentialKey(cred)}`;
    if (refresh) this.#tokens.delete(key);
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    const token = await this.#flights.do(`token:${key}`, signal, (s) =>
      this.#fetchToken(endpoint, challenge.realm!, challenge.service, scope, cred, s),
    );
    this.#tokens.set(key, token.token, token.ttlMs);
    return `Bearer ${token.token}`;
  }

  async #fetchToken(
    endpoint: string,
    realm: string,
    service: string | undefined,
    scope: string,
    cred: Credential | undefined,
    signal: AbortSignal,
  ): Promise<{ token: string; ttlMs: number }> {
    const what = `token from ${realm}`;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('UNAUTHORIZED', `registry ${endpoint} sent an invalid token realm`, {
        indeterminate: true,
      });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.#endpoint(endpoint).insecure)) {
      throw new RegistryError('UNAUTHORIZED', `${what}: token realm must be https`, { indeterminate: true });
    }
    const headers: Record<string, string> = { 'user-agent': 'imagegate' };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (cred?.kind === 'identityToken') {
      method = 'POST';
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.token,
        client_id: 'imagegate',
        scope,
      });
      if (service !== undefined) form.set('service', service);
      body = form.toString();
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      if (cred?.kind === 'basic') {
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      }
    }
    const dispatcher = url.host === apiHost(endpoint) ? this.#agent(endpoint) : this.#defaultAgent;
    const res = await this.#timed(endpoint, () =>
      send(
        {
          method,
          url,
          headers,
          ...(body !== undefined ? { body } : {}),
          dispatcher,
          signal,
          timeoutMs: this.#timeoutMs,
        },
        what,
      ),
    );
    if (res.status !== 200) {
      const text = await discard(res);
      throw statusError(
        res.status === 400 ? 401 : res.status,
        what,
        describeErrorBody(text),
        'MANIFEST_UNKNOWN',
      );
    }
    const bytes = await readBody(res, 1024 * 1024, signal, what);
    const token = parseTokenResponse(Buffer.from(bytes).toString('utf8'));
    if (token === undefined)
      throw new RegistryError('UNAUTHORIZED', `${what}: no token in the answer`, { indeterminate: true });
    return token;
  }

  async expectOk(res: HttpResponse, what: string, notFound: RegistryErrorCode): Promise<void> {
    if (res.status === 200) return;
    const text = await discard(res);
    throw statusError(res.status, what, describeErrorBody(text), notFound);
  }
}
