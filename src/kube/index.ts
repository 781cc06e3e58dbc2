/**
 * Kubernetes I/O has one home: this folder. The rest of imagegate receives the small functions and
 * interfaces built here (namespace labels, key secrets, pull credentials, the policy watch) and never
 * imports @kubernetes/client-node itself. The chart's RBAC (templates/rbac.yaml) lists what these use.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KeySecretReader } from '../checks/signature/index.js';
import { createKeySecretReader, ownNamespace } from './key-secrets.js';
import { createNamespaceLabels, type NamespaceLabels } from './namespace-labels.js';
import type { PullSecretSource } from '../registry/index.js';
import { createPullSecretSource } from './pull-secrets.js';

export { hasKubeEnvironment, loadKubeConfig, type KubeConfigOptions } from './config.js';
export { KeyProbe, probeKeySecrets, secretRefsOf, type KeyProblem } from './key-probe.js';
export { ownNamespace } from './key-secrets.js';
export type { NamespaceLabels } from './namespace-labels.js';
export {
  watchImagePolicies,
  type PolicyVerdict,
  type PolicyWatch,
  type WatchImagePoliciesOptions,
} from './policy-watch.js';

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
