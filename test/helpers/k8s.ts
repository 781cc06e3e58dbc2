/**
 * Loose typing for rendered Kubernetes objects in chart tests: the tests assert on deep paths of YAML
 * that no TypeScript type describes, and the assertions themselves are the type check.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;
