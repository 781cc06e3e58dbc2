/**
 * In the cluster: the pull credentials of a pod, read like the kubelet does: its imagePullSecrets and
 * those of its service account (for workload objects the ServiceAccount admission plugin has not
 * merged them yet), as one keyring where the longest matching key wins. Missing secrets are skipped,
 * as the kubelet skips them.
 */
import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { RegistryError, errorMessage } from '../../errors.js';
import { TtlCache } from '../../shared/cache.js';
import { parseDockerConfig } from './docker-config.js';
import { Keyring } from './keyring.js';
import {
  NOT_NOW,
  type Credential,
  type CredentialProvider,
  type CredentialRequest,
  type PullIdentity,
} from './provider.js';

/** The shape of a Kubernetes Secret that matters here (V1Secret from @kubernetes/client-node fits). */
export interface PullSecretLike {
  type?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

/**
 * What the provider reads from the Kubernetes API (CoreV1Api fits). Rejections carrying `code: 404`
 * mean "does not exist"; any other rejection makes the credentials unavailable.
 */
export interface PullSecretSource {
  readNamespacedSecret(param: { name: string; namespace: string }): Promise<V1Secret>;
  readNamespacedServiceAccount(param: { name: string; namespace: string }): Promise<V1ServiceAccount>;
}

export interface PullSecretRefs {
  namespace: string;
  imagePullSecrets?: ReadonlyArray<{ name?: string }> | undefined;
  /** Default "default", as for pods. */
  serviceAccountName?: string | undefined;
}

/** Credentials from pull secrets, in order (earlier secrets win on equal keys, as the kubelet tries them first). */
export function credentialsFromPullSecrets(secrets: readonly PullSecretLike[]): Keyring {
  const entries: Array<[string, Credential]> = [];
  for (const s of secrets) {
    const name = `secret ${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? '?'}`;
    const data =
      s.type === 'kubernetes.io/dockerconfigjson'
        ? s.data?.['.dockerconfigjson']
        : s.type === 'kubernetes.io/dockercfg'
          ? s.data?.['.dockercfg']
          : undefined;
    if (data === undefined) continue;
    const store = parseDockerConfig(Buffer.from(data, 'base64').toString('utf8'), name);
    entries.push(...store.entries());
  }
  return new Keyring(entries, 'pull-secrets');
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

async function orUndefined<T>(p: Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new RegistryError(
      'CREDENTIALS_UNAVAILABLE',
      `cannot read ${what}: ${errorMessage(err).slice(0, 200)}`,
      { cause: err, indeterminate: true },
    );
  }
}

export async function readPullSecrets(api: PullSecretSource, refs: PullSecretRefs): Promise<Keyring> {
  const { namespace } = refs;
  const names: string[] = [];
  for (const s of refs.imagePullSecrets ?? []) if (s.name) names.push(s.name);
  const saName = refs.serviceAccountName || 'default';
  const sa = await orUndefined(
    api.readNamespacedServiceAccount({ name: saName, namespace }),
    `service account ${namespace}/${saName}`,
  );
  for (const s of sa?.imagePullSecrets ?? []) if (s.name && !names.includes(s.name)) names.push(s.name);
  const secrets = await Promise.all(
    names.map((name) =>
      orUndefined(api.readNamespacedSecret({ name, namespace }), `secret ${namespace}/${name}`),
    ),
  );
  return credentialsFromPullSecrets(secrets.filter((s): s is V1Secret => s !== undefined));
}

export interface PullSecretProviderOptions {
  /** How long one identity's keyring is reused; default 30 s. */
  ttlMs?: number;
  /** Called when the secrets cannot be read; the lookup then answers undefined (anonymous) and nothing is cached. */
  onError?: (identity: PullIdentity, err: unknown) => void;
  now?: () => number;
}

/** An identity's keyring, read or being read; `done` once its read has settled. */
interface Read {
  readonly keyring: Promise<Keyring | undefined>;
  done: boolean;
  /** What the read settled to (undefined: no secrets readable, anonymous). */
  value: Keyring | undefined;
}

/**
 * The pod's and its service account's imagePullSecrets, read once per identity and cached briefly.
 * An identity object stands for one request: all its lookups share one read, so a failed read is
 * reported once and retried by the next request, not by every fetch of this one.
 *
 * credentialsNow answers from a settled read only, the one credentialsFor would await: the
 * request's own, or the cached one of the same namespace, service account and secrets (then made
 * the request's own, so both ask the same keyring for the rest of the request). Nothing read or a
 * read in flight: NOT_NOW, and credentialsFor reads as before.
 */
export function pullSecretProvider(
  source: PullSecretSource,
  options: PullSecretProviderOptions = {},
): CredentialProvider {
  const ttlMs = options.ttlMs ?? 30_000;
  const cache = new TtlCache<Read>(5000, options.now);
  const perRequest = new WeakMap<PullIdentity, Read>();
  const keyOf = (identity: PullIdentity): string =>
    `${identity.namespace}\n${identity.serviceAccount ?? 'default'}\n${(identity.pullSecrets ?? []).join(',')}`;
  const readFor = (identity: PullIdentity): Read => {
    let read = perRequest.get(identity);
    if (read === undefined) {
      read = cachedRead(identity);
      perRequest.set(identity, read);
    }
    return read;
  };
  const cachedRead = (identity: PullIdentity): Read => {
    const key = keyOf(identity);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const keyring = readPullSecrets(source, {
      namespace: identity.namespace,
      imagePullSecrets: (identity.pullSecrets ?? []).map((name) => ({ name })),
      serviceAccountName: identity.serviceAccount,
    }).then(
      (k): Keyring => {
        read.done = true;
        read.value = k;
        return k;
      },
      (err: unknown) => {
        // Without the pod's credentials the registry may still answer anonymously; never cache this.
        cache.delete(key);
        read.done = true;
        options.onError?.(identity, err);
        return undefined;
      },
    );
    const read: Read = { keyring, done: false, value: undefined };
    cache.set(key, read, ttlMs);
    return read;
  };
  return {
    name: 'pull-secrets',
    async credentialsFor(request: CredentialRequest) {
      if (request.identity === undefined) return undefined;
      return (await readFor(request.identity).keyring)?.lookup(request.registry, request.repository);
    },
    credentialsNow(request: CredentialRequest) {
      const { identity } = request;
      if (identity === undefined) return undefined;
      let read = perRequest.get(identity);
      if (read === undefined) {
        const hit = cache.get(keyOf(identity));
        if (hit === undefined || !hit.done) return NOT_NOW;
        read = hit;
        perRequest.set(identity, read);
      }
      if (!read.done) return NOT_NOW;
      return read.value?.lookup(request.registry, request.repository);
    },
  };
}
