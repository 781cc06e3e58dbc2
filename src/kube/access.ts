/**
 * What the rest of imagegate receives from this folder: the small functions and interfaces the engine
 * needs (namespace labels, key secrets, pull credentials), built once from one client configuration.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KeySecretReader } from '../checks/signature/index.js';
import { createKeySecretReader, ownNamespace } from './key-secrets.js';
import { createNamespaceLabels, type NamespaceLabels } from './namespace-labels.js';
import type { PullSecretSource } from '../registry/index.js';
import { createPullSecretSource } from './pull-secrets.js';

/** What the engine reads from the API server, built once from one client configuration. */
export interface KubeAccess {
  readonly kubeConfig: KubeConfig;
  /** Labels of a namespace (get namespaces), cached briefly; undefined when unreadable. */
  readonly namespaceLabels: NamespaceLabels;
  /** Keys named by policies' `key.secretRef` (get secrets), default namespace: imagegate's own. */
  readonly keySecrets: KeySecretReader;
  /** Reads a pod's pull secrets for the registry's pull-secret provider (get secrets, serviceaccounts). */
  readonly pullSecretSource: PullSecretSource;
}

export function createKubeAccess(kubeConfig: KubeConfig, logger: Logger): KubeAccess {
  return {
    kubeConfig,
    namespaceLabels: createNamespaceLabels(kubeConfig, logger),
    keySecrets: createKeySecretReader(kubeConfig, ownNamespace()),
    pullSecretSource: createPullSecretSource(kubeConfig),
  };
}
