/**
 * The background audit's Lease against the Kubernetes API stand-in: a replica stopping releases the
 * Lease the API server says it holds, even when its last renewal failed (its own `held` flag then
 * says "not held" while the Lease still names it, and the other replica would wait for expiry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createLease } from '../../src/kube/lease.js';
import { KubeApiStandIn } from '../helpers/kube-api.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/imagegate/leases';

describe('Lease release', () => {
  const api = new KubeApiStandIn();
  beforeAll(() => api.start());
  afterAll(() => api.close());
  const lease = (identity: string) =>
    createLease(loadKubeConfig({ file: api.kubeconfigPath })!, {
      namespace: 'imagegate',
      name: 'release-test',
      identity,
      durationSeconds: 60,
    });
  const holder = () =>
    api.objects('leases', 'imagegate').find((l) => l.metadata.name === 'release-test')?.spec?.holderIdentity;

  it('clears the holder after a failed renewal, and never clears another replica’s hold', async () => {
    const a = lease('a');
    expect(await a.tryAcquire()).toBe(true);
    api.faults.push({ path: LEASES, method: 'PUT', status: 500, times: 1 });
    expect(await a.tryAcquire()).toBe(false); // the renewal failed: not provably held
    expect(holder()).toBe('a'); // yet the API server still names a
    await a.release();
    expect(holder()).toBe('');

    const b = lease('b');
    expect(await b.tryAcquire()).toBe(true);
    await lease('a').release(); // a replica that does not hold it leaves it alone
    expect(holder()).toBe('b');
  });
});
