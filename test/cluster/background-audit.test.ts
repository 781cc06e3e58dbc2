/**
 * The background audit against the real API server: pods that ran before imagegate was installed,
 * a PolicyReport (the upstream wgpolicyk8s.io CRD the chart ships, reports.installCRDs) written for
 * their namespace by the holder of the real Lease, all through the chart's RBAC (no 403).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installChartServe, type ChartServe } from '../helpers/chart-serve.js';
import { podManifest, startClusterImages, type ClusterImages } from '../helpers/cluster-images.js';
import type { K8sObject } from '../helpers/k8s.js';
import {
  createNamespace,
  eventually,
  getJson,
  kubectl,
  kubectlOk,
  NO_CLUSTER,
} from '../helpers/kube-cluster.js';

const RELEASE = 'igbg';
const NS = 'imagegate-background';
const APPS = 'apps-background';

describe.skipIf(NO_CLUSTER)('the background audit in a real API server', () => {
  let images: ClusterImages;
  let serve: ChartServe;

  beforeAll(async () => {
    images = await startClusterImages();
    // Workloads that already run when imagegate arrives (no webhook reviewed them).
    await createNamespace(APPS);
    await kubectlOk(['create', '-f', '-'], podManifest('small', APPS, images.small));
    await kubectlOk(['create', '-f', '-'], podManifest('audit-big', APPS, images.auditBig));
    serve = await installChartServe({
      release: RELEASE,
      namespace: NS,
      values: [
        '--set',
        'mode=audit,backgroundAudit.enabled=true,backgroundAudit.interval=1m,reports.installCRDs=true',
        ...images.values,
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await serve?.close();
    await kubectl(['delete', 'crd', 'policyreports.wgpolicyk8s.io', '--ignore-not-found']);
    await images?.stop();
  });

  it('writes a PolicyReport for the namespace, failing the image that is too big', async () => {
    const report = await eventually(
      'the PolicyReport of the apps namespace',
      async () => {
        const r = await kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', APPS, '-o', 'json']);
        const items = r.status === 0 ? ((JSON.parse(r.stdout) as K8sObject).items as K8sObject[]) : [];
        return items[0];
      },
      60_000,
    );
    const results = report.results as K8sObject[];
    expect(results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(images.auditBig))).toBe(
      true,
    );
    expect(results.some((r) => r.result === 'fail' && JSON.stringify(r).includes(images.small))).toBe(false);
  }, 90_000);

  it('holds the Lease in the release namespace', async () => {
    const lease = await getJson(['get', 'lease', 'imagegate-audit', '-n', NS]);
    expect(lease.spec.holderIdentity).toMatch(new RegExp(`^${RELEASE}-host_`));
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await serve.forbidden()).toEqual([]);
  });
});
