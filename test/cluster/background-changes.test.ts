/**
 * Reports and Events follow the workloads from run to run of the background audit, against the real
 * API server: a workload fixed loses its failing result, a deleted one loses its results, and a
 * namespace deleted while its report is written (held Terminating by a pod's finalizer, its report
 * gone, so creating it meets the API server's refusal) fails neither that run nor the next one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { podManifest } from '../helpers/cluster-images.js';
import { createPod, policyReport as report, useBackgroundAuditChart } from '../helpers/cluster-suite.js';
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

/** Results of the report in `namespace` naming the pod `name`. */
const resultsOf = (rep: K8sObject | undefined, name: string): K8sObject[] =>
  ((rep?.results ?? []) as K8sObject[]).filter((r) =>
    ((r.resources ?? []) as K8sObject[]).some((o) => o.name === name),
  );

describe.skipIf(NO_CLUSTER)('background reports and Events as workloads change in a real API server', () => {
  const chart = useBackgroundAuditChart({
    release: RELEASE,
    namespace: NS,
    apps: APPS,
    set: 'events.enabled=true',
    workloads: async (images) => {
      await createNamespace(DOOMED);
      for (const name of ['fixme', 'gone']) await createPod(podManifest(name, APPS, images.auditBig));
      await createPod(podManifest('small', APPS, images.small));
      const held = JSON.parse(podManifest('held', DOOMED, images.auditBig)) as K8sObject;
      held.metadata.finalizers = [HOLD];
      await createPod(JSON.stringify(held));
    },
    cleanup: [APPS, DOOMED],
  });
  const runs = (): Array<Record<string, unknown>> => chart.serve.lines().filter((l) => l.msg === WROTE);
  /** Waits for the run after the `seen`th to finish writing; returns its log line. */
  const nextRun = (seen: number): Promise<Record<string, unknown>> =>
    eventually(`background audit run ${seen + 1}`, async () => runs()[seen], 100_000);
  /** Lets the namespace DOOMED go: the pod holding it loses its finalizer. */
  const release = () =>
    kubectl([
      'patch',
      'pod',
      'held',
      '-n',
      DOOMED,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);

  // Runs before the chart's clean-up (hooks run in reverse), so the namespaces can go.
  afterAll(async () => {
    await release();
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
    await kubectlOk(['set', 'image', 'pod/fixme', '-n', APPS, `app=${chart.images.small}`]);
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
    const released = await release();
    expect(released.status, released.stderr).toBe(0);
    const third = await nextRun(seen + 1);
    expect(third.failed).toBe(0);
    expect(await report(DOOMED)).toBeUndefined();
    expect(resultsOf(await report(APPS), 'fixme').map((r) => r.result)).not.toContain('fail');
  }, 240_000);

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await chart.serve.forbidden()).toEqual([]);
  });
});
