/**
 * The background audit against the Kubernetes API stand-in: two replicas share one Lease and only
 * the holder writes; PolicyReports (and openreports Reports) checked against their CRDs' OpenAPI
 * schemas; updated in place; stale results and reports removed; Events once per new would-deny
 * workload; an absent CRD degrades, then recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startBackgroundAudit,
  type BackgroundAudit,
  type BackgroundAuditLog,
} from '../../src/cluster/background.js';
import type { Setup } from '../../src/cli/setup.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createEventRecorder } from '../../src/kube/events.js';
import { createLease } from '../../src/kube/lease.js';
import { createClusterLister } from '../../src/kube/list.js';
import { createReportWriter } from '../../src/kube/reports.js';
import { REPORT_KINDS, toPolicyReports, type ReportFlavor } from '../../src/report/policy-report.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster-fixture.js';
import { crdValidator } from '../helpers/crd-schema.js';
import { buildEngine } from '../helpers/engine.js';
import type { K8sObject } from '../helpers/k8s.js';
import { OPEN_REPORTS, POLICY_REPORTS } from '../helpers/kube-api.js';

function recordingLog(): BackgroundAuditLog & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_: object, msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('background audit', () => {
  let cluster: TestCluster;
  let setup: Setup;
  const replicas: BackgroundAudit[] = [];

  function replica(identity: string, flavor: ReportFlavor = 'policyreports') {
    const kc = loadKubeConfig({ file: cluster.api.kubeconfigPath })!;
    const log = recordingLog();
    const events = createEventRecorder(kc, { instance: identity });
    const audit = startBackgroundAudit({
      engine: setup.engine,
      lister: createClusterLister(kc),
      lease: createLease(kc, {
        namespace: 'imagegate',
        name: 'imagegate-audit',
        identity,
        durationSeconds: 60,
      }),
      reports: createReportWriter(kc, REPORT_KINDS[flavor], { initialMs: 10 }),
      toReports: (report) => toPolicyReports(report, flavor),
      events,
      intervalMs: 3_600_000, // the loop never fires in the test: runs are explicit
      initialDelayMs: 3_600_000,
      log,
    });
    replicas.push(audit);
    return { audit, log, events };
  }

  const writes = (plural: string) =>
    cluster.api.requests.filter((r) => r.path.includes(`/${plural}`) && r.method !== 'GET');
  const report = (ns: string): K8sObject | undefined =>
    cluster.api.objects('policyreports', ns).find((r) => r.metadata.name === 'imagegate');

  beforeAll(async () => {
    cluster = await startTestCluster(POLICY_REPORTS);
    setup = await buildEngine({ policy: [cluster.policyFile], insecureRegistry: [cluster.registry.host] });
  }, 120_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await setup?.registry.close();
    await cluster?.stop();
  });

  describe('with two replicas', () => {
    let a: ReturnType<typeof replica>;
    let b: ReturnType<typeof replica>;
    beforeAll(async () => {
      a = replica('imagegate-a');
      b = replica('imagegate-b');
      await a.audit.runOnce();
      await a.events.flush();
    });

    it('lets only the Lease holder write reports', async () => {
      const lease = cluster.api.objects('leases', 'imagegate')[0];
      expect(lease?.spec).toMatchObject({ holderIdentity: 'imagegate-a', leaseDurationSeconds: 60 });
      expect(lease?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // MicroTime
      const before = writes('policyreports').length;
      await b.audit.runOnce();
      expect(writes('policyreports').length).toBe(before);
      expect(b.audit.lastReport).toBeUndefined();
    });

    it('writes one PolicyReport per namespace that the CRD schema accepts', () => {
      const validate = crdValidator('policyreport-v1alpha2.schema.json');
      const reports = cluster.api.objects('policyreports');
      expect(reports.map((r) => r.metadata.namespace).sort()).toEqual([
        'batch',
        'infra',
        'kube-system',
        'shop',
      ]);
      for (const r of reports) {
        expect(validate(r)).toEqual([]);
        expect(r.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'imagegate' });
      }
    });

    it('has a result per workload, image, policy and check, with the workload as resource', () => {
      const shop = report('shop')!;
      const api = shop.results.find(
        (r: K8sObject) => r.resources[0].kind === 'Deployment' && r.resources[0].name === 'api',
      );
      expect(api).toMatchObject({
        source: 'imagegate',
        policy: 'signed',
        rule: 'signature',
        result: 'fail',
        resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', namespace: 'shop' }],
        properties: { container: 'api', admission: 'deny', mode: 'enforce' },
      });
      expect(api.timestamp.seconds).toBeGreaterThan(1_700_000_000);
      expect(shop.summary).toEqual({ pass: 2, fail: 2, warn: 0, error: 0, skip: 0 });
      expect(report('kube-system')!.results[0]).toMatchObject({ rule: 'unmatched', result: 'skip' });
    });

    it('sends one Warning Event per would-deny workload, on the top-level workload', async () => {
      const events = cluster.api.objects('events');
      expect(events).toHaveLength(6);
      const api = events.find((e) => e.involvedObject.name === 'api')!;
      expect(api).toMatchObject({
        type: 'Warning',
        reason: 'ImagePolicyViolation',
        involvedObject: { kind: 'Deployment', name: 'api', namespace: 'shop', apiVersion: 'apps/v1' },
        reportingInstance: 'imagegate-a',
        count: 1,
      });
      expect(api.message).toMatch(/^would be denied at admission: api: denied by signed: /);
      const db = events.find((e) => e.involvedObject.name === 'db')!;
      expect(db.message).toMatch(/^would be denied once its policies enforce: db: would be denied by small/);
      // Unchanged on the next run: no new Events.
      await a.audit.runOnce();
      await a.events.flush();
      expect(cluster.api.objects('events')).toHaveLength(6);
    });

    it('updates reports in place and removes stale results and reports', async () => {
      const uid = report('shop')!.metadata.uid;
      for (const [plural, name] of [
        ['deployments', 'api'],
        ['replicasets', 'api-66d8f7c5b4'],
        ['pods', 'api-66d8f7c5b4-m3n7t'],
      ] as const)
        cluster.api.remove(plural, 'shop', name);
      for (const [plural, name] of [
        ['cronjobs', 'nightly'],
        ['cronjobs', 'weekly'],
        ['jobs', 'nightly-29410000'],
        ['jobs', 'migrate'],
        ['pods', 'nightly-29410000-5hj2k'],
        ['pods', 'migrate-7xk2q'],
      ] as const)
        cluster.api.remove(plural, 'batch', name);
      await a.audit.runOnce();
      const shop = report('shop')!;
      expect(shop.metadata.uid).toBe(uid);
      expect(shop.results.some((r: K8sObject) => r.resources[0].name === 'api')).toBe(false);
      expect(shop.summary.fail).toBe(1);
      expect(report('batch')).toBeUndefined();
      expect(
        writes('policyreports')
          .filter((r) => r.method === 'DELETE')
          .map((r) => r.path),
      ).toEqual(['/apis/wgpolicyk8s.io/v1alpha2/namespaces/batch/policyreports/imagegate']);
    });

    it('hands over when the holder stops', async () => {
      await a.audit.stop();
      await b.audit.runOnce();
      expect(cluster.api.objects('leases', 'imagegate')[0]?.spec).toMatchObject({
        holderIdentity: 'imagegate-b',
        leaseTransitions: 1,
      });
      expect(b.audit.lastReport?.summary.workloads).toBe(6);
    });
  });

  describe('when the report CRD is absent', () => {
    it('says so once, shows degraded, keeps going, and recovers when the CRD arrives', async () => {
      // Only one replica may hold the lease: stop the others first.
      for (const r of replicas) await r.stop();
      const c = replica('imagegate-c', 'openreports');
      await c.audit.runOnce();
      await c.audit.runOnce();
      expect(c.audit.degraded).toMatch(
        /the Report kind \(reports\.openreports\.io\/v1alpha1\) is not served; install its CRD/,
      );
      expect(c.log.lines.filter((l) => l.level === 'error')).toHaveLength(1);
      expect(c.audit.lastReport?.summary.workloads).toBe(6);

      cluster.api.install(OPEN_REPORTS);
      await c.audit.runOnce();
      expect(c.audit.degraded).toBeUndefined();
      const validate = crdValidator('openreports-report-v1alpha1.schema.json');
      const reports = cluster.api.objects('reports');
      expect(reports).toHaveLength(3);
      for (const r of reports) {
        expect(r).toMatchObject({
          apiVersion: 'openreports.io/v1alpha1',
          kind: 'Report',
          source: 'imagegate',
        });
        expect(validate(r)).toEqual([]);
      }
    });
  });
});
