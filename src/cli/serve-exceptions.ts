/**
 * ImagePolicyExceptions in `serve`: the gauges read at each scrape, and (with --watch-policies) the
 * cluster's exceptions watched like ImagePolicies, with Active / Expired / Invalid conditions. A
 * change of the policies in force re-delivers them: an exception naming a policy is Invalid until it
 * exists.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { IMAGE_POLICY_EXCEPTIONS, watchImagePolicies, type PolicyWatch } from '../kube/index.js';
import { DEFAULT_MAX_EXCEPTION_MS } from '../policy/exceptions.js';
import { clusterExceptionHandler, exceptionCounts } from '../policy/exception-store.js';
import type { Metrics } from '../server/metrics.js';
import type { Setup } from './setup.js';

export function serveExceptions(
  setup: Setup,
  metrics: Metrics,
  options: {
    logger: Logger;
    kubeConfig?: KubeConfig;
    watch: boolean;
    maxDurationMs?: number;
    signal: AbortSignal;
  },
): PolicyWatch | undefined {
  const { engine, store, exceptions } = setup;
  const now = engine.now ?? Date.now;
  const policyExists = (name: string): boolean => store.policies().some((p) => p.name === name);
  metrics.exceptionCounts.source = () => exceptionCounts(exceptions.all(), now(), policyExists);
  if (!options.watch || options.kubeConfig === undefined) return undefined;
  return watchImagePolicies({
    kubeConfig: options.kubeConfig,
    resource: IMAGE_POLICY_EXCEPTIONS,
    absentIsEmpty: true,
    onChange: clusterExceptionHandler(exceptions, {
      now,
      maxDurationMs: options.maxDurationMs ?? DEFAULT_MAX_EXCEPTION_MS,
      policyExists,
      logger: options.logger,
    }),
    log: options.logger,
    signal: options.signal,
  });
}
