/**
 * Two `serve` replicas of one install share the real Lease: only the holder writes reports (the
 * other logs that another replica holds it); when the holder stops (SIGTERM releases the Lease), the
 * other takes over on its next run and writes them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServeReplica } from '../helpers/chart-serve.js';
import { podManifest } from '../helpers/cluster-images.js';
import { createPod, policyReport, useBackgroundAuditChart } from '../helpers/cluster-suite.js';
import type { K8sObject } from '../helpers/k8s.js';
import { eventually, getJson, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igrep';
const NS = 'imagegate-replicas';
const APPS = 'apps-replicas';
const WROTE = 'background audit: reports written';
const DECLINED = 'background audit: another replica holds the lease';

type Replica = Pick<ServeReplica, 'podName' | 'lines' | 'stop'>;
const logged = (r: Replica, msg: string): number => r.lines().filter((l) => l.msg === msg).length;

async function holderIdentity(): Promise<string> {
  const lease = await getJson(['get', 'lease', 'imagegate-audit', '-n', NS]);
  return (lease.spec.holderIdentity as string | undefined) ?? '';
}

describe.skipIf(NO_CLUSTER)('two serve replicas sharing the Lease in a real API server', () => {
  const chart = useBackgroundAuditChart({
    release: RELEASE,
    namespace: NS,
    apps: APPS,
    set: 'logLevel=debug',
    workloads: (images) => createPod(podManifest('audit-big', APPS, images.auditBig)),
    cleanup: [APPS],
  });
  let replicas: Replica[];

  beforeAll(async () => {
    const { serve } = chart;
    const second = await serve.replica(`${RELEASE}-second`);
    replicas = [{ podName: `${RELEASE}-host`, lines: serve.lines, stop: serve.stop }, second];
  }, 180_000);

  const byHolder = async (): Promise<{ holder: Replica; other: Replica }> => {
    const identity = await holderIdentity();
    const holder = replicas.find((r) => identity.startsWith(`${r.podName}_`));
    if (holder === undefined) throw new Error(`the Lease is held by ${JSON.stringify(identity)}`);
    return { holder, other: replicas.find((r) => r !== holder)! };
  };

  it('only the holder of the Lease writes reports; the other declines', async () => {
    // Both replicas have had their first run: one wrote, the other found the Lease taken.
    await eventually(
      'one replica writing reports and the other declining',
      async () => {
        const wrote = replicas.filter((r) => logged(r, WROTE) > 0);
        const declined = replicas.filter((r) => logged(r, DECLINED) > 0);
        return wrote.length === 1 && declined.length === 1 && wrote[0] !== declined[0] ? true : undefined;
      },
      60_000,
    );
    const { holder, other } = await byHolder();
    expect(logged(holder, WROTE)).toBeGreaterThan(0);
    expect(logged(other, WROTE)).toBe(0);
    const results = ((await policyReport(APPS))?.results ?? []) as K8sObject[];
    expect(
      results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(chart.images.auditBig)),
    ).toBe(true);
  }, 90_000);

  it('when the holder stops, the other replica takes the Lease and writes the reports', async () => {
    const { holder, other } = await byHolder();
    await holder.stop();
    // The holder released the Lease on SIGTERM; the other takes it on its next run (within the interval).
    await eventually(
      `${other.podName} writing reports`,
      async () => (logged(other, WROTE) > 0 ? true : undefined),
      100_000,
    );
    expect(await holderIdentity()).toMatch(new RegExp(`^${other.podName}_`));
    const lease = await getJson(['get', 'lease', 'imagegate-audit', '-n', NS]);
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('neither replica made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await chart.serve.forbidden()).toEqual([]);
  });
});
