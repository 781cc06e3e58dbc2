/**
 * Registry authorization: remembers each endpoint's challenge, answers basic challenges from the
 * credential, and fetches bearer tokens (one request per key at a time) reused until shortly before expiry.
 */
import { RegistryError } from '../errors.js';
import { parseChallenge, parseTokenResponse, type Challenge } from './auth.js';
import { ByteLru } from '../shared/cache.js';
import { SingleFlight } from './cache.js';
import { apiHost, type Connections } from './connections.js';
import { credentialKey, type Credential } from './credentials/index.js';
import { describeErrorBody, discard, header, readBody, type ByteBudget, type HttpResponse } from './http.js';
import type { RegistryOptions } from './options.js';
import { refused, statusError } from './status-error.js';
import { assertRealmAllowed } from './targets.js';

function basicAuthorization(cred: Extract<Credential, { kind: 'basic' }>): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
}

/**
 * A token answer is read up to this many bytes (counted in the review's byte budget as it arrives):
 * real ones are a few KiB (a JWT, sometimes twice: `token` and `access_token`).
 */
export const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;
/** Bytes of tokens and challenges kept between reviews (keys included), least recently used out first. */
export const TOKEN_CACHE_BYTES = 4 * 1024 * 1024;
export const CHALLENGE_CACHE_BYTES = 1024 * 1024;

/** What a remembered challenge costs: its text and key (a JS string is up to 2 bytes a character). */
function challengeCost(endpoint: string, c: Challenge): number {
  return (
    2 * (endpoint.length + (c.realm?.length ?? 0) + (c.service?.length ?? 0) + (c.scope?.length ?? 0)) + 64
  );
}

/** The review's deadline and byte budget a token exchange counts against. */
export interface RequestBudget {
  deadline: number | undefined;
  bytes?: ByteBudget | undefined;
}

export class Authorizer {
  readonly #connections: Connections;
  readonly #options: RegistryOptions;
  /** Bounded by bytes: one challenge of up to 8 KiB per endpoint a pod can name adds up. */
  readonly #challenges: ByteLru<Challenge>;
  /** Bounded by bytes, not entries: 1,024 entries of 1 MiB tokens were a gigabyte. */
  readonly #tokens: ByteLru<string>;
  readonly #flights = new SingleFlight();

  constructor(connections: Connections, options: RegistryOptions, now?: () => number) {
    this.#connections = connections;
    this.#options = options;
    this.#tokens = new ByteLru<string>(TOKEN_CACHE_BYTES, now);
    this.#challenges = new ByteLru<Challenge>(CHALLENGE_CACHE_BYTES, now);
  }

  /** Bytes of tokens and of challenges held now (for tests of the bounds). */
  get held(): { tokens: number; challenges: number } {
    return { tokens: this.#tokens.bytes, challenges: this.#challenges.bytes };
  }

  /** The Authorization header for an endpoint whose challenge we already know, so it needs no 401 first. */
  async known(
    endpoint: string,
    scope: string,
    cred: Credential | undefined,
    at: RequestBudget,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = this.#challenges.get(endpoint);
    if (challenge === undefined) return undefined;
    return this.#authorize(endpoint, challenge, scope, cred, at, signal, false);
  }

  /** Consumes a 401, remembers its challenge and returns a fresh Authorization header for the retry. */
  async answer(
    res: HttpResponse,
    endpoint: string,
    scope: string,
    cred: Credential | undefined,
    what: string,
    at: RequestBudget,
    signal: AbortSignal,
  ): Promise<string> {
    const challenge = parseChallenge(header(res, 'www-authenticate'));
    await discard(res);
    if (challenge === undefined) throw refused(what, 'HTTP 401 without a usable WWW-Authenticate challenge');
    this.#challenges.set(endpoint, challenge, challengeCost(endpoint, challenge));
    const authorization = await this.#authorize(
      endpoint,
      challenge,
      challenge.scope ?? scope,
      cred,
      at,
      signal,
      true,
    );
    if (authorization === undefined) {
      throw refused(
        what,
        `registry ${endpoint} asks for ${challenge.scheme === 'basic' ? 'basic credentials' : 'a bearer token without a token realm'} and imagegate has ${cred === undefined ? 'none' : 'no matching credential'}`,
      );
    }
    return authorization;
  }

  async #authorize(
    endpoint: string,
    challenge: Challenge,
    scope: string,
    cred: Credential | undefined,
    at: RequestBudget,
    signal: AbortSignal,
    refresh: boolean,
  ): Promise<string | undefined> {
    if (challenge.scheme === 'basic') {
      if (cred?.kind !== 'basic') return undefined;
      return basicAuthorization(cred);
    }
    if (challenge.realm === undefined) return undefined;
    const key = `${endpoint}|${challenge.realm}|${challenge.service ?? ''}|${scope}|${credentialKey(cred)}`;
    if (refresh) this.#tokens.delete(key);
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    const token = await this.#flights.do(`token:${key}`, signal, (s) =>
      this.#fetchToken(endpoint, challenge.realm!, challenge.service, scope, cred, at, s),
    );
    this.#tokens.set(key, token.token, 2 * (key.length + token.token.length), token.ttlMs);
    return `Bearer ${token.token}`;
  }

  async #fetchToken(
    endpoint: string,
    realm: string,
    service: string | undefined,
    scope: string,
    cred: Credential | undefined,
    at: RequestBudget,
    signal: AbortSignal,
  ): Promise<{ token: string; ttlMs: number }> {
    const connections = this.#connections;
    const what = `token from ${realm}`;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw refused(`token for ${endpoint}`, `its challenge names an invalid token realm`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && connections.endpoint(endpoint).insecure)) {
      throw refused(what, `the token realm ${url.protocol}//${url.host} is not https`);
    }
    // before any connection: the realm is registry-controlled text
    assertRealmAllowed(
      url,
      connections.baseUrl(endpoint),
      endpoint,
      this.#options,
      cred?.kind === 'basic' || cred?.kind === 'identityToken',
      `token for ${endpoint}`,
    );
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
      if (cred?.kind === 'basic') headers.authorization = basicAuthorization(cred);
    }
    // the registry's own CA only when the token service is the registry itself
    const dispatcher =
      url.host === apiHost(endpoint) ? connections.agent(endpoint) : connections.defaultAgent;
    const res = await connections.request(
      endpoint,
      {
        method,
        url,
        headers,
        ...(body !== undefined ? { body } : {}),
        dispatcher,
        signal,
        timeoutMs: connections.timeoutMs,
      },
      what,
      at.deadline,
    );
    if (res.status !== 200) {
      const text = await discard(res);
      // the token service refusing the request (400, 401, 403, 404, …) is a refusal; 429 and 5xx an outage
      throw statusError(
        res.status >= 400 && res.status < 500 && res.status !== 429 ? 401 : res.status,
        what,
        describeErrorBody(text),
        'MANIFEST_UNKNOWN',
      );
    }
    const bytes = await readBody(res, MAX_TOKEN_ANSWER_BYTES, signal, what, at.bytes);
    const token = parseTokenResponse(Buffer.from(bytes).toString('utf8'));
    // a 200 without a well-typed token is content the registry chose to serve, not an outage
    if (token === undefined)
      throw new RegistryError(
        'REGISTRY_CONTENT_INVALID',
        `${what}: the answer carries no token (token or access_token, a string)`,
      );
    return token;
  }
}
