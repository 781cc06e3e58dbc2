/**
 * Per-registry connection settings: the allowlist checked before any connection, API host and scheme,
 * TLS agents with extra CAs, connection caps (per host in each undici Agent, in total by a semaphore
 * held until the response body closes), and the metrics hook timed around every HTTP exchange.
 */
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { RegistryError } from '../errors.js';
import { DOCKER_HUB, normaliseRegistryHost } from '../shared/docker-hub.js';
import { policyHost } from '../shared/host.js';
import { send, type HttpRequest, type HttpResponse } from './http.js';
import { limitsFrom, overBudget, queueSignal, Semaphore, type Limits } from './limits.js';
import { OriginPools } from './origin-pools.js';
import { requestUrl, type RequestUrl } from './request-url.js';
import { guardedLookup } from './targets.js';
import { apiHostname, assertRegistryAllowed } from './host-guard.js';
import { isRegistryAllowed, type RegistryEndpointOptions, type RegistryOptions } from './options.js';

export interface RegistryHooks {
  /**
   * Called once per HTTP exchange: registry host (or `other` for a host the operator did not name in
   * the allowlist or registry config, so label values stay bounded), HTTP status or error code, duration.
   */
  onRequest?(registry: string, status: string, ms: number): void;
}

export const DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

/** Docker Hub's references say docker.io, its API lives elsewhere. */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host;
}

export class Connections {
  readonly #options: RegistryOptions;
  readonly #hooks: RegistryHooks;
  readonly timeoutMs: number;
  readonly limits: Limits;
  readonly #agents = new Map<string, OriginPools>();
  readonly #defaultPools: OriginPools;
  /** Open requests to all registries; each holds one unit until its response body closes. */
  readonly open: Semaphore;
  /** Registry response bytes buffered by all reviews in flight. */
  readonly bytes: Semaphore;
  readonly #named: Set<string>;
  /** Open requests per host:port (the undici pool's own cap queues without a deadline). */
  readonly #perHost = new Map<string, Semaphore>();
  /**
   * What the options say about a host, as spelled in a reference (endpoint settings, metrics label,
   * allowlist verdict, origin): computed once per spelling, as every request asks for them (each a
   * URL parse or more). Bounded: hosts come from pod specs.
   */
  readonly #facts = new Map<string, HostFacts>();
  /** `registries` keyed by `policyHost` (the loopback names folded), entries of one host merged. */
  readonly #endpoints = new Map<string, RegistryEndpointOptions>();

