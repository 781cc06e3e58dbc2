/**
 * What the registry's pull-secret provider reads from the API (src/registry/credentials/
 * pull-secrets.ts defines the interface): Secrets and ServiceAccounts by name, each call bounded by
 * a timeout. RBAC: get secrets and serviceaccounts.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { PullSecretSource } from '../registry/index.js';
import { withTimeout } from './with-timeout.js';

export function createPullSecretSource(kubeConfig: KubeConfig, timeoutMs = 3000): PullSecretSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const never = new AbortController().signal;
  return {
    readNamespacedSecret: (p) => withTimeout(api.readNamespacedSecret(p), timeoutMs, never),
    readNamespacedServiceAccount: (p) => withTimeout(api.readNamespacedServiceAccount(p), timeoutMs, never),
  };
}
