import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateImages } from '../../../src/evaluate/evaluate.js';
import { compilePolicies } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { compileTenantPolicy, validateTenantPolicyDocument } from '../../../src/policy/tenant.js';
import { imagegate } from '../../helpers/cli.js';
import { clusterPolicyHandler, TENANT_POLICY_KIND_HANDLING } from '../../../src/policy/cluster-policies.js';
import { PolicyStore } from '../../../src/policy/store.js';
import { namespacedDocument, policyYaml } from '../../helpers/policy-documents.js';

const tenantDoc = (spec: string, namespace = 'team-a', name = 'require-digest'): unknown =>
  namespacedDocument('NamespacedImagePolicy', spec, namespace, name);

const PINNED = `images: [{ glob: "registry.example.com/**" }]\nrequireDigest: true`;
const tenant = (spec = PINNED, namespace = 'team-a') =>
  compileTenantPolicy(validateTenantPolicyDocument(tenantDoc(spec, namespace), 't.yaml'), {});

const CLUSTER = compilePolicies(
  parsePolicyYaml(
    policyYaml('cluster-audit', {
      mode: 'audit',
      images: [{ glob: 'registry.example.com/**' }],
      requireDigest: true,
    }),
    'c.yaml',
  ),
  {},
);

const review = (
  policies: ReturnType<typeof tenant>[],
  namespace: string,
  image = 'registry.example.com/app:1',
) =>
  evaluateImages([image], policies, { unmatched: 'deny' }, { namespace, signal: AbortSignal.timeout(5000) });