  constructor(options: RegistryOptions, hooks: RegistryHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS;
    this.limits = limitsFrom(options.limits);
    this.#defaultPools = this.#newAgent(undefined);
    this.open = new Semaphore(this.limits.maxConnections);
    this.bytes = new Semaphore(this.limits.maxBytesInFlight);
    for (const [host, cfg] of Object.entries(options.registries ?? {})) {
      const key = policyHost(host);
      this.#endpoints.set(key, { ...this.#endpoints.get(key), ...cfg });
    }
    this.#named = new Set([
      ...(options.allow ?? []),
      ...Object.keys(options.registries ?? {}),
      ...Object.values(options.registries ?? {}).flatMap((r) => r.mirrors ?? []),
    ]);
  }

  #newAgent(ca: string[] | undefined, servername?: string): OriginPools {
    return new OriginPools({
      // per origin: one HTTP/2 connection, or a pool of at most this many HTTP/1.1 sockets
      connections: this.limits.maxConnectionsPerRegistry,
      maxIdleSockets: this.limits.maxIdleSockets,
      connect: {
        timeout: this.timeoutMs,
        lookup: guardedLookup((host) => this.metricLabel(host) !== 'other'),
        ...(ca !== undefined ? { ca: [...rootCertificates, ...ca] } : {}),
        ...(servername !== undefined ? { servername } : {}),
      },
    });
  }

  #hostSlots(host: string): Semaphore {
    let slots = this.#perHost.get(host);
    if (slots === undefined) {
      slots = new Semaphore(this.limits.maxConnectionsPerRegistry);
      this.#perHost.set(host, slots);
    }
    return slots;
  }

  #releaseHost(host: string, slots: Semaphore): void {
    slots.release(1);
    // idle hosts leave the map: a pod naming thousands of hosts does not grow it for good
    if (slots.used === 0 && !slots.waiting && this.#perHost.get(host) === slots) this.#perHost.delete(host);
  }

  #factsOf(host: string): HostFacts {
    let facts = this.#facts.get(host);
    if (facts === undefined) {
      if (this.#facts.size >= MAX_HOST_FACTS) this.#facts.clear();
      const endpoint = this.#endpoints.get(policyHost(normaliseRegistryHost(host))) ?? {};
      facts = { endpoint, label: this.#label(host), allowed: undefined, origin: undefined };
      this.#facts.set(host, facts);
    }
    return facts;
  }

  /** The metrics label for a registry host: itself when the operator named it, else `other`. */
  metricLabel(registry: string): string {
    return this.#factsOf(registry).label;
  }

  #label(registry: string): string {
    const host = normaliseRegistryHost(registry);
    if (this.#named.has(host)) return host;
    // a wildcard entry (*.corp.example) names the hosts under a domain the operator controls
    if (this.#options.allow !== undefined && isRegistryAllowed(this.#options.allow, host)) return host;
    return 'other';
  }

  /**
   * One HTTP exchange under the total connection cap: waits for a slot until shortly before the
   * deadline (then BUDGET_CONNECTIONS), and holds it until the response body closes.
   */
  async request(
    registry: string,
    req: HttpRequest,
    what: string,
    deadline: number | undefined,
  ): Promise<HttpResponse> {
    // the wait signal (two more AbortSignals) only when a slot is not free at once
    let wait: AbortSignal | undefined;
    const waitSignal = (): AbortSignal => (wait ??= queueSignal(req.signal, deadline));
    const url = req.url;
    const hostKey = url.host;
    // per host first, so that one slow registry holds at most its own share of the total. Its own
    // slots all busy means that registry is too slow for the review: like a timeout, onError decides
    // (its images are the only ones waiting). The total cap below is shared by every registry, so
    // running out of it fails closed: stalling registries must not time out other registries' images.
    const host = this.#hostSlots(hostKey);
    if (!host.tryAcquire(1)) {
      await host.acquire(1, waitSignal(), () =>
        overBudget(
          'BUDGET_CONNECTIONS',
          `${what}: all ${this.limits.maxConnectionsPerRegistry} connections to ${hostKey} ` +
            `(maxConnectionsPerRegistry) stayed busy until the deadline`,
          { indeterminate: true },
        ),
      );
    }
    if (!this.open.tryAcquire(1)) {
      try {
        await this.open.acquire(1, waitSignal(), () =>
          overBudget(
            'BUDGET_CONNECTIONS',
            `${what}: all ${this.limits.maxConnections} registry connections (maxConnections) stayed busy until the deadline`,
          ),
        );
      } catch (err) {
        this.#releaseHost(hostKey, host);
        throw err;
      }
    }
    const pools = OriginPools.of(req.dispatcher);
    const origin = url.origin;
    const idle = pools?.using(origin);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      idle?.();
      this.open.release(1);
      this.#releaseHost(hostKey, host);
    };
    const start = performance.now();
    try {
      // A new HTTPS origin: its first connection tells HTTP/2 from HTTP/1.1 before anything is sent.
      const ready = pools?.ready(url, req.signal, origin);
      if (ready !== undefined) await ready;
      // released when the exchange ends: its body received in full, failed, cut or dropped
      const res = await send(req, what, release);
      this.#report(registry, String(res.status), start);
      return res;
    } catch (err) {
      this.#report(registry, err instanceof RegistryError ? err.code.toLowerCase() : 'error', start);
      release();
      throw err;
    }
  }

  /** Reports the status (or the error code, lower-cased) of one exchange to the metrics hook. */
  #report(registry: string, status: string, start: number): void {
    if (this.#hooks.onRequest !== undefined) {
      this.#hooks.onRequest(this.metricLabel(registry), status, performance.now() - start);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values(), this.#defaultPools].map((a) => a.close()));
  }

  /**
   * A registry's own settings. Looked up by `policyHost`, so `--insecure-registry 127.0.0.1:5000`
   * also covers `localhost:5000` and `[::1]:5000` (one machine, one port: one registry).
   */
  endpoint(host: string): RegistryEndpointOptions {
    return this.#factsOf(host).endpoint;
  }

  agent(host: string): Dispatcher {
    return this.#pools(host).agent;
  }

  /** System roots only: for hosts without a `ca` entry. */
  get defaultAgent(): Dispatcher {
    return this.#defaultPools.agent;
  }

  #pools(host: string): OriginPools {
    const cfg = this.endpoint(host);
    if ((cfg.ca === undefined || cfg.ca.length === 0) && cfg.address === undefined) return this.#defaultPools;
    let pools = this.#agents.get(host);
    if (pools === undefined) {
      // an address of its own: TLS still names the registry
      pools = this.#newAgent(cfg.ca, cfg.address !== undefined ? apiHostname(host) : undefined);
      this.#agents.set(host, pools);
    }
    return pools;
  }

  baseUrl(host: string): URL {
    return new URL(this.origin(host));
  }

  /** `path` (`/v2/…`) at a registry's origin, without parsing a URL per request (request-url.ts). */
  requestUrl(host: string, path: string): RequestUrl {
    const facts = this.#factsOf(host);
    facts.base ??= new URL(this.origin(host));
    return requestUrl(facts.base, path);
  }

  /** `scheme://api-host` of a registry (computed once per host: it is on every request's path). */
  origin(host: string): string {
    const facts = this.#factsOf(host);
    if (facts.origin === undefined) {
      const cfg = facts.endpoint;
      const scheme = cfg.insecure ? 'http' : 'https';
      facts.origin = new URL(`${scheme}://${cfg.address ?? apiHost(host)}`).origin;
    }
    return facts.origin;
  }

  /**
   * Whether a redirect may go to `host`: always without an allowlist; with one, only to an allowed
   * registry or a configured mirror ("only these registries are ever contacted").
   */
  mayRedirectTo(host: string): boolean {
    if (this.#options.allow === undefined) return true;
    const h = normaliseRegistryHost(host);
    if (isRegistryAllowed(this.#options.allow, h)) return true;
    return Object.values(this.#options.registries ?? {}).some((r) => r.mirrors?.includes(h) === true);
  }

  assertAllowed(registry: string, what: string): void {
    const facts = this.#factsOf(registry);
    if (facts.allowed !== true) assertRegistryAllowed(this.#options.allow, registry, what, facts.label);
    facts.allowed = true; // reached only when allowed: a refusal throws above, every time
  }
}

/** Host spellings whose facts are kept (a pod naming more only costs the parses again). */
const MAX_HOST_FACTS = 1024;

interface HostFacts {
  endpoint: RegistryEndpointOptions;
  label: string;
  /** true once assertAllowed passed for this spelling (the options never change). */
  allowed: true | undefined;
  origin: string | undefined;
  /** The origin parsed (request-url.ts builds each request's URL on it). */
  base?: URL;
}
