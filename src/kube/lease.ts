/**
 * Only one replica writes reports and audit Events: the holder of a `coordination.k8s.io/v1` Lease
 * in imagegate's namespace. `tryAcquire()` takes a free or expired lease, renews our own, and
 * reports whether we hold it; optimistic concurrency (resourceVersion) settles races between
 * replicas. RBAC: get/create/update on leases in imagegate's namespace.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { statusCode } from './status-code.js';
import { withTimeouts } from './with-timeout.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This replica's identity (serve: IMAGEGATE_POD_NAME or hostname, with the pid). */
  identity: string;
  /** How long a holder keeps the lease without renewing it. */
  durationSeconds: number;
  now?: () => Date;
}

export interface Lease {
  readonly identity: string;
  /** True when this replica holds the lease after the call. Never throws: API errors mean "not held". */
  tryAcquire(): Promise<boolean>;
  /** Gives the lease up (on shutdown), so another replica need not wait for it to expire. */
  release(): Promise<void>;
}

export function createLease(kubeConfig: KubeConfig, options: LeaseOptions): Lease {
  const api = withTimeouts(kubeConfig.makeApiClient(CoordinationV1Api));
  const now = options.now ?? (() => new Date());
  const { namespace, name, identity, durationSeconds } = options;

  const spec = (previous: V1Lease['spec'] | undefined, at: Date): V1Lease['spec'] => ({
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime:
      previous?.holderIdentity === identity && previous.acquireTime !== undefined
        ? new V1MicroTime(previous.acquireTime)
        : new V1MicroTime(at),
    renewTime: new V1MicroTime(at),
    leaseTransitions:
      (previous?.leaseTransitions ?? 0) +
      (previous !== undefined && previous.holderIdentity !== identity ? 1 : 0),
  });

  return {
    identity,
    async tryAcquire() {
      const at = now();
      try {
        let current: V1Lease;
        try {
          current = await api.readNamespacedLease({ name, namespace });
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
          await api.createNamespacedLease({
            namespace,
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name, namespace },
              spec: spec(undefined, at),
            },
          });
          return true;
        }
        const s = current.spec;
        const renewed = s?.renewTime !== undefined ? new Date(s.renewTime).getTime() : 0;
        const expired = renewed + (s?.leaseDurationSeconds ?? durationSeconds) * 1000 < at.getTime();
        const free = s?.holderIdentity === undefined || s.holderIdentity === '' || expired;
        if (s?.holderIdentity !== identity && !free) return false;
        await api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...current, spec: spec(s, at) },
        });
        return true;
      } catch {
        // 409: another replica won the race; anything else: we cannot prove we hold it.
        return false;
      }
    },
    async release() {
      // Asked of the API server, not of our last renewal's outcome: a renewal that failed or was cut
      // by the stop (its write may have landed) leaves the Lease naming us until it expires.
      try {
        const current = await api.readNamespacedLease({ name, namespace });
        if (current.spec?.holderIdentity !== identity) return;
        await api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
      } catch {
        // Expiry frees it anyway.
      }
    },
  };
}
