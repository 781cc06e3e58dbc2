/**
 * Kubernetes I/O has one home: this folder. The rest of imagegate receives the small functions and
 * interfaces built here (`createKubeAccess` in access.ts, the policy watch) and never imports
 * @kubernetes/client-node for more than its types. The chart's RBAC (templates/rbac.yaml) lists what these use.
 */
export { createKubeAccess, type KubeAccess } from './access.js';
export { hasKubeEnvironment, loadKubeConfig, type KubeConfigOptions } from './config.js';
export { KeyProbe, probeKeySecrets, secretRefsOf, type KeyProblem } from './key-probe.js';
export { ownNamespace } from './key-secrets.js';
export type { NamespaceLabels } from './namespace-labels.js';
export {
  IMAGE_POLICY_EXCEPTIONS,
  NAMESPACED_IMAGE_POLICIES,
  watchImagePolicies,
  type PolicyVerdict,
  type PolicyWatch,
  type WatchImagePoliciesOptions,
} from './policy-watch.js';
