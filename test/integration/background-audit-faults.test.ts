/**
 * The background audit survives faults (issue 20, property 7), against the Kubernetes API stand-in:
 * a report over the API server's size limit (413) is written trimmed, with a note; a namespace whose
 * report cannot be written does not stop the others' and shows in `degraded`; a run stuck on a hung
 * API call is abandoned by the watchdog, shown in `degraded`, and the next run completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackgroundAudit, type BackgroundAudit } from '../../src/cluster/background.js';
import type { Setup } from '../../src/cli/setup.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createLease } from '../../src/kube/lease.js';
import { createClusterLister } from '../../src/kube/list.js';
import { createReportWriter, TRIMMED_ANNOTATION } from '../../src/kube/reports.js';
import { REPORT_KINDS, toPolicyReports } from '../../src/report/policy-report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster-fixture.js';
import { buildEngine } from '../helpers/engine.js';
import { POLICY_REPORTS } from '../helpers/kube-api.js';
import { silentLog as silent } from '../helpers/silent-log.js';

const REPORTS = '/apis/wgpolicyk8s.io/v1alpha2/namespaces';

describe('background audit under API faults', () => {
  let cluster: TestCluster;
  let setup: Setup;
  let audit: BackgroundAudit;

  beforeAll(async () => {
    cluster = await startTestCluster(POLICY_REPORTS);
    setup = await buildEngine({ policy: [cluster.policyFile], insecureRegistry: [cluster.registry.host] });
    const kc = loadKubeConfig({ file: cluster.api.kubeconfigPath })!;
    audit = startBackgroundAudit({
      engine: setup.engine,
      lister: createClusterLister(kc),
      lease: createLease(kc, {
        namespace: 'imagegate',
        name: 'imagegate-audit',
        identity: 'a',
        durationSeconds: 60,
      }),
      reports: createReportWriter(kc, REPORT_KINDS.policyreports, { attempts: 1 }),
      toReports: (report) => toPolicyReports(report, 'policyreports'),
      intervalMs: 3_600_000, // runs are explicit
      initialDelayMs: 3_600_000,
      maxRunMs: 2_000,
      log: silent,
    });
  }, 120_000);
  afterAll(async () => {
    await audit?.stop();
    await setup?.registry.close();
    await cluster?.stop();
  });

  it('writes the other namespaces when one report is refused, trims one over the size limit, and says which failed', async () => {
    // shop: the first write of its report is over the limit (413), the trimmed one fits.
    cluster.api.faults.push({ path: `${REPORTS}/shop/policyreports`, method: 'POST', status: 413, times: 1 });
    // batch: every write fails.
    cluster.api.faults.push({
      path: `${REPORTS}/batch/policyreports`,
      method: 'POST',
      status: 500,
      times: 1000,
    });
    await audit.runOnce();

    const written = cluster.api
      .objects('policyreports')
      .map((r) => r.metadata.namespace)
      .sort();
    expect(written).toEqual(['infra', 'kube-system', 'shop']);
    const shop = cluster.api.objects('policyreports', 'shop')[0]!;
    expect(shop.metadata.annotations?.[TRIMMED_ANNOTATION]).toMatch(
      /^\d+ of \d+ results: the whole report is over/,
    );
    expect(audit.degraded).toMatch(/^reports not written for 1 namespace\(s\): batch: /);

    cluster.api.faults.splice(0); // batch recovers on the next run
    await audit.runOnce();
    expect(
      cluster.api
        .objects('policyreports')
        .map((r) => r.metadata.namespace)
        .sort(),
    ).toEqual(['batch', 'infra', 'kube-system', 'shop']);
    expect(audit.degraded).toBeUndefined();
  });

  it('abandons a run stuck on a hung API call, shows it in degraded, and completes the next run', async () => {
    cluster.api.faults.push({ path: '/api/v1/pods', method: 'GET', status: 0, times: 1, hang: true });
    const before = audit.lastReport;
    await audit.runOnce();
    expect(audit.lastReport).toBe(before); // the stuck run produced nothing
    expect(audit.degraded).toMatch(/a run was still going after 2 s \(a hung API call\?\): abandoned/);
    await audit.runOnce();
    expect(audit.degraded).toBeUndefined();
    expect(audit.lastReport).not.toBe(before);
    expect(audit.lastReport?.summary.workloads).toBe(before?.summary.workloads);
  });
});
