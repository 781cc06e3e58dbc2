/**
 * Issue 15 through the real registry and the product path (setupEngine → policy load and compile →
 * evaluateImages): attestations in both storage formats (legacy `.att` DSSE layers and Sigstore
 * bundle referrers), signed by the tests with keys and with a private Sigstore whose Fulcio
 * certificates carry GitHub claims, plus third-party material (cosign's OCI attestation bundle, a
 * sigstore-conformance SLSA v1 bundle). Trusted roots come from files: nothing leaves loopback.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CheckOutcome } from '../../../src/evaluate.js';
import { evaluateImages } from '../../../src/evaluate.js';
import type { Setup } from '../../../src/cli/setup.js';
import { pushBundleReferrer, pushLegacySignatures } from '../../helpers/cosign-push.js';
import { buildEngine, writePolicyFile } from '../../helpers/engine.js';
import { HAVE_FIXTURES, fixturePath } from '../../helpers/fixtures.js';
import { buildImage, buildIndex, pushIndex } from '../../helpers/image-builder.js';
import { sha256 } from '../../helpers/memory-registry.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { RegistrySeeder } from '../../helpers/registry-seeder.js';
import { tempDir } from '../../helpers/signature-setup.js';
import { pushSignedImage } from '../../helpers/signed-images.js';
import {
  ACME,
  createTestInstance,
  keyPair,
  signBundleWithKey,
  signLegacyAttestationWithKey,
  type Identity,
  type TestInstance,
} from '../../helpers/test-sigstore.js';
import { attestationPolicies, GITHUB_CLAIMS, SPDX, VULN } from '../../helpers/attestation-policies.js';

const DAY = 86_400_000;
const CI: Identity = { ...ACME, claims: GITHUB_CLAIMS };
const FORK: Identity = {
  ...ACME,
  claims: { ...GITHUB_CLAIMS, sourceRepositoryURI: 'https://github.com/evil/app' },
};
const spdx = (packages: { name: string; versionInfo: string }[]): unknown => ({
  ...(JSON.parse(
    readFileSync(fixturePath('sigstore-bundles', 'predicates', 'cosign-bom-go-mod.spdx.json'), 'utf8'),
  ) as object),
  packages: packages.map((p, i) => ({ SPDXID: `SPDXRef-Package-${i}`, ...p })),
});
const vulnPredicate = (): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fixturePath('sigstore-bundles', 'predicates', 'cosign-vuln-predicate.json'), 'utf8'),
  ) as Record<string, unknown>;

describe.skipIf(!HAVE_FIXTURES)('attestation policies through a real registry', () => {
  let reg: TestRegistry;
  let seeder: RegistrySeeder;
  let corp: TestInstance;
  let old: TestInstance;
  let setup: Setup;
  const key = keyPair('ec-p256');
  const otherKey = keyPair('ec-p256');
  const images: Record<string, string> = {};

  async function image(repo: string): Promise<string> {
    const digest = await pushSignedImage(seeder, reg.host, repo, undefined);
    images[repo] = `${reg.host}/${repo}@${digest}`;
    return digest;
  }
  async function referrer(repo: string, digest: string, bundle: object): Promise<void> {
    await pushBundleReferrer(
      seeder,
      repo,
      { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 },
      bundle,
    );
  }

  async function evaluate(repo: string): Promise<CheckOutcome[]> {
    const access = await setup.engine.registry!({ namespace: 'default' });
    const verdict = await evaluateImages([images[repo]!], setup.engine.policies(), setup.engine.settings, {
      namespace: 'default',
      signal: AbortSignal.timeout(60_000),
      registry: access,
    });
    const policies = verdict.images[0]!.policies;
    if (policies.length !== 1) throw new Error(`${repo}: ${policies.length} policies matched`);
    return policies[0]!.findings;
  }
  async function finding(repo: string, check: 'attestations' | 'signature' = 'attestations') {
    const f = (await evaluate(repo)).find((x) => x.check === check);
    if (f === undefined) throw new Error(`${repo}: no ${check} finding`);
    return f;
  }

  beforeAll(async () => {
    reg = await startRegistry();
    seeder = new RegistrySeeder(reg);
    const dir = tempDir();
    corp = await createTestInstance(dir);
    // A Sigstore instance living 30 days ago: @sigstore/mock dates its root certificate with
    // new Date(), so Date is faked while it is created; its CA and Rekor use the clock.
    const past = new Date(Date.now() - 30 * DAY);
    vi.useFakeTimers({ now: past, toFake: ['Date'] });
    try {
      old = await createTestInstance(tempDir(), past);
    } finally {
      vi.useRealTimers();
    }

    // SBOMs as keyless bundle referrers, signed by the release workflow (with its GitHub claims).
    let d = await image('sbom/clean');
    const clean = spdx([{ name: 'zlib', versionInfo: '1.3.1' }]);
    await referrer(
      'sbom/clean',
      d,
      await corp.signBundle({ digest: d, identity: CI, predicateType: SPDX, predicate: clean }),
    );
    d = await image('sbom/log4j');
    const log4j = spdx([
      { name: 'zlib', versionInfo: '1.3.1' },
      { name: 'log4j-core', versionInfo: '2.14.1' },
    ]);
    await referrer(
      'sbom/log4j',
      d,
      await corp.signBundle({ digest: d, identity: CI, predicateType: SPDX, predicate: log4j }),
    );
    await image('sbom/none');
    d = await image('sbom/legacy');
    await pushLegacySignatures(
      seeder,
      'sbom/legacy',
      d,
      [await corp.signLegacyAttestation({ digest: d, identity: CI, predicateType: SPDX, predicate: clean })],
      'att',
    );
    d = await image('sbom/fork');
    await referrer(
      'sbom/fork',
      d,
      await corp.signBundle({ digest: d, identity: FORK, predicateType: SPDX, predicate: clean }),
    );
    d = await image('sbom/other-subject');
    await referrer(
      'sbom/other-subject',
      d,
      await corp.signBundle({
        digest: d,
        identity: CI,
        predicateType: SPDX,
        predicate: clean,
        subjectDigest: sha256(Buffer.from('another image')),
      }),
    );
    d = await image('stale/sbom');
    await referrer(
      'stale/sbom',
      d,
      await old.signBundle({ digest: d, identity: CI, predicateType: SPDX, predicate: clean }),
    );
    d = await image('costly/sbom');
    const many = spdx(Array.from({ length: 3000 }, (_, i) => ({ name: `pkg-${i}`, versionInfo: '1.0' })));
    await referrer(
      'costly/sbom',
      d,
      await corp.signBundle({ digest: d, identity: CI, predicateType: SPDX, predicate: many }),
    );
    d = await image('sbom/huge');
    await referrer(
      'sbom/huge',
      d,
      signBundleWithKey(key.sign, {
        digest: d,
        predicateType: SPDX,
        predicate: { padding: 'x'.repeat(17 * 1024 * 1024) },
      }),
    );

    // Vulnerability scans as legacy `.att` layers signed with a key (no log entry).
    const scan = (finishedOn: string, critical: number) => ({
      ...vulnPredicate(),
      scanner: {
        uri: 'https://github.com/aquasecurity/trivy',
        version: '0.58.0',
        result: { summary: { CRITICAL: critical } },
      },
      metadata: { scanStartedOn: finishedOn, scanFinishedOn: finishedOn },
    });
    d = await image('vuln/fresh');
    await pushLegacySignatures(
      seeder,
      'vuln/fresh',
      d,
      [
        signLegacyAttestationWithKey(key.sign, {
          digest: d,
          predicateType: VULN,
          predicate: scan(new Date().toISOString(), 0),
        }),
      ],
      'att',
    );
    d = await image('vuln/old-scan');
    await pushLegacySignatures(
      seeder,
      'vuln/old-scan',
      d,
      [
        signLegacyAttestationWithKey(key.sign, {
          digest: d,
          predicateType: VULN,
          predicate: scan(new Date(Date.now() - 10 * DAY).toISOString(), 0),
        }),
      ],
      'att',
    );
    d = await image('vuln/other-key');
    await pushLegacySignatures(
      seeder,
      'vuln/other-key',
      d,
      [
        signLegacyAttestationWithKey(otherKey.sign, {
          digest: d,
          predicateType: VULN,
          predicate: scan(new Date().toISOString(), 0),
        }),
      ],
      'att',
    );
    // maxAge on a key attestation without a log entry: no verified time.
    d = await image('vuln-dated/undated');
    await pushLegacySignatures(
      seeder,
      'vuln-dated/undated',
      d,
      [
        signLegacyAttestationWithKey(key.sign, {
          digest: d,
          predicateType: VULN,
          predicate: scan(new Date().toISOString(), 0),
        }),
      ],
      'att',
    );

    // Third-party material: cosign's OCI attestation (public-good, 2025) and a conformance SLSA v1 bundle.
    const emptyDir = fixturePath('sigstore-bundles', 'cosign', 'reconstructed-empty-image');
    const ociBundle = JSON.parse(
      readFileSync(fixturePath('sigstore-bundles', 'cosign', 'oci-attestation.sigstore.json'), 'utf8'),
    ) as object;
    for (const repo of ['cosign/fresh', 'cosign/stale', 'cosign/false']) {
      await seeder.putBlob(repo, readFileSync(`${emptyDir}/config.json`));
      const manifest = readFileSync(`${emptyDir}/manifest.json`);
      const digest = await seeder.putManifest(repo, manifest, 'latest');
      images[repo] = `${reg.host}/${repo}@${digest}`;
      await referrer(repo, digest, ociBundle);
    }
    d = await image('slsa/conformance');
    await referrer(
      'slsa/conformance',
      d,
      JSON.parse(
        readFileSync(
          fixturePath(
            'sigstore-bundles',
            'sigstore-conformance',
            'happy-path-intoto-in-dsse-v3',
            'bundle.sigstore.json',
          ),
          'utf8',
        ),
      ) as object,
    );

    // Audit mode, and multi-arch images: on the index, on every platform, on one platform only.
    d = await image('audit/log4j');
    await referrer(
      'audit/log4j',
      d,
      await corp.signBundle({ digest: d, identity: CI, predicateType: SPDX, predicate: log4j }),
    );
    const multi = async (repo: string, attest: 'index' | 'platforms' | 'amd64') => {
      const idx = buildIndex(
        ['linux/amd64', 'linux/arm64'].map((platform) =>
          buildImage({
            platform,
            steps: [{ createdBy: `COPY ${repo} ${platform}`, files: { name: `${repo} ${platform}` } }],
          }),
        ),
      );
      await pushIndex(reg.url, repo, 'v1', idx);
      images[repo] = `${reg.host}/${repo}@${idx.index.digest}`;
      const targets =
        attest === 'index'
          ? [idx.index.digest]
          : idx.images
              .filter((i) => attest === 'platforms' || i.platform === 'linux/amd64')
              .map((i) => i.manifest.digest);
      for (const t of targets) {
        await referrer(
          repo,
          t,
          await corp.signBundle({ digest: t, identity: CI, predicateType: SPDX, predicate: clean }),
        );
      }
      return idx;
    };
    await multi('multi/on-index', 'index');
    await multi('multi/per-platform', 'platforms');
    await multi('multi/one-platform', 'amd64');

    // Image signatures with maxAge and claims.
    d = await image('signed/fresh');
    await pushLegacySignatures(seeder, 'signed/fresh', d, [
      await corp.signLegacy({ digest: d, identity: CI }),
    ]);
    d = await image('signed/no-claims');
    await pushLegacySignatures(seeder, 'signed/no-claims', d, [
      await corp.signLegacy({ digest: d, identity: ACME }),
    ]);
    d = await image('signed-old/app');
    await pushLegacySignatures(seeder, 'signed-old/app', d, [
      await old.signLegacy({ digest: d, identity: CI }),
    ]);
    d = await pushSignedImage(seeder, reg.host, 'signed-key/app', key);
    images['signed-key/app'] = `${reg.host}/signed-key/app@${d}`;

    const policyFile = await writePolicyFile(attestationPolicies(reg.host, key.publicPem));
    setup = await buildEngine({
      policy: [policyFile],
      insecureRegistry: [reg.host],
      trustedRoot: [
        `corp=${corp.trustedRootPath}`,
        `old=${old.trustedRootPath}`,
        `fixture-pg=${fixturePath('trust-roots', 'root-signing', 'targets', 'trusted_root.json')}`,
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await setup?.registry.close();
    await reg?.stop();
  });

  describe('when the SBOM is a keyless bundle referrer from the release workflow', () => {
    it('passes when the condition holds, naming the authority', async () => {
      const f = await finding('sbom/clean');
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toContain('attestation sbom: https://spdx.dev/Document for sha256:');
      expect(f.message).toContain('verified by "release"');
      expect(f.details?.attestations).toMatchObject([
        { name: 'sbom', passed: true, satisfiedBy: [{ authority: 'release', format: 'sigstore-bundle' }] },
      ]);
    });

    it('denies with CONDITION_FALSE and the values it read when a forbidden package is listed', async () => {
      const f = await finding('sbom/log4j');
      expect(f.code).toBe('CONDITION_FALSE');
      expect(f.message).toContain('attestation sbom: condition false: !predicate.packages.exists(');
      expect(f.message).toContain('predicate.packages[1].name="log4j-core"');
      expect(f.message).toContain('predicate.packages[1].versionInfo="2.14.1"');
    });

    it('passes the same SBOM stored as a keyless legacy .att layer (Rekor dsse entry)', async () => {
      const f = await finding('sbom/legacy');
      expect(f.code, f.message).toBe('OK');
      expect(f.details?.attestations).toMatchObject([
        { satisfiedBy: [{ authority: 'release', format: 'cosign-legacy', signedAt: expect.any(String) }] },
      ]);
    });

    it('denies with ATTESTATION_MISSING when none is stored', async () => {
      const f = await finding('sbom/none');
      expect(f.code).toBe('ATTESTATION_MISSING');
      expect(f.message).toMatch(/^attestation sbom: no attestation is stored for sha256:[0-9a-f]{64}$/);
    });

    it('denies with CLAIM_MISMATCH when the certificate names another source repository', async () => {
      const f = await finding('sbom/fork');
      expect(f.code).toBe('CLAIM_MISMATCH');
      expect(f.message).toContain(
        'authority "release" verified none of 1: 1 whose certificate claim sourceRepositoryURI is "https://github.com/evil/app" (wanted "https://github.com/acme/app")',
      );
    });

    it('denies with DIGEST_MISMATCH when the statement is about another image', async () => {
      const f = await finding('sbom/other-subject');
      expect(f.code).toBe('DIGEST_MISMATCH');
      expect(f.message).toContain('whose in-toto subject does not name sha256:');
    });

    it('denies with ATTESTATION_TOO_OLD when signed (Rekor time) before maxAge', async () => {
      const f = await finding('stale/sbom');
      expect(f.code).toBe('ATTESTATION_TOO_OLD');
      expect(f.message).toMatch(/newest verified one signed .* \(30d 0h ago\), older than maxAge 7d/);
    });

    it('stops a quadratic condition over a large SBOM with CONDITION_COST_EXCEEDED', async () => {
      const f = await finding('costly/sbom');
      expect(f.code).toBe('CONDITION_COST_EXCEEDED');
      expect(f.message).toContain('read budget');
    });

    it('never reads a predicate over the size limit: PREDICATE_TOO_LARGE', async () => {
      const f = await finding('sbom/huge');
      expect(f.code).toBe('PREDICATE_TOO_LARGE');
      expect(f.message).toMatch(/is \d+ bytes, over the 16777216-byte limit \(not read\)/);
    });
  });

  describe('when the vulnerability scan is a legacy .att signed with a key', () => {
    it('passes a fresh scan without CRITICAL findings', async () => {
      const f = await finding('vuln/fresh');
      expect(f.code, f.message).toBe('OK');
      expect(f.details?.attestations).toMatchObject([{ satisfiedBy: [{ format: 'cosign-legacy' }] }]);
    });

    it('denies a scan older than the condition allows', async () => {
      const f = await finding('vuln/old-scan');
      expect(f.code).toBe('CONDITION_FALSE');
      expect(f.message).toContain('predicate.metadata.scanFinishedOn=');
    });

    it('denies a scan signed with another key: SIGNATURE_INVALID', async () => {
      const f = await finding('vuln/other-key');
      expect(f.code).toBe('SIGNATURE_INVALID');
      expect(f.message).toContain('authority "scanner" verified none of 1');
    });

    it('cannot prove maxAge without a verified signing time: ATTESTATION_AGE_UNKNOWN', async () => {
      const f = await finding('vuln-dated/undated');
      expect(f.code).toBe('ATTESTATION_AGE_UNKNOWN');
    });
  });

  describe('with third-party material', () => {
    it("verifies cosign's OCI attestation bundle and evaluates its predicate", async () => {
      const f = await finding('cosign/fresh');
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toContain('signed 2025-02-28T19:18:11.000Z, condition true');
    });

    it('applies maxAge to its Rekor integrated time', async () => {
      const f = await finding('cosign/stale');
      expect(f.code).toBe('ATTESTATION_TOO_OLD');
      expect(f.message).toContain('newest verified one signed 2025-02-28T19:18:11.000Z');
    });

    it('reports the values a false condition read from it', async () => {
      const f = await finding('cosign/false');
      expect(f.code).toBe('CONDITION_FALSE');
      expect(f.message).toContain('predicate.Data="{\\"foo\\": \\"bar\\"}\\n"');
    });

    it('rejects a genuine SLSA v1 bundle whose subject is another artifact: DIGEST_MISMATCH', async () => {
      const f = await finding('slsa/conformance');
      expect(f.code).toBe('DIGEST_MISMATCH');
      expect(f.message).toContain('authority "github" verified none of 1');
    });
  });

  describe('signature.maxAge and keyless claims', () => {
    it('passes a signature made now by the workflow with the claimed trigger', async () => {
      const f = await finding('signed/fresh', 'signature');
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toMatch(/signed \S+ \(within maxAge 30d\)$/);
    });

    it('denies a certificate without the claim: CLAIM_MISMATCH', async () => {
      const f = await finding('signed/no-claims', 'signature');
      expect(f.code).toBe('CLAIM_MISMATCH');
      expect(f.message).toContain('whose certificate has no githubWorkflowTrigger claim (wanted "push")');
    });

    it('denies an image signed before maxAge: SIGNATURE_TOO_OLD', async () => {
      const f = await finding('signed-old/app', 'signature');
      expect(f.code).toBe('SIGNATURE_TOO_OLD');
      expect(f.message).toMatch(/\(30d 0h ago\), older than maxAge 7d/);
    });

    it('cannot prove freshness of a key signature without a log entry: SIGNATURE_AGE_UNKNOWN', async () => {
      const f = await finding('signed-key/app', 'signature');
      expect(f.code).toBe('SIGNATURE_AGE_UNKNOWN');
    });
  });

  describe('in audit mode', () => {
    it('admits and warns with the same message', async () => {
      const access = await setup.engine.registry!({ namespace: 'default' });
      const verdict = await evaluateImages(
        [images['audit/log4j']!],
        setup.engine.policies(),
        setup.engine.settings,
        {
          namespace: 'default',
          signal: AbortSignal.timeout(60_000),
          registry: access,
        },
      );
      expect(verdict.allowed).toBe(true);
      expect(verdict.audits).toHaveLength(1);
      expect(verdict.audits[0]!.message).toMatch(
        /^attestations CONDITION_FALSE: attestation sbom: condition false: .*predicate\.packages\[1\]\.name="log4j-core"/,
      );
    });
  });

  describe('for multi-arch images', () => {
    it('accepts an attestation on the index for every platform', async () => {
      const f = await finding('multi/on-index');
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toContain(`for ${images['multi/on-index']!.split('@')[1]}`);
    });

    it('accepts one attestation per checked platform', async () => {
      const f = await finding('multi/per-platform');
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toContain('every checked platform carries it: linux/amd64: ');
      expect(f.message).toContain('; linux/arm64: ');
    });

    it('denies when a checked platform has none, naming it', async () => {
      const f = await finding('multi/one-platform');
      expect(f.code).toBe('ATTESTATION_MISSING');
      expect(f.message).toMatch(
        /\| linux\/arm64 \(ATTESTATION_MISSING\): no attestation is stored for sha256:/,
      );
      expect(f.message).not.toContain('linux/amd64 (');
    });
  });
});
