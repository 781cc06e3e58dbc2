/** Shared by the chart suites: the default render, a fully-enabled set of flags, and accessors. */
import { exampleValuesFiles } from '../../scripts/render-manifests.js';
import { helmTemplate, type Rendered } from './helm.js';
import type { K8sObject } from './k8s.js';

export const EXAMPLES = exampleValuesFiles();
export const FULL = [
  '--set',
  'mutating.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true,registry.pullSecrets.enabled=true',
  '--set',
  'rbac.secretNamespaces={keys}',
  '--set-string',
  'tls.clientCA.pem=PEM',
  '--set',
  'registry.config.requestTimeout=5s',
  '--set-json',
  'trustedRoots.roots={"private":"{}"}',
];

/** The chart rendered with its defaults (once per test file). */
export const defaults = helmTemplate();
export const webhook = (r: Rendered, kind = 'ValidatingWebhookConfiguration') =>
  r.one(kind).webhooks[0] as K8sObject;
export const container = (r: Rendered) => r.one('Deployment').spec.template.spec.containers[0] as K8sObject;
export const args = (r: Rendered) => container(r).args as string[];
