/**
 * The set-up every cluster suite that admits pods shares: the test images in a registry on loopback,
 * the chart installed in enforce mode with `imagegate serve` on this host (chart-serve.ts), and the
 * namespace the suite creates its workloads in. Read `images` and `serve` inside tests and hooks only.
 */
import { afterAll, beforeAll } from 'vitest';
import { installChartServe, type ChartServe } from './chart-serve.js';
import { startClusterImages, type ClusterImages } from './cluster-images.js';
import type { K8sObject } from './k8s.js';
import { createNamespace, kubectl, kubectlOk } from './kube-cluster.js';

export interface EnforcingChart {
  images: ClusterImages;
  serve: ChartServe;
}

export function useEnforcingChart(options: {
  release: string;
  namespace: string;
  /** The namespace the suite's workloads go to. */
  apps: string;
  /** `stop` leaves the release installed, for a suite that uninstalls it in a test of its own. */
  teardown?: 'close' | 'stop';
}): EnforcingChart {
  const world: Partial<EnforcingChart> = {};
  beforeAll(async () => {
    world.images = await startClusterImages();
    world.serve = await installChartServe({
      release: options.release,
      namespace: options.namespace,
      values: ['--set', 'mode=enforce', ...world.images.values],
    });
    await createNamespace(options.apps);
  }, 180_000);
  afterAll(async () => {
    await (options.teardown === 'stop' ? world.serve?.stop() : world.serve?.close());
    await world.images?.stop();
  });
  return world as EnforcingChart;
}

/**
 * The set-up of the background-audit suites: the test images, workloads that already run when
 * imagegate arrives (`workloads`, in `apps`, created before the chart), and the chart installed in
 * audit mode with the background audit every minute and the PolicyReport CRD (`set` adds values).
 * Afterwards: the release closed, `cleanup` namespaces deleted, the CRD deleted, the images stopped.
 */
export function useBackgroundAuditChart(options: {
  release: string;
  namespace: string;
  apps: string;
  set?: string;
  workloads: (images: ClusterImages) => Promise<void>;
  cleanup?: string[];
  /** The report CRD the chart installs (reports.kind): deleted afterwards. */
  reportCrd?: string;
}): EnforcingChart {
  const world: Partial<EnforcingChart> = {};
  beforeAll(async () => {
    const images = await startClusterImages();
    world.images = images;
    await createNamespace(options.apps);
    await options.workloads(images);
    const set =
      'mode=audit,backgroundAudit.enabled=true,backgroundAudit.interval=1m,reports.installCRDs=true';
    world.serve = await installChartServe({
      release: options.release,
      namespace: options.namespace,
      values: ['--set', options.set !== undefined ? `${set},${options.set}` : set, ...images.values],
    });
  }, 180_000);
  afterAll(async () => {
    await world.serve?.close();
    if (options.cleanup !== undefined)
      await kubectl(['delete', 'namespace', ...options.cleanup, '--wait=false']);
    await kubectl(['delete', 'crd', options.reportCrd ?? POLICY_REPORTS, '--ignore-not-found']);
    await world.images?.stop();
  });
  return world as EnforcingChart;
}

const POLICY_REPORTS = 'policyreports.wgpolicyk8s.io';

/** The report (a PolicyReport unless `resource` says otherwise) imagegate wrote in `namespace`, if any. */
export async function policyReport(
  namespace: string,
  resource = POLICY_REPORTS,
): Promise<K8sObject | undefined> {
  const r = await kubectl(['get', resource, '-n', namespace, '-o', 'json']);
  return r.status === 0 ? ((JSON.parse(r.stdout) as K8sObject).items as K8sObject[])[0] : undefined;
}

/** Creates `pod` (a podManifest) in the cluster. */
export async function createPod(manifest: string): Promise<void> {
  await kubectlOk(['create', '-f', '-'], manifest);
}
