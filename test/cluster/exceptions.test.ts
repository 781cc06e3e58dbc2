/**
 * ImagePolicyExceptions through the real API server, while pods are created: the CRD refuses one
 * without a reason or an expiry; one in the pod's namespace lets the size failure through with a
 * warning naming it (and the audit record says so); at its expiry, to the second and without a
 * restart, pods are denied again and its status says Expired; deleting one denies again; one naming a
 * policy that does not exist is Invalid and lets nothing through; one in another namespace does nothing.
 */
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import { podManifest } from '../helpers/cluster-images.js';
import { createNamespace, eventually, getJson, kubectl, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igexc';
const NS = 'imagegate-exceptions';
const APPS = 'apps-exceptions';
const OTHER = 'apps-exceptions-other';

function exception(name: string, namespace: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicyException',
    metadata: { name, namespace },
    spec,
  });
}

/** An RFC 3339 time `seconds` from now, to the second. */
const inSeconds = (seconds: number): string =>
  new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000).toISOString().replace('.000Z', 'Z');

const phase = async (namespace: string, name: string): Promise<string | undefined> => {
  const obj = await getJson(['get', 'imagepolicyexception', name, '-n', namespace]);
  return (obj.status?.conditions as { type: string; status: string }[] | undefined)?.find(
    (c) => c.status === 'True',
  )?.type;
};

describe.skipIf(NO_CLUSTER)('ImagePolicyException resources in the real API server', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS });
  let pods = 0;
  /** Creates a pod with the big image (over size-enforce's limit) for real; its kubectl result. */
  const createBig = (namespace = APPS) =>
    kubectl(['create', '-f', '-'], podManifest(`big-${++pods}`, namespace, world.images.big));
  const spec = (expires: string, extra: Record<string, unknown> = {}) => ({
    policies: ['size-enforce'],
    images: [{ glob: `${world.images.registry.host}/enforce/**` }],
    reason: 'image slimming in progress, OPS-42',
    expires,
    ...extra,
  });

  it('refuses an exception without a reason or an expiry, naming the field', async () => {
    for (const [field, body] of [
      ['spec.reason', { policies: ['size-enforce'], images: [{ glob: '**' }], expires: inSeconds(3600) }],
      ['spec.expires', { policies: ['size-enforce'], images: [{ glob: '**' }], reason: 'why' }],
    ] as const) {
      const r = await kubectl(['create', '-f', '-'], exception('incomplete', APPS, body));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(field);
    }
  });

  it('lets pods through with a warning while it is Active, and denies again at its expiry, without a restart', async () => {
    expect((await createBig()).status).toBe(1);
    const expires = inSeconds(25);
    const created = await kubectl(['create', '-f', '-'], exception('slim-soon', APPS, spec(expires)));
    expect(created.status, created.stderr).toBe(0);
    const allowed = await eventually('the exception to reach admission', async () => {
      const r = await createBig();
      return r.status === 0 ? r : undefined;
    });
    expect(allowed.stderr).toContain('exception apps-exceptions/slim-soon');
    expect(allowed.stderr).toContain('image slimming in progress, OPS-42');
    expect(allowed.stderr).toContain(expires);
    expect(
      await eventually('status Active', async () =>
        (await phase(APPS, 'slim-soon')) === 'Active' ? true : undefined,
      ),
    ).toBe(true);
    const record = world.serve
      .auditRecords()
      .reverse()
      .find((r) => r.namespace === APPS && r.decision === 'allowed');
    expect(JSON.stringify(record)).toContain('"exemptedBy":{"exception":"apps-exceptions/slim-soon"');

    // The same exception does nothing in another namespace.
    await createNamespace(OTHER);
    expect((await createBig(OTHER)).status).toBe(1);

    // Pods created until after the expiry: every one after it is denied.
    const expiresAt = Date.parse(expires);
    while (Date.now() < expiresAt + 1000) {
      const before = Date.now();
      const r = await createBig();
      if (before >= expiresAt) expect(r.status, `pod created at ${new Date(before).toISOString()}`).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const denied = await createBig();
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain('size-enforce');
    await eventually('status Expired', async () =>
      (await phase(APPS, 'slim-soon')) === 'Expired' ? true : undefined,
    );
  }, 120_000);

  it('denies again once the exception is deleted', async () => {
    const r = await kubectl(['create', '-f', '-'], exception('slim-long', APPS, spec(inSeconds(7 * 86_400))));
    expect(r.status, r.stderr).toBe(0);
    await eventually('the exception to reach admission', async () =>
      (await createBig()).status === 0 ? true : undefined,
    );
    expect((await kubectl(['delete', 'imagepolicyexception', 'slim-long', '-n', APPS])).status).toBe(0);
    await eventually('the deletion to reach admission', async () =>
      (await createBig()).status === 1 ? true : undefined,
    );
  }, 60_000);

  it('marks an exception naming a policy that does not exist Invalid, and it lets nothing through', async () => {
    const r = await kubectl(
      ['create', '-f', '-'],
      exception(
        'names-nothing',
        APPS,
        spec(inSeconds(3600), { policies: ['size-enforce', 'no-such-policy'] }),
      ),
    );
    expect(r.status, r.stderr).toBe(0);
    await eventually('status Invalid', async () =>
      (await phase(APPS, 'names-nothing')) === 'Invalid' ? true : undefined,
    );
    const obj = await getJson(['get', 'imagepolicyexception', 'names-nothing', '-n', APPS]);
    expect(JSON.stringify(obj.status.conditions)).toContain('no-such-policy');
    expect((await createBig()).status).toBe(1);
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await world.serve.forbidden()).toEqual([]);
  });
});
