/**
 * Namespace labels for policies' label selectors. AdmissionReviews do not carry them, so imagegate
 * reads the Namespace (RBAC: get namespaces) and caches the labels briefly.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { cachedReads } from './cached-read.js';
import { withTimeout } from './with-timeout.js';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export type NamespaceLabels = (
  namespace: string,
  signal: AbortSignal,
) => Promise<Record<string, string> | undefined>;

export function createNamespaceLabels(
  kubeConfig: KubeConfig,
  logger: Logger,
  timeoutMs = 2000,
): NamespaceLabels {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const readLabels = cachedReads<Record<string, string> | undefined>(MAX_ENTRIES, TTL_MS);
  return (namespace, signal) =>
    readLabels(
      namespace,
      () =>
        withTimeout(api.readNamespace({ name: namespace }), timeoutMs, signal).then(
          (ns) => ns.metadata?.labels ?? {},
        ),
      (err) => {
        // Unknown labels: selectors then apply (fail closed). The failure is not cached.
        logger.warn({ namespace }, `cannot read namespace labels: ${errorMessage(err)}`);
        return undefined;
      },
    );
}
