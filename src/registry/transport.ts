/**
 * One Distribution API call, done right: allowlist before any connection, mirrors in order, auth
 * (basic, bearer challenge with token reuse), redirects without leaking credentials, one 429 retry
 * within the deadline, per-registry TLS settings, and a metrics hook per HTTP exchange.
 */
import { RegistryError, type RegistryErrorCode } from '../errors.js';
import { Authorizer } from './authorizer.js';
import { Connections, type RegistryHooks } from './connections.js';
import {
  credentialKey,
  NOT_NOW,
  type Credential,
  type CredentialProvider,
  type CredentialRequest,
  type PullIdentity,
} from './credentials/provider.js';
import { describeErrorBody, discard, type ByteBudget, type HttpResponse } from './http.js';
import type { RegistryOptions } from './options.js';
import { waitOutRateLimit } from './rate-limit.js';
import { followRedirects } from './redirects.js';
import type { ImageReference } from './reference.js';
import { isRefusal, statusError } from './status-error.js';

export type { RegistryHooks } from './connections.js';
export { statusError } from './status-error.js';

export interface RequestContext {
  /** The provider chain for this request. */
  credentials: CredentialProvider;
  identity: PullIdentity | undefined;
  /** Epoch ms when the review's budget ends, if known. */
  deadline: number | undefined;
  /** The review's share of the process-wide budget of buffered response bytes. */
  bytes?: ByteBudget;
  /**
   * The credentials this review has found, per `registry/repository`: the provider chain is asked
   * once per repository and review (an image's four or five requests looked it up eight to ten times).
   */
  found?: Map<string, Promise<Credential | undefined>>;
  /**
   * The same, as the credential's key (credentialKey), which a cached review asks for twice per image
   * by tag (the reuse key's scope, the tag window's manifest): once per repository and review.
   */
  scopes?: Map<string, Promise<string>>;
}

/** Repositories whose credential one review remembers (bounded by maxImagesPerReview in practice). */
const MAX_FOUND = 1024;

export type Target = Pick<ImageReference, 'registry' | 'repository'>;

/**
 * The credential this request uses at `registry` (a mirror's host when a mirror is tried). A provider
 * that calls out obeys `signal`, or else the request's deadline.
 */
export function credentialFor(
  ctx: RequestContext,
  registry: string,
  repository: string,
  signal?: AbortSignal,
): Promise<Credential | undefined> {
  const found = ctx.found;
  if (found === undefined) return lookUp(ctx, registry, repository, signal);
  const key = `${registry}/${repository}`;
  const hit = found.get(key);
  if (hit !== undefined) return hit;
  return rememberAnswer(found, key, lookUp(ctx, registry, repository, signal));
}

/**
 * Keeps `lookup` in `memo` under `key` once it answers, up to MAX_FOUND entries: only an answer is
 * remembered, a failed lookup (an outage, an aborted signal) is asked again.
 */
function rememberAnswer<T>(memo: Map<string, Promise<T>>, key: string, lookup: Promise<T>): Promise<T> {
  lookup.then(
    () => {
      if (memo.size < MAX_FOUND) memo.set(key, lookup);
    },
    () => undefined,
  );
  return lookup;
}

/**
 * credentialKey of the credential this request uses at `registry`: a per-review context (one with
 * `found`) remembers it per repository, as `found` does the credential.
 */
export function credentialScope(
  ctx: RequestContext,
  registry: string,
  repository: string,
  signal?: AbortSignal,
): Promise<string> {
  if (ctx.found === undefined) return credentialFor(ctx, registry, repository, signal).then(credentialKey);
  const scopes = (ctx.scopes ??= new Map<string, Promise<string>>());
  const key = `${registry}/${repository}`;
  const hit = scopes.get(key);
  if (hit !== undefined) return hit;
  return rememberAnswer(scopes, key, credentialFor(ctx, registry, repository, signal).then(credentialKey));
}

/**
 * credentialScope's answer without a promise, when the request's chain answers from memory
 * (CredentialProvider.credentialsNow: keyrings, pull secrets in memory, or no provider); undefined: ask
 * credentialScope. The same credential, so the same key, as the asynchronous lookup.
 */
export function credentialScopeNow(
  ctx: RequestContext,
  registry: string,
  repository: string,
): string | undefined {
  const now = ctx.credentials.credentialsNow;
  if (now === undefined) return undefined;
  const credential = now.call(ctx.credentials, { registry, repository, identity: ctx.identity });
  return credential === NOT_NOW ? undefined : credentialKey(credential);
}

