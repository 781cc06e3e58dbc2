/**
 * The credential provider contract: given the registry host, the repository and the request's pull
 * identity, a provider answers with a credential or undefined ("not mine, ask the next one").
 * Providers are chained in `chain.ts`; the first answer wins.
 */
import { createHash } from 'node:crypto';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (Docker's `identitytoken`). */
  | { kind: 'identityToken'; token: string };

/** Whose credentials a pod pulls with (the admission request's namespace, service account, pull secrets). */
export interface PullIdentity {
  namespace: string;
  /** Default "default", as for pods. */
  serviceAccount?: string | undefined;
  /** Names of the pod's imagePullSecrets. */
  pullSecrets?: readonly string[] | undefined;
}

export interface CredentialRequest {
  /** Registry host[:port] as contacted (a mirror's host when a mirror is tried). */
  registry: string;
  repository: string;
  /** The request's pull identity; absent for CLI checks and tests without a pod. */
  identity?: PullIdentity | undefined;
  /**
   * The review's deadline: a provider that calls out (a cloud token service) gives up when it aborts.
   * The transport always passes one when the request has a deadline.
   */
  signal?: AbortSignal | undefined;
}

export interface CredentialProvider {
  /** For logs and docs: `pull-secrets`, `registry-config`, `docker-config`, … */
  readonly name: string;
  /** A credential for the request, or undefined to let the next provider answer. */
  credentialsFor(request: CredentialRequest): Promise<Credential | undefined>;
  /**
   * The same answer synchronously, where it is always the answer credentialsFor would give now: a
   * keyring's always, pull secrets' when the identity's keyring is in memory (else NOT_NOW: ask
   * credentialsFor). The cached path uses it to answer without a promise per image
   * (evaluate/reuse-now.ts).
   */
  credentialsNow?(request: CredentialRequest): Credential | undefined | typeof NOT_NOW;
}

/** credentialsNow's answer when only credentialsFor can answer (a read to make or in flight). */
export const NOT_NOW: unique symbol = Symbol('credentials not in memory');

/** First provider with a credential wins; undefined entries are skipped. */
export function chainProviders(
  providers: ReadonlyArray<CredentialProvider | undefined>,
  name = 'chain',
): CredentialProvider {
  const list = providers.filter((p): p is CredentialProvider => p !== undefined);
  if (list.length === 0)
    return { name, credentialsFor: () => Promise.resolve(undefined), credentialsNow: () => undefined };
  const chain: CredentialProvider = {
    name,
    async credentialsFor(request) {
      for (const p of list) {
        const c = await p.credentialsFor(request);
        if (c !== undefined) return c;
      }
      return undefined;
    },
  };
  // Synchronous only when every provider is: one that calls out may answer first.
  if (list.every((p) => p.credentialsNow !== undefined)) {
    chain.credentialsNow = (request) => {
      for (const p of list) {
        const c = p.credentialsNow?.(request);
        if (c !== undefined) return c; // NOT_NOW included: an earlier provider may not be skipped
      }
      return undefined;
    };
  }
  return chain;
}

/** A stable, non-reversible key for caching tokens per credential. */
export function credentialKey(c: Credential | undefined): string {
  if (c === undefined) return 'anonymous';
  let key = keys.get(c);
  if (key === undefined) {
    const material = c.kind === 'basic' ? `b:${c.username}:${c.password}` : `t:${c.token}`;
    key = createHash('sha256').update(material).digest('hex').slice(0, 16);
    keys.set(c, key);
  }
  return key;
}

/**
 * credentialKey per credential object: a keyring's credentials are the same objects for every
 * request (a hash per image per review otherwise). Credentials are never changed after they are
 * made; a refreshed token is a new object, and so gets its own key.
 */
const keys = new WeakMap<Credential, string>();
