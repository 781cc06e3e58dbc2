/**
 * The background audit against the real API server: pods that ran before imagegate was installed,
 * a report written for their namespace by the holder of the real Lease, all through the chart's RBAC
 * (no 403). Once per report kind the chart offers (reports.kind), each with the upstream CRD the chart
 * ships (reports.installCRDs): wgpolicyk8s.io PolicyReport (kubernetes-sigs/wg-policy-prototypes) and
 * openreports.io Report (openreports/reports-api), both named in charts/imagegate/templates/report-crd.yaml.
 */
import { describe, expect, it } from 'vitest';
import { podManifest } from '../helpers/cluster-images.js';
import { createPod, policyReport, useBackgroundAuditChart } from '../helpers/cluster-suite.js';
import type { K8sObject } from '../helpers/k8s.js';
import { eventually, getJson, NO_CLUSTER } from '../helpers/kube-cluster.js';

const FLAVOURS = [
  {
    kind: 'policyreports',
    resource: 'policyreports.wgpolicyk8s.io',
    release: 'igbg',
    namespace: 'imagegate-background',
    apps: 'apps-background',
  },
  {
    kind: 'openreports',
    resource: 'reports.openreports.io',
    release: 'igor',
    namespace: 'imagegate-openreports',
    apps: 'apps-openreports',
  },
] as const;

describe.skipIf(NO_CLUSTER).each(FLAVOURS)('the background audit in a real API server ($kind)', (flavour) => {
  const { release: RELEASE, namespace: NS, apps: APPS, resource } = flavour;
  const chart = useBackgroundAuditChart({
    release: RELEASE,
    namespace: NS,
    apps: APPS,
    set: `reports.kind=${flavour.kind}`,
    reportCrd: resource,
    // Workloads that already run when imagegate arrives (no webhook reviewed them).
    workloads: async (images) => {
      await createPod(podManifest('small', APPS, images.small));
      await createPod(podManifest('audit-big', APPS, images.auditBig));
    },
  });

  it('writes a report for the namespace, failing the image that is too big', async () => {
    const report = await eventually(
      `the ${resource} of the apps namespace`,
      () => policyReport(APPS, resource),
      60_000,
    );
    const results = report.results as K8sObject[];
    expect(
      results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(chart.images.auditBig)),
    ).toBe(true);
    expect(results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(chart.images.small))).toBe(
      false,
    );
    // The field Policy Reporter groups openreports results by; PolicyReports carry it in `source` too.
    expect(new Set(results.map((r) => r.source))).toEqual(new Set(['imagegate']));
    // An openreports Report also names its source at the top (kept by the upstream CRD's schema).
    if (flavour.kind === 'openreports') expect(report.source).toBe('imagegate');
  }, 90_000);

  it('holds the Lease in the release namespace', async () => {
    const lease = await getJson(['get', 'lease', 'imagegate-audit', '-n', NS]);
    expect(lease.spec.holderIdentity).toMatch(new RegExp(`^${RELEASE}-host_`));
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await chart.serve.forbidden()).toEqual([]);
  });
});