function lookUp(
  ctx: RequestContext,
  registry: string,
  repository: string,
  signal: AbortSignal | undefined,
): Promise<Credential | undefined> {
  const deadline = ctx.deadline;
  if (signal !== undefined || deadline === undefined) {
    return ctx.credentials.credentialsFor({ registry, repository, identity: ctx.identity, signal });
  }
  return ctx.credentials.credentialsFor(new DeadlineRequest(registry, repository, ctx.identity, deadline));
}

/**
 * A credential request whose signal is the review's deadline, made only for a provider that reads it
 * (one that calls out): an AbortSignal.timeout (a timer, weakly held, finalised) per lookup is wasted
 * on the others. A class, not an object literal with a getter: the literal made a getter closure and
 * a hidden class per call, on every cached review (the reuse key's credential scope).
 */
class DeadlineRequest implements CredentialRequest {
  #timeout: AbortSignal | undefined;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly identity: PullIdentity | undefined,
    readonly deadline: number,
  ) {}

  get signal(): AbortSignal {
    return (this.#timeout ??= AbortSignal.timeout(Math.max(0, this.deadline - Date.now())));
  }
}

export interface ExchangeOptions {
  method: 'GET' | 'HEAD';
  path: string;
  accept?: string;
  what: string;
}

export class Transport {
  readonly #connections: Connections;
  readonly #authorizer: Authorizer;
  readonly #maxRedirects: number;
  readonly #headers = new Map<string, Readonly<Record<string, string>>>();

  constructor(options: RegistryOptions, hooks: RegistryHooks) {
    this.#connections = new Connections(options, hooks);
    this.#authorizer = new Authorizer(this.#connections, options, options.now);
    this.#maxRedirects = options.maxRedirects ?? 5;
  }

  close(): Promise<void> {
    return this.#connections.close();
  }

  get connections(): Connections {
    return this.#connections;
  }

  /**
   * One API call with mirrors, auth (challenge → token/basic, one retry) and one 429 retry. Not an
   * async function: a registry without mirrors (every request of most reviews) goes straight to
   * #exchangeWith's promise, without one more promise around it; a refusal is a rejection as before.
   */
  exchange(
    ctx: RequestContext,
    target: Target,
    opts: ExchangeOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    let mirrors: readonly string[] | undefined;
    try {
      this.#connections.assertAllowed(target.registry, opts.what);
      mirrors = this.#connections.endpoint(target.registry).mirrors;
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (mirrors === undefined || mirrors.length === 0) {
      return this.#exchangeWith(ctx, target.registry, target.repository, opts, signal);
    }
    return this.#viaMirrors(ctx, target, mirrors, opts, signal);
  }

  async #viaMirrors(
    ctx: RequestContext,
    target: Target,
    mirrors: readonly string[],
    opts: ExchangeOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    const endpoints = [...mirrors, target.registry];
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
        const next = (err instanceof RegistryError && err.indeterminate) || isRefusal(err);
        if (last || !next || signal.aborted) throw err;
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
    const cred = await credentialFor(ctx, endpoint, repository, signal);
    const scope = `repository:${repository}:pull`;
    // paths are built from parsed references (`/v2/…`): at the registry's origin, parsed once
    const url = this.#connections.requestUrl(endpoint, opts.path);
    const headers = this.#headersFor(opts.accept);
    const deadline = ctx.deadline;
    let authorization = await this.#authorizer.known(endpoint, scope, cred, ctx, signal);
    let authRetried = false;
    let rateRetried = false;
    for (;;) {
      const h = authorization !== undefined ? { ...headers, authorization } : headers;
      const res = await followRedirects(
        this.#connections,
        endpoint,
        { method: opts.method, url, headers: h, what: opts.what, maxRedirects: this.#maxRedirects, deadline },
        signal,
      );
      if (res.status === 401 && !authRetried) {
        authorization = await this.#authorizer.answer(res, endpoint, scope, cred, opts.what, ctx, signal);
        authRetried = true;
        continue;
      }
      if (res.status === 429 && !rateRetried) {
        await waitOutRateLimit(res, ctx.deadline, this.#connections.timeoutMs, opts.what, signal);
        rateRetried = true;
        continue;
      }
      return res;
    }
  }

  /**
   * The headers of a request without credentials, one object per Accept value (a few constants in
   * the code), made once: undici and the redirect loop only read them.
   */
  #headersFor(accept: string | undefined): Readonly<Record<string, string>> {
    const key = accept ?? '';
    const known = this.#headers.get(key);
    if (known !== undefined) return known;
    const made: Record<string, string> = { 'user-agent': 'imagegate' };
    if (accept !== undefined) made.accept = accept;
    this.#headers.set(key, Object.freeze(made));
    return made;
  }

  async expectOk(res: HttpResponse, what: string, notFound: RegistryErrorCode): Promise<void> {
    if (res.status === 200) return;
    const text = await discard(res);
    throw statusError(res.status, what, describeErrorBody(text), notFound);
  }
}
