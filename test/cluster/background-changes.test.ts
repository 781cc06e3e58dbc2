/**
 * Reports and Events follow the workloads from run to run of the background audit, against the real
 * API server: a workload fixed loses its failing result, a deleted one loses its results, and a
 * namespace deleted while its report is written (held Terminating by a pod's finalizer, its report
 * gone, so creating it meets the API server's refusal) fails neither that run nor the next one.
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

const RELEASE = 'igchg';
const NS = 'imagegate-changes';
const APPS = 'apps-changes';
const DOOMED = 'apps-doomed';
const WROTE = 'background audit: reports written';
const HOLD = 'imagegate.test/hold';

async function report(namespace: string): Promise<K8sObject | undefined> {
  const r = await kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', namespace, '-o', 'json']);
  return r.status === 0 ? ((JSON.parse(r.stdout) as K8sObject).items as K8sObject[])[0] : undefined;
}

/** Results of the report in `namespace` naming the pod `name`. */
const resultsOf = (rep: K8sObject | undefined, name: string): K8sObject[] =>
  ((rep?.results ?? []) as K8sObject[]).filter((r) =>
    ((r.resources ?? []) as K8sObject[]).some((o) => o.name === name),
  );

describe.skipIf(NO_CLUSTER)('background reports and Events as workloads change in a real API server', () => {
  let images: ClusterImages;
  let serve: ChartServe;
  const runs = (): Array<Record<string, unknown>> => serve.lines().filter((l) => l.msg === WROTE);
  /** Waits for the run after the `seen`th to finish writing; returns its log line. */
  const nextRun = (seen: number): Promise<Record<string, unknown>> =>
    eventually(`background audit run ${seen + 1}`, async () => runs()[seen], 100_000);

  beforeAll(async () => {
    images = await startClusterImages();
    await createNamespace(APPS);
    await createNamespace(DOOMED);
    for (const name of ['fixme', 'gone'])
      await kubectlOk(['create', '-f', '-'], podManifest(name, APPS, images.auditBig));
    await kubectlOk(['create', '-f', '-'], podManifest('small', APPS, images.small));
    const held = JSON.parse(podManifest('held', DOOMED, images.auditBig)) as K8sObject;
    held.metadata.finalizers = [HOLD];
    await kubectlOk(['create', '-f', '-'], JSON.stringify(held));
    serve = await installChartServe({
      release: RELEASE,
      namespace: NS,
      values: [
        '--set',
        'mode=audit,events.enabled=true,backgroundAudit.enabled=true,backgroundAudit.interval=1m,reports.installCRDs=true',
        ...images.values,
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await kubectl([
      'patch',
      'pod',
      'held',
      '-n',
      DOOMED,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    await serve?.close();
    await kubectl(['delete', 'namespace', APPS, DOOMED, '--wait=false']);
    await kubectl(['delete', 'crd', 'policyreports.wgpolicyk8s.io', '--ignore-not-found']);
    await images?.stop();
  });

  it('first run: failing results and a Warning Event for each would-deny pod', async () => {
    await nextRun(0);
    const apps = await report(APPS);
    for (const name of ['fixme', 'gone'])
      expect(resultsOf(apps, name).map((r) => r.result)).toContain('fail');
    expect(resultsOf(apps, 'small').map((r) => r.result)).not.toContain('fail');
    expect(resultsOf(await report(DOOMED), 'held').map((r) => r.result)).toContain('fail');
    const events = await getJson(['get', 'events', '-n', APPS, '--field-selector', 'type=Warning']);
    const about = (events.items as K8sObject[]).map((e) => e.involvedObject.name as string);
    expect(about).toEqual(expect.arrayContaining(['fixme', 'gone']));
  }, 120_000);

  it('next runs: a fixed pod loses its failing result, a deleted one its results; a namespace deleted mid-write breaks nothing', async () => {
    const seen = runs().length;
    await kubectlOk(['set', 'image', 'pod/fixme', '-n', APPS, `app=${images.small}`]);
    await kubectlOk(['delete', 'pod', 'gone', '-n', APPS, '--wait=false']);
    await kubectlOk(['delete', 'namespace', DOOMED, '--wait=false']);
    // The namespace controller removes its report (we do it now, so the next run must create it while
    // the pod holds the namespace Terminating: the API server refuses new content there).
    await kubectlOk(['delete', 'policyreports.wgpolicyk8s.io', 'imagegate', '-n', DOOMED]);
    expect((await getJson(['get', 'namespace', DOOMED])).status.phase).toBe('Terminating');
    const second = await nextRun(seen);
    const apps = await report(APPS);
    expect(resultsOf(apps, 'fixme').length).toBeGreaterThan(0);
    expect(resultsOf(apps, 'fixme').map((r) => r.result)).not.toContain('fail');
    expect(resultsOf(apps, 'gone')).toEqual([]);
    expect(second.failed).toBe(0);
    // The namespace goes; the run after that is whole and the report of the namespace is gone.
    await kubectlOk([
      'patch',
      'pod',
      'held',
      '-n',
      DOOMED,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    const third = await nextRun(seen + 1);
    expect(third.failed).toBe(0);
    expect(await report(DOOMED)).toBeUndefined();
    expect(resultsOf(await report(APPS), 'fixme').map((r) => r.result)).not.toContain('fail');
  }, 240_000);

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await serve.forbidden()).toEqual([]);
  });
});
