/**
 * Per-registry connection settings: the allowlist checked before any connection, API host and scheme,
 * TLS agents with extra CAs, and the metrics hook timed around every HTTP exchange.
 */
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { RegistryError } from '../errors.js';
import type { HttpResponse } from './http.js';
import { DOCKER_HUB, normaliseRegistryHost } from '../shared/docker-hub.js';
import { isRegistryAllowed, type RegistryEndpointOptions, type RegistryOptions } from './options.js';

export interface RegistryHooks {
  /** Called once per HTTP exchange: registry host, HTTP status or error code, duration. */
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
  readonly #agents = new Map<string, Agent>();
  /** System roots only: for hosts without a `ca` entry. */
  readonly defaultAgent: Agent;

  constructor(options: RegistryOptions, hooks: RegistryHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS;
    this.defaultAgent = new Agent({ connect: { timeout: this.timeoutMs } });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values(), this.defaultAgent].map((a) => a.close()));
  }

  endpoint(host: string): RegistryEndpointOptions {
    return this.#options.registries?.[normaliseRegistryHost(host)] ?? {};
  }

  agent(host: string): Dispatcher {
    const cfg = this.endpoint(host);
    if (cfg.ca === undefined || cfg.ca.length === 0) return this.defaultAgent;
    let agent = this.#agents.get(host);
    if (agent === undefined) {
      agent = new Agent({ connect: { timeout: this.timeoutMs, ca: [...rootCertificates, ...cfg.ca] } });
      this.#agents.set(host, agent);
    }
    return agent;
  }

  baseUrl(host: string): URL {
    const scheme = this.endpoint(host).insecure ? 'http' : 'https';
    return new URL(`${scheme}://${apiHost(host)}`);
  }

  assertAllowed(registry: string, what: string): void {
    if (!isRegistryAllowed(this.#options.allow, registry)) {
      throw new RegistryError(
        'REGISTRY_NOT_ALLOWED',
        `${what}: registry ${registry} is not in the allowlist of registries imagegate may contact`,
        { indeterminate: true },
      );
    }
  }

  /** Reports the status (or the error code, lower-cased) of one exchange to the metrics hook. */
  async timed(registry: string, fn: () => Promise<HttpResponse>): Promise<HttpResponse> {
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
}
