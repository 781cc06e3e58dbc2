/**
 * Pull credentials per pod, read like the kubelet does (the pod's imagePullSecrets and its service
 * account's), cached briefly per (namespace, service account, names). RBAC: get secrets and
 * serviceaccounts.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RequestScope } from '../engine.js';
import { errorMessage } from '../errors.js';
import { TtlCache } from '../registry/cache.js';
import { readPullSecrets, type CredentialStore } from '../registry/index.js';

const PULL_SECRET_TTL_MS = 30_000;

export type PullCredentials = (scope: RequestScope) => Promise<CredentialStore | undefined>;

export function createPullCredentials(kubeConfig: KubeConfig, logger: Pick<Logger, 'warn'>): PullCredentials {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const cache = new TtlCache<Promise<CredentialStore | undefined>>(5000);
  return (scope) => {
    const key = `${scope.namespace}\n${scope.serviceAccount ?? 'default'}\n${(scope.pullSecrets ?? []).join(',')}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const store = readPullSecrets(api, {
      namespace: scope.namespace,
      imagePullSecrets: (scope.pullSecrets ?? []).map((name) => ({ name })),
      serviceAccountName: scope.serviceAccount,
    }).catch((err: unknown) => {
      // Without the pod's credentials the registry may still answer anonymously; never cache this.
      cache.delete(key);
      logger.warn({ namespace: scope.namespace }, `cannot read pull secrets: ${errorMessage(err)}`);
      return undefined;
    });
    cache.set(key, store, PULL_SECRET_TTL_MS);
    return store;
  };
}
