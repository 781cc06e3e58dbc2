/**
 * The background audit against the real API server: pods that ran before imagegate was installed,
 * a PolicyReport (the upstream wgpolicyk8s.io CRD the chart ships, reports.installCRDs) written for
 * their namespace by the holder of the real Lease, all through the chart's RBAC (no 403).
 */
import { describe, expect, it } from 'vitest';
import { podManifest } from '../helpers/cluster-images.js';
import { createPod, policyReport, useBackgroundAuditChart } from '../helpers/cluster-suite.js';
import type { K8sObject } from '../helpers/k8s.js';
import { eventually, getJson, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igbg';
const NS = 'imagegate-background';
const APPS = 'apps-background';

describe.skipIf(NO_CLUSTER)('the background audit in a real API server', () => {
  const chart = useBackgroundAuditChart({
    release: RELEASE,
    namespace: NS,
    apps: APPS,
    // Workloads that already run when imagegate arrives (no webhook reviewed them).
    workloads: async (images) => {
      await createPod(podManifest('small', APPS, images.small));
      await createPod(podManifest('audit-big', APPS, images.auditBig));
    },
  });

  it('writes a PolicyReport for the namespace, failing the image that is too big', async () => {
    const report = await eventually(
      'the PolicyReport of the apps namespace',
      () => policyReport(APPS),
      60_000,
    );
    const results = report.results as K8sObject[];
    expect(
      results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(chart.images.auditBig)),
    ).toBe(true);
    expect(results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(chart.images.small))).toBe(
      false,
    );
  }, 90_000);

  it('holds the Lease in the release namespace', async () => {
    const lease = await getJson(['get', 'lease', 'imagegate-audit', '-n', NS]);
    expect(lease.spec.holderIdentity).toMatch(new RegExp(`^${RELEASE}-host_`));
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await chart.serve.forbidden()).toEqual([]);
  });
});
