/**
 * The chart installed for real: `helm install` into the local kube-apiserver (CRDs, RBAC, the webhook
 * configuration pointing at webhook.url, PDB, the ImagePolicy resources), an `imagegate serve` on this
 * host as the chart's pod with its ServiceAccount's token, then `helm upgrade` and `helm uninstall`.
 */
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import { podManifest } from '../helpers/cluster-images.js';
import type { K8sObject } from '../helpers/k8s.js';
import { eventually, getJson, helm, kubectl, kubectlOk, NO_CLUSTER } from '../helpers/kube-cluster.js';
import { ROOT } from '../helpers/cli.js';
import { join } from 'node:path';

const RELEASE = 'igchart';
const NS = 'imagegate-chart';
const APPS = 'apps-chart';

describe.skipIf(NO_CLUSTER)('the chart in a real API server', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS, teardown: 'stop' });

  it('installs the CRD, RBAC, the webhook (calling webhook.url), the PDB and the ImagePolicy resources', async () => {
    const crd = await getJson(['get', 'crd', 'imagepolicies.imagegate.dev']);
    expect(crd.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Established', status: 'True' }),
    );
    const hook = await getJson(['get', 'validatingwebhookconfiguration', `${RELEASE}-imagegate`]);
    expect(hook.webhooks[0].clientConfig.url).toBe(`${world.serve.url}/validate`);
    expect(hook.webhooks[0].sideEffects).toBe('NoneOnDryRun');
    expect(hook.webhooks[0].failurePolicy).toBe('Fail');
    await getJson(['get', 'clusterrole', `${RELEASE}-imagegate`]);
    await getJson(['get', 'poddisruptionbudget', `${RELEASE}-imagegate`, '-n', NS]);
    const policies = await getJson(['get', 'imagepolicies']);
    expect((policies.items as K8sObject[]).map((p) => p.metadata.name).sort()).toEqual([
      'size-audit',
      'size-enforce',
    ]);
  });

  it('reads back the Ready condition serve writes on each ImagePolicy (through its own RBAC)', async () => {
    const ready = await eventually('Ready conditions on both policies', async () => {
      const list = await getJson(['get', 'imagepolicies']);
      const conditions = (list.items as K8sObject[]).map(
        (p) => ((p.status?.conditions ?? []) as K8sObject[]).find((c) => c.type === 'Ready') ?? null,
      );
      return conditions.every((c) => c?.status === 'True') ? conditions : undefined;
    });
    expect(ready).toHaveLength(2);
  });

  it("admits a pod whose image passes and refuses one whose image is too big, with imagegate's message", async () => {
    const ok = await kubectl(['create', '-f', '-'], podManifest('small', APPS, world.images.small));
    expect(ok.status, ok.stderr).toBe(0);
    const denied = await kubectl(['create', '-f', '-'], podManifest('big', APPS, world.images.big));
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain('admission webhook "validate.imagegate.dev" denied the request');
    expect(denied.stderr).toContain(world.images.big);
    expect(denied.stderr).toMatch(/size/i);
    expect((await kubectl(['get', 'pod', 'big', '-n', APPS])).status).toBe(1);
  });

  it('helm upgrade adds and removes the mutating webhook and keeps the generated CA', async () => {
    const before = await getJson(['get', 'secret', `${RELEASE}-imagegate-tls`, '-n', NS]);
    const chart = join(ROOT, 'charts', 'imagegate');
    const base = [
      '--namespace',
      NS,
      '--set',
      `webhook.url=${world.serve.url}`,
      '--set',
      'mode=enforce',
      ...world.images.values,
    ];
    await helm(['upgrade', RELEASE, chart, ...base, '--set', 'mutating.enabled=true']);
    const mutating = await getJson(['get', 'mutatingwebhookconfiguration', `${RELEASE}-imagegate`]);
    expect(mutating.webhooks[0].clientConfig.url).toBe(`${world.serve.url}/mutate`);
    await helm(['upgrade', RELEASE, chart, ...base]);
    expect((await kubectl(['get', 'mutatingwebhookconfiguration', `${RELEASE}-imagegate`])).status).toBe(1);
    const after = await getJson(['get', 'secret', `${RELEASE}-imagegate-tls`, '-n', NS]);
    expect(after.data).toEqual(before.data);
    // The webhook still trusts the certificate serve presents.
    const ok = await kubectl(['create', '-f', '-'], podManifest('small-2', APPS, world.images.small));
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(world.serve.lines().length).toBeGreaterThan(0);
    expect(await world.serve.forbidden()).toEqual([]);
  });

  it('helm uninstall leaves nothing of the release but the CRD (Helm never deletes crds/)', async () => {
    await world.serve.stop();
    await helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
    const kinds = (await kubectlOk(['api-resources', '--verbs=list', '-o', 'name']))
      .split('\n')
      .filter((k) => k !== '' && !k.startsWith('events'));
    const left = await kubectlOk([
      'get',
      kinds.join(','),
      '--all-namespaces',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
    expect((await kubectl(['get', 'crd', 'imagepolicies.imagegate.dev'])).status).toBe(0);
    expect((await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).stdout.trim()).toBe('');
  });
});
