/**
 * The contract of a cloud token source (AWS ECR, Google, Azure): which registry hosts it serves, whose
 * identity it asks as, and one fetch of a short-lived registry credential. Sources know nothing of
 * caching, backoff or the chain: `CloudTokenCache` (token-cache.ts) wraps every one of them alike.
 */
import type { Credential } from '../provider.js';

/**
 * How the registry client reaches a registry (`registries.<host>` of the registry config: plain HTTP,
 * extra CAs, another address to connect to while TLS names the registry). A token call made on the
 * registry itself (ACR's `/oauth2/exchange`) goes the same way.
 */
export interface RegistryEndpoint {
  insecure?: boolean | undefined;
  ca?: readonly string[] | undefined;
  address?: string | undefined;
}

/** The endpoint settings of `registry` (host[:port], lower case), if the configuration has any. */
export type RegistryEndpoints = (registry: string) => RegistryEndpoint | undefined;

/** The process environment (`io.env`), read once at start-up; never anything from a pod. */
export type CloudEnv = Readonly<Record<string, string | undefined>>;

/**
 * `C`: what the token is for. Registries take a `Credential`; a key service (src/kms/) takes the
 * bearer access token itself, a `string`, through the same cache.
 */
export interface CloudToken<C = Credential> {
  /** What the registry accepts: basic `AWS:<token>`, `oauth2accesstoken:<token>`, or an ACR refresh token. */
  credential: C;
  /** Epoch ms when the registry stops accepting it. */
  expiresAt: number;
}

export interface CloudTokenSource<C = Credential> {
  /** Provider name, a metrics label and the first word of every message: `aws-ecr`, `gcp`, `azure-acr`. */
  readonly name: string;
  /**
   * Whether this source serves `registry` (host[:port], lower case). Only the host decides; nothing
   * else a pod author controls ever reaches a source.
   */
  matches(registry: string): boolean;
  /**
   * Who the source asks as, without secrets (`role arn:aws:iam::1:role/x via IRSA`): part of the cache
   * key and of every CREDENTIALS_UNAVAILABLE message.
   */
  identity(): string;
  /** One token for `registry`; rejects when the identity cannot get one. Must obey `signal`. */
  fetch(registry: string, signal: AbortSignal): Promise<CloudToken<C>>;
  /** What a person should do about `error` (a role binding, an annotation, a docs link). */
  remedy(error: unknown): string;
}

/** One provider's state for /readyz and metrics (`CloudTokenCache.status()`). */
export interface CloudProviderStatus {
  provider: string;
  identity: string;
  /** Cached tokens still usable now. */
  tokens: number;
  /** Seconds since the oldest usable token was fetched (undefined: none). */
  oldestTokenAgeSeconds: number | undefined;
  /** The last failure, when it is newer than the last success. */
  lastError: string | undefined;
  /** What to do about that failure (the source's remedy). */
  fix: string | undefined;
}

/** Counters a metrics registry follows (server/metrics.ts); called once per fetch attempt. */
export interface CloudTokenHooks {
  onFetch?: (provider: string, result: 'ok' | 'error') => void;
}
