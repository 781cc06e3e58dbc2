/**
 * Workloads through the real controller manager: the webhook reviews the Deployment, StatefulSet,
 * DaemonSet, Job and CronJob a user creates, then the Pods (and Jobs) the controllers create from
 * them, under the controllers' own service accounts, as in a cluster.
 */
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import type { K8sObject } from '../helpers/k8s.js';
import { eventually, getJson, kubectl, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igwork';
const NS = 'imagegate-workloads';
const APPS = 'apps-workloads';
const DENIED = 'admission webhook "validate.imagegate.dev" denied the request';

function podTemplate(name: string, image: string, restartPolicy = 'Always'): K8sObject {
  return {
    metadata: { labels: { app: name } },
    spec: { restartPolicy, containers: [{ name: 'app', image }] },
  };
}

/** The manifest of KIND named NAME running IMAGE. */
function workload(kind: string, name: string, image: string): string {
  const selector = { matchLabels: { app: name } };
  const specs: Record<string, [string, K8sObject]> = {
    Deployment: ['apps/v1', { replicas: 2, selector, template: podTemplate(name, image) }],
    StatefulSet: [
      'apps/v1',
      { replicas: 1, serviceName: name, selector, template: podTemplate(name, image) },
    ],
    DaemonSet: ['apps/v1', { selector, template: podTemplate(name, image) }],
    Job: ['batch/v1', { template: podTemplate(name, image, 'Never') }],
    CronJob: [
      'batch/v1',
      { schedule: '* * * * *', jobTemplate: { spec: { template: podTemplate(name, image, 'Never') } } },
    ],
  };
  const [apiVersion, spec] = specs[kind]!;
  return JSON.stringify({ apiVersion, kind, metadata: { name, namespace: APPS }, spec });
}

describe.skipIf(NO_CLUSTER)('admission of workloads and of what the controllers make from them', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS });

  const podsOf = async (name: string) =>
    (await getJson(['get', 'pods', '-n', APPS, '-l', `app=${name}`])).items as K8sObject[];
  const reviewedAs = (kind: string, user: string) =>
    world.serve.auditRecords().filter((r) => r.kind === kind && r.user === user && r.decision === 'allowed');

  it.each(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'])(
    "refuses a %s whose image is too big, with imagegate's message",
    async (kind) => {
      const r = await kubectl(
        ['create', '-f', '-'],
        workload(kind, `big-${kind.toLowerCase()}`, world.images.big),
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(DENIED);
      expect(r.stderr).toContain(world.images.big);
    },
  );

  it("admits a Deployment, then its ReplicaSet's pods created by the replicaset controller", async () => {
    const r = await kubectl(['create', '-f', '-'], workload('Deployment', 'web', world.images.small));
    expect(r.status, r.stderr).toBe(0);
    const pods = await eventually('two pods of the deployment', async () => {
      const p = await podsOf('web');
      return p.length === 2 ? p : undefined;
    });
    expect(pods.every((p) => p.metadata.ownerReferences[0].kind === 'ReplicaSet')).toBe(true);
    await eventually('two pod reviews as the replicaset controller', async () =>
      reviewedAs('Pod', 'system:serviceaccount:kube-system:replicaset-controller').length === 2
        ? true
        : undefined,
    );
  });

  it('admits a StatefulSet and a Job, then the pods their controllers create', async () => {
    for (const kind of ['StatefulSet', 'Job']) {
      const r = await kubectl(['create', '-f', '-'], workload(kind, kind.toLowerCase(), world.images.small));
      expect(r.status, r.stderr).toBe(0);
      await eventually(`the pod of the ${kind}`, async () =>
        (await podsOf(kind.toLowerCase())).length ? true : undefined,
      );
    }
    for (const controller of ['statefulset-controller', 'job-controller'])
      await eventually(`a pod review as the ${controller}`, async () =>
        reviewedAs('Pod', `system:serviceaccount:kube-system:${controller}`).length === 1 ? true : undefined,
      );
  });

  it('admits a CronJob, then the Job the cronjob controller creates on schedule', async () => {
    const r = await kubectl(['create', '-f', '-'], workload('CronJob', 'cron', world.images.small));
    expect(r.status, r.stderr).toBe(0);
    // Schedules fire on the minute: up to 60 s.
    await eventually(
      'the Job of the CronJob',
      async () =>
        reviewedAs('Job', 'system:serviceaccount:kube-system:cronjob-controller').length ? true : undefined,
      80_000,
    );
  }, 100_000);

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await world.serve.forbidden()).toEqual([]);
  });
});
