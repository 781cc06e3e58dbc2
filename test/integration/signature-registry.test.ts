/**
 * The signature suite through a real registry (Debian docker-registry on loopback) and the product
 * registry client (digest-checked, referrers API with its tag fallback): third-party
 * cosign fixtures pushed (or, where a fixture lacks blobs, seeded into storage) under the signed
 * digests, test-made signatures in both formats, and the cosign OCI attestation bundle as a referrer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileSignatureVerifier,
  loadTrustedRoots,
  type TrustedRootStore,
} from '../../src/checks/signature/index.js';
import {
  createRegistry,
  parseReference,
  type Registry,
  type RegistryAccess,
} from '../../src/registry/index.js';
import { pushBundleFor, pushCosignOciAttestation, pushLegacySignatures } from '../helpers/cosign-push.js';
import { HAVE_FIXTURES } from '../helpers/fixtures.js';
import { LEGACY_CASES, seedCase } from '../fixtures/legacy-cases.js';
import { useRegistry } from '../helpers/use-registry.js';
import { useSuiteValue } from '../helpers/suite-value.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { fixtureRoots, signal, tempDir } from '../helpers/signature-setup.js';
import { createTestInstance } from '../helpers/test-sigstore.js';
import { ociImageManifest } from '../helpers/oci-manifest.js';

const ACME = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
};

describe('signature verification through a real registry', () => {
  const registry = useRegistry();
  let seeder: RegistrySeeder;
  let client: Registry;
  let access: RegistryAccess;

  beforeAll(async () => {
    seeder = new RegistrySeeder(registry);
    // The product client, as setupEngine builds it for `--insecure-registry HOST`.
    client = createRegistry({ registries: { [registry.host]: { insecure: true } } });
    access = client.access();
  });
  afterAll(async () => {
    await client?.close();
  });

  /** The signature check of `spec`, trusting `roots`, on `repo@digest` in the registry. */
  function verifyAt(
    spec: Parameters<typeof compileSignatureVerifier>[0],
    roots: TrustedRootStore,
    repo: string,
    digest: string,
  ) {
    const ref = parseReference(`${registry.host}/${repo}@${digest}`);
    return compileSignatureVerifier(spec, 'test', { trustedRoots: roots }).verify(
      access,
      ref,
      digest,
      signal(),
    );
  }

  describe.skipIf(!HAVE_FIXTURES)('third-party cosign legacy fixtures', () => {
    const fixtures = useSuiteValue(
      async () => ({ roots: await fixtureRoots() }),
      async () => undefined,
    );

    for (const [i, c] of LEGACY_CASES.entries()) {
      it(`${c.name} → ${c.expect}`, async () => {
        const repo = `fixtures/case${i}`;
        const digest = await seedCase(seeder, repo, c);
        const verdict = await verifyAt(c.spec(), fixtures.roots, repo, digest);
        expect(verdict.code, verdict.message).toBe(c.expect);
        for (const s of c.messageHas ?? []) expect(verdict.message).toContain(s);
      });
    }

    it('verifies the cosign OCI attestation bundle pushed as a referrer', async () => {
      const repo = 'fixtures/oci-attestation';
      const digest = await pushCosignOciAttestation(seeder, repo);
      const cody = { issuer: 'https://github.com/login/oauth', subject: 'cody@soyland.com' };
      const spec = { authorities: [{ name: 'cody', keyless: cody }] };
      const verdict = await verifyAt(spec, fixtures.roots, repo, digest);
      expect(verdict.attestations).toHaveLength(1);
      expect(verdict.attestations[0]!.statement?.subject[0]?.digest.sha256).toBe(digest.slice(7));
    });
  });

  describe('signatures made by the tests, both formats', () => {
    const made = useSuiteValue(
      async () => {
        const instance = await createTestInstance(tempDir());
        const files = [{ name: 'corp', path: instance.trustedRootPath }];
        return { instance, roots: await loadTrustedRoots({ files, offline: true }) };
      },
      async () => undefined,
    );

    async function pushImage(repo: string): Promise<string> {
      const config = Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
      );
      await seeder.putBlob(repo, config);
      const { createHash } = await import('node:crypto');
      const manifest = ociImageManifest({
        digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
        size: config.length,
      });
      return seeder.putManifest(repo, manifest, 'v1');
    }

    const spec = { authorities: [{ name: 'ci', keyless: { ...ACME, trustedRoot: 'corp' } }] };

    it('verifies a keyless legacy signature', async () => {
      const digest = await pushImage('made/legacy');
      await pushLegacySignatures(seeder, 'made/legacy', digest, [
        await made.instance.signLegacy({ digest, identity: ACME }),
      ]);
      const verdict = await verifyAt(spec, made.roots, 'made/legacy', digest);
      expect(verdict.code, verdict.message).toBe('OK');
    });

    it('verifies a keyless bundle referrer found through the referrers tag fallback', async () => {
      const digest = await pushImage('made/bundle');
      const bundle = await made.instance.signBundle({
        digest,
        identity: ACME,
        predicateType: 'https://sigstore.dev/cosign/sign/v1',
      });
      await pushBundleFor(seeder, 'made/bundle', digest, bundle);
      const verdict = await verifyAt(spec, made.roots, 'made/bundle', digest);
      expect(verdict.code, verdict.message).toBe('OK');
      expect(verdict.signatures[0]!.format).toBe('sigstore-bundle');
    });

    it('denies an unsigned image with NO_SIGNATURES', async () => {
      const digest = await pushImage('made/unsigned');
      const verdict = await verifyAt(spec, made.roots, 'made/unsigned', digest);
      expect(verdict.code).toBe('NO_SIGNATURES');
    });
  });
});
