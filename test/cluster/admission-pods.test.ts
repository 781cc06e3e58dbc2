/**
 * Admission as the API server drives it, for Pods: allowed, denied (the client sees imagegate's
 * message), audit mode (the warning reaches kubectl; the auditAnnotations reach the API server's
 * audit log), dry runs (answered, no Event), ephemeral containers through pods/ephemeralcontainers,
 * and the webhook down (enforce: Fail refuses; Ignore admits).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import { ROOT } from '../helpers/cli.js';
import { podManifest } from '../helpers/cluster-images.js';
import type { K8sObject } from '../helpers/k8s.js';
import { silentServer } from '../helpers/size-e2e.js';
import { apiAuditLog, eventually, getJson, helm, kubectl, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igpods';
const NS = 'imagegate-pods';
const APPS = 'apps-pods';
const DENIED = 'admission webhook "validate.imagegate.dev" denied the request';

describe.skipIf(NO_CLUSTER)('admission of pods by the real API server', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS });

  const create = (name: string, image: string, extra: string[] = []) =>
    kubectl(['create', ...extra, '-f', '-'], podManifest(name, APPS, image));
  const records = (name: string) => world.serve.auditRecords().filter((r) => r.name === name);
  /** serve writes its audit records in batches: wait for one matching `shape`. */
  const recorded = (name: string, shape: Record<string, unknown>) =>
    eventually(`the audit record of ${name}`, async () =>
      records(name).find((r) => Object.entries(shape).every(([k, v]) => r[k] === v)),
    );

  it('admits a pod whose image passes, as the user who created it', async () => {
    const r = await create('small', world.images.small);
    expect(r.status, r.stderr).toBe(0);
    await recorded('small', { kind: 'Pod', operation: 'CREATE', decision: 'allowed', namespace: APPS });
  });

  it("refuses a pod whose image is too big, with imagegate's message in the client's error", async () => {
    const r = await create('big', world.images.big);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(DENIED);
    expect(r.stderr).toContain(world.images.big);
    expect(r.stderr).toContain('size-enforce');
  });

  it('in audit mode admits, the warning reaches kubectl and the auditAnnotations the API server audit log', async () => {
    const r = await create('audit-big', world.images.auditBig);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^Warning: .*size-audit/m);
    const event = await eventually('the audit event of the create', async () =>
      (await apiAuditLog()).find(
        (e) =>
          e.stage === 'ResponseComplete' &&
          e.verb === 'create' &&
          e.objectRef?.resource === 'pods' &&
          e.objectRef.namespace === APPS &&
          e.objectRef.name === 'audit-big',
      ),
    );
    expect(event.annotations).toMatchObject({
      'validate.imagegate.dev/decision': 'allowed',
      'validate.imagegate.dev/would-deny': 'true',
    });
  });

  it('answers a dry run (dryRun=All) and writes no Event for it, while a real denial gets one', async () => {
    const dry = await create('dry-big', world.images.big, ['--dry-run=server']);
    expect(dry.status).toBe(1);
    expect(dry.stderr).toContain(DENIED);
    await recorded('dry-big', { dryRun: true, decision: 'denied' });
    const real = await create('real-big', world.images.big);
    expect(real.stderr).toContain(DENIED);
    const names = async () =>
      ((await getJson(['get', 'events', '-n', APPS])).items as K8sObject[]).map((e) => e.involvedObject.name);
    // Events are queued after the answer: wait for the real one, then the dry run's would be there too.
    await eventually('the Event of the real denial', async () =>
      (await names()).includes('real-big') ? true : undefined,
    );
    expect(await names()).not.toContain('dry-big');
  });

  it('reviews ephemeral containers added through pods/ephemeralcontainers (kubectl debug)', async () => {
    const denied = await kubectl([
      'debug',
      'small',
      '-n',
      APPS,
      `--image=${world.images.big}`,
      '--container=dbg-big',
    ]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain(DENIED);
    expect(denied.stderr).toContain(world.images.big);
    const allowed = await kubectl([
      'debug',
      'small',
      '-n',
      APPS,
      `--image=${world.images.small}`,
      '--container=dbg',
    ]);
    expect(allowed.status, allowed.stderr).toBe(0);
    const pod = await getJson(['get', 'pod', 'small', '-n', APPS]);
    expect((pod.spec.ephemeralContainers as K8sObject[]).map((c) => c.name)).toEqual(['dbg']);
    await recorded('small', { operation: 'UPDATE', decision: 'allowed' });
  });

  it("answers within the webhook's timeout when a registry never answers (imagegate's denial, not the API server's timeout)", async () => {
    const silent = await silentServer();
    try {
      const policy = {
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: 'slow-registry' },
        spec: {
          mode: 'enforce',
          onError: 'deny',
          images: [{ glob: `${silent.host}/**` }],
          size: { maxCompressed: '1Mi' },
        },
      };
      await kubectl(['create', '-f', '-'], JSON.stringify(policy));
      const r = await eventually('the slow-registry policy in force', async () => {
        const run = await create('slow', `${silent.host}/app:1`, ['--dry-run=server']);
        return run.stderr.includes('slow-registry') ? run : undefined;
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(DENIED);
      expect(r.stderr).not.toMatch(/context deadline exceeded|failed calling webhook/);
      expect(silent.connections()).toBeGreaterThan(0);
    } finally {
      await kubectl(['delete', 'imagepolicy', 'slow-registry', '--ignore-not-found']);
      await silent.close();
    }
  });

  it('with the webhook down: failurePolicy Fail refuses, Ignore admits', async () => {
    await world.serve.stop();
    const refused = await create('down-fail', world.images.small);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/failed calling webhook "validate\.imagegate\.dev"/);
    await helm([
      'upgrade', RELEASE, join(ROOT, 'charts', 'imagegate'), '--namespace', NS,
      '--set', `webhook.url=${world.serve.url}`, '--set', 'mode=enforce', '--set', 'webhook.failurePolicy=Ignore',
      ...world.images.values,
    ]); // prettier-ignore
    const admitted = await create('down-ignore', world.images.big);
    expect(admitted.status, admitted.stderr).toBe(0);
    await world.serve.start();
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await world.serve.forbidden()).toEqual([]);
  });
});
