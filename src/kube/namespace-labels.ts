/**
 * Namespace labels for policies' label selectors. AdmissionReviews do not carry them, so imagegate
 * reads the Namespace (RBAC: get namespaces) and caches the labels briefly.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
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
  const cache = new Map<string, { at: number; labels: Promise<Record<string, string> | undefined> }>();
  return async (namespace, signal) => {
    const now = Date.now();
    const hit = cache.get(namespace);
    if (hit !== undefined && now - hit.at < TTL_MS) return hit.labels;
    const lookup = (async () => {
      try {
        const ns = await withTimeout(api.readNamespace({ name: namespace }), timeoutMs, signal);
        return ns.metadata?.labels ?? {};
      } catch (err) {
        // Unknown labels: selectors then apply (fail closed). Do not cache the failure.
        cache.delete(namespace);
        logger.warn({ namespace }, `cannot read namespace labels: ${errorMessage(err)}`);
        return undefined;
      }
    })();
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(namespace, { at: now, labels: lookup });
    return lookup;
  };
}
