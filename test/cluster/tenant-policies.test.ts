/**
 * NamespacedImagePolicy through the real API server: a tenant's Role (docs/policy.md) lets it create
 * NamespacedImagePolicies in its namespace and nothing else of imagegate's; what it creates makes
 * admission stricter there only, named namespace/name; a loosening one is refused (status).
 */
import { describe, expect, it } from 'vitest';
import { useEnforcingChart } from '../helpers/cluster-suite.js';
import { podManifest } from '../helpers/cluster-images.js';
import { createNamespace, eventually, getJson, kubectl, NO_CLUSTER } from '../helpers/kube-cluster.js';

const RELEASE = 'igten';
const NS = 'imagegate-tenants';
const APPS = 'apps-tenants';
const TEAM = 'team-a';
const TENANT = 'alice';

/** The Role and RoleBinding docs/policy.md gives a tenant team (bound to one user here). */
const TENANT_ROLE = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'imagegate-tenant-policies', namespace: TEAM },
    rules: [
      {
        apiGroups: ['imagegate.dev'],
        resources: ['namespacedimagepolicies'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'imagegate-tenant-policies', namespace: TEAM },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'imagegate-tenant-policies' },
    subjects: [{ kind: 'User', name: TENANT, apiGroup: 'rbac.authorization.k8s.io' }],
  },
];

function tenantPolicy(name: string, spec: Record<string, unknown>, namespace = TEAM): string {
  return JSON.stringify({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'NamespacedImagePolicy',
    metadata: { name, namespace },
    spec,
  });
}

const canI = async (args: string[]): Promise<string> =>
  (await kubectl(['auth', 'can-i', '--as', TENANT, ...args])).stdout.trim();

describe.skipIf(NO_CLUSTER)('NamespacedImagePolicy resources in the real API server', () => {
  const world = useEnforcingChart({ release: RELEASE, namespace: NS, apps: APPS });
  let pods = 0;
  const createSmall = (namespace: string) =>
    kubectl(['create', '-f', '-'], podManifest(`small-${++pods}`, namespace, world.images.small));

  it('a tenant’s Role can create NamespacedImagePolicy in its namespace and nothing else', async () => {
    await createNamespace(TEAM);
    for (const obj of TENANT_ROLE) {
      const r = await kubectl(['apply', '-f', '-'], JSON.stringify(obj));
      expect(r.status, r.stderr).toBe(0);
    }
    expect(await canI(['create', 'namespacedimagepolicies.imagegate.dev', '-n', TEAM])).toBe('yes');
    for (const denied of [
      ['create', 'namespacedimagepolicies.imagegate.dev', '-n', APPS],
      ['patch', 'namespacedimagepolicies.imagegate.dev', '--subresource=status', '-n', TEAM],
      ['create', 'imagepolicyexceptions.imagegate.dev', '-n', TEAM],
      ['create', 'imagepolicies.imagegate.dev'],
      ['update', 'imagepolicies.imagegate.dev/size-enforce'],
    ])
      expect(await canI(denied), denied.join(' ')).toBe('no');

    const created = await kubectl(
      ['create', '--as', TENANT, '-f', '-'],
      tenantPolicy('require-digest', {
        images: [{ glob: `${world.images.registry.host}/**` }],
        requireDigest: true,
      }),
    );
    expect(created.status, created.stderr).toBe(0);
    const exception = await kubectl(
      ['create', '--as', TENANT, '-f', '-'],
      JSON.stringify({
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'ImagePolicyException',
        metadata: { name: 'mine', namespace: TEAM },
        spec: {
          policies: ['size-enforce'],
          images: [{ glob: '**' }],
          reason: 'self-service',
          expires: new Date(Date.now() + 86_400_000).toISOString(),
        },
      }),
    );
    expect(exception.status).toBe(1);
    expect(exception.stderr).toContain('forbidden');
  });

  it('makes admission stricter in its namespace only, naming it namespace/name', async () => {
    const denied = await eventually('the tenant policy to reach admission', async () => {
      const r = await createSmall(TEAM);
      return r.status === 1 ? r : undefined;
    });
    expect(denied.stderr).toContain('team-a/require-digest');
    expect(denied.stderr).toContain('DIGEST_REQUIRED');
    expect((await createSmall(APPS)).status).toBe(0);
    await eventually('status Accepted', async () => {
      const obj = await getJson(['get', 'namespacedimagepolicy', 'require-digest', '-n', TEAM]);
      const accepted = (obj.status?.conditions as { type: string; status: string }[] | undefined)?.find(
        (c) => c.type === 'Accepted',
      );
      return accepted?.status === 'True' ? true : undefined;
    });
  });

  it('refuses an update that would loosen it, says why in its status, and keeps enforcing the last good one', async () => {
    const current = await getJson(['get', 'namespacedimagepolicy', 'require-digest', '-n', TEAM]);
    current.spec.onError = 'allow';
    const r = await kubectl(['replace', '--as', TENANT, '-f', '-'], JSON.stringify(current));
    expect(r.status, r.stderr).toBe(0);
    const message = await eventually('status Accepted=False', async () => {
      const obj = await getJson(['get', 'namespacedimagepolicy', 'require-digest', '-n', TEAM]);
      const accepted = (
        obj.status?.conditions as { type: string; status: string; message: string }[] | undefined
      )?.find((c) => c.type === 'Accepted');
      return accepted?.status === 'False' ? accepted.message : undefined;
    });
    expect(message).toContain('spec.onError');
    expect(message).toContain('cannot loosen');
    expect((await createSmall(TEAM)).status).toBe(1);
  });

  it('serve never made an API call its ServiceAccount is not allowed to make', async () => {
    expect(await world.serve.forbidden()).toEqual([]);
  });
});