describe('NamespacedImagePolicy', () => {
  describe('a field that would loosen a decision', () => {
    it.each([
      [
        'namespaces',
        `${PINNED}\nnamespaces: { include: ["*"] }`,
        /spec\.namespaces: .* applies only in its own namespace \(team-a\)/,
      ],
      [
        'exclude',
        `${PINNED}\nexclude: [{ glob: "registry.example.com/legacy/**" }]`,
        /spec\.exclude: .* cannot exempt images/,
      ],
      [
        'onError: allow',
        `${PINNED}\nonError: allow`,
        /spec\.onError: "allow" is refused .* only make decisions stricter/,
      ],
    ])('is refused at load with a message: %s', (_field, spec, message) => {
      expect(() => validateTenantPolicyDocument(tenantDoc(spec), 't.yaml')).toThrowWithCode('POLICY_INVALID');
      expect(() => validateTenantPolicyDocument(tenantDoc(spec), 't.yaml')).toThrow(message);
      expect(() => validateTenantPolicyDocument(tenantDoc(spec), 't.yaml')).toThrow(
        /a tenant policy cannot loosen/,
      );
    });

    it('refuses a key Secret from another namespace, and reads its own by default', () => {
      const key = (ns: string) =>
        `images: [{ glob: "registry.example.com/**" }]\nsignature:\n  authorities:\n    - key: { secretRef: { ${ns}name: cosign, key: cosign.pub } }`;
      expect(() => validateTenantPolicyDocument(tenantDoc(key('namespace: imagegate, ')), 't.yaml')).toThrow(
        /spec\.signature\.authorities\[0\]\.key\.secretRef\.namespace: .* own namespace \(team-a\) only/,
      );
      const compiled = compileTenantPolicy(validateTenantPolicyDocument(tenantDoc(key('')), 't.yaml'), {
        signature: (spec) => {
          expect(spec.authorities[0]!.key!.secretRef!.namespace).toBe('team-a');
          return { name: 'signature', run: () => Promise.reject(new Error('unused')) };
        },
      });
      expect(compiled.checks).toHaveLength(1);
    });

    it.each([
      'k8s://imagegate/cosign-key',
      'azurekms://attacker.example/key',
      'awskms://attacker.example/alias/release',
      'hashivault://release',
    ])('refuses a key service, which imagegate would call with its own identity: %s', (uri) => {
      const spec = `images: [{ glob: "registry.example.com/**" }]\nattestations:\n  - name: provenance\n    predicateType: https://slsa.dev/provenance/v1\n    authorities:\n      - key: { kms: "${uri}" }`;
      expect(() => validateTenantPolicyDocument(tenantDoc(spec), 't.yaml')).toThrowWithCode('POLICY_INVALID');
      expect(() => validateTenantPolicyDocument(tenantDoc(spec), 't.yaml')).toThrow(
        /spec\.attestations\[0\]\.authorities\[0\]\.key\.kms: a NamespacedImagePolicy cannot use a key service/,
      );
    });
  });

  it('is named namespace/name and applies only in its own namespace', async () => {
    const p = tenant();
    expect(p.name).toBe('team-a/require-digest');
    const inTeamA = await review([...CLUSTER, p], 'team-a');
    expect(inTeamA.allowed).toBe(false);
    expect(inTeamA.denials).toEqual([expect.objectContaining({ policy: 'team-a/require-digest' })]);
    const inTeamB = await review([...CLUSTER, p], 'team-b');
    expect(inTeamB.allowed).toBe(true);
    expect(inTeamB.images[0]!.policies.map((o) => o.policy)).toEqual(['cluster-audit']);
  });

  it('cannot switch a cluster policy to audit: its own mode applies to its own findings only', async () => {
    const enforcingCluster = compilePolicies(
      parsePolicyYaml(
        'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: strict }\nspec:\n  images: [{ glob: "**" }]\n  requireDigest: true\n',
        's.yaml',
      ),
      {},
    );
    const v = await review([...enforcingCluster, tenant(`${PINNED}\nmode: audit`)], 'team-a');
    expect(v.allowed).toBe(false);
    expect(v.denials.map((r) => r.policy)).toEqual(['strict']);
    expect(v.audits.map((r) => r.policy)).toEqual(['team-a/require-digest']);
  });

  it('does not govern for the unmatched rule: a catch-all tenant policy without checks allows nothing more', async () => {
    const catchAll = tenant('images: [{ glob: "**" }]');
    const v = await review([catchAll], 'team-a', 'other.example.com/app:1');
    expect(v.allowed).toBe(false);
    expect(v.images[0]!.unmatched).toBe('deny');
  });

  it('`imagegate check --namespace` loads it from --policy files and names it namespace/name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ig-tenant-'));
    const checkIn = (namespace: string) =>
      imagegate(['check', '--policy', dir, '--namespace', namespace, 'registry.example.com/app:1']);
    await writeFile(
      join(dir, 'p.yaml'),
      'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: lenient }\nspec:\n  mode: audit\n  images: [{ glob: "**" }]\n---\n' +
        `apiVersion: imagegate.dev/v1alpha1\nkind: NamespacedImagePolicy\nmetadata: { name: require-digest, namespace: team-a }\nspec:\n  images: [{ glob: "registry.example.com/**" }]\n  requireDigest: true\n`,
    );
    const a = await checkIn('team-a');
    expect(a.code, a.stderr).toBe(1);
    expect(a.stdout).toContain('policy team-a/require-digest (enforce): fail');
    const b = await checkIn('team-b');
    expect(b.code, b.stderr).toBe(0);
    await writeFile(
      join(dir, 'p.yaml'),
      `apiVersion: imagegate.dev/v1alpha1\nkind: NamespacedImagePolicy\nmetadata: { name: loose, namespace: team-a }\nspec:\n  images: [{ glob: "**" }]\n  onError: allow\n`,
    );
    const refused = await checkIn('team-a');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('NamespacedImagePolicy "team-a/loose"');
    expect(refused.stderr).toContain('spec.onError');
  });

  describe('from the cluster', () => {
    it('is accepted as namespace/name, and an update that loosens is refused while its last good version stays', () => {
      const store = new PolicyStore({}, ['cluster-tenants']);
      const errors: string[] = [];
      const handle = clusterPolicyHandler(
        store,
        {},
        { error: (_o: object, m: string) => void errors.push(m) } as never,
        () => undefined,
        TENANT_POLICY_KIND_HANDLING,
      );
      expect(handle([tenantDoc(PINNED)])).toEqual({ accepted: ['team-a/require-digest'], rejected: [] });
      expect(store.policies().map((p) => p.name)).toEqual(['team-a/require-digest']);
      const verdict = handle([tenantDoc(`${PINNED}\nonError: allow`)]);
      expect(verdict.rejected).toEqual([
        { name: 'team-a/require-digest', error: expect.stringContaining('spec.onError') as string },
      ]);
      expect(store.policies().map((p) => [p.name, p.onError])).toEqual([['team-a/require-digest', 'deny']]);
      expect(errors[0]).toContain('NamespacedImagePolicy rejected');
    });
  });
});
