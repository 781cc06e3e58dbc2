/**
 * Issue 15 through the real registry and the product path: required attestations (SBOM bundle
 * referrers, key-signed legacy `.att` scans, third-party material). The seeded registry is
 * test/helpers/attestation-world.ts; signature maxAge/claims, audit mode and multi-arch images are in
 * attestation-modes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { useAttestationWorld, type AttestationWorld } from '../../helpers/attestation-world.js';
import { HAVE_FIXTURES } from '../../helpers/fixtures.js';

describe.skipIf(!HAVE_FIXTURES)('attestation policies through a real registry', () => {
  const world = useAttestationWorld();
  const finding: AttestationWorld['finding'] = (repo, check) => world.finding(repo, check);

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
      expect(f.message).toMatch(/(read|step) budget/);
    });

    it('never reads a predicate over the size limit: PREDICATE_TOO_LARGE', async () => {
      const f = await finding('sbom/huge');
      expect(f.code).toBe('PREDICATE_TOO_LARGE');
      expect(f.message).toMatch(/is \d+ bytes, over the 16777216-byte limit \(not read\)/);
    });
  });

  /** The image's attestations finding has `code` and its message says `says`. */
  const findingSays = async (_what: string, image: string, code: string, says: string) => {
    const f = await finding(image);
    expect(f.code).toBe(code);
    expect(f.message).toContain(says);
  };

  describe('when the vulnerability scan is a legacy .att signed with a key', () => {
    it('passes a fresh scan without CRITICAL findings', async () => {
      const f = await finding('vuln/fresh');
      expect(f.code, f.message).toBe('OK');
      expect(f.details?.attestations).toMatchObject([{ satisfiedBy: [{ format: 'cosign-legacy' }] }]);
    });

    it.each([
      [
        'denies a scan older than the condition allows',
        'vuln/old-scan',
        'CONDITION_FALSE',
        'predicate.metadata.scanFinishedOn=',
      ],
      [
        'denies a scan signed with another key: SIGNATURE_INVALID',
        'vuln/other-key',
        'SIGNATURE_INVALID',
        'authority "scanner" verified none of 1',
      ],
    ])('%s', findingSays);

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

    it.each([
      [
        'applies maxAge to its Rekor integrated time',
        'cosign/stale',
        'ATTESTATION_TOO_OLD',
        'newest verified one signed 2025-02-28T19:18:11.000Z',
      ],
      [
        'reports the values a false condition read from it',
        'cosign/false',
        'CONDITION_FALSE',
        'predicate.Data="{\\"foo\\": \\"bar\\"}\\n"',
      ],
      [
        'rejects a genuine SLSA v1 bundle whose subject is another artifact: DIGEST_MISMATCH',
        'slsa/conformance',
        'DIGEST_MISMATCH',
        'authority "github" verified none of 1',
      ],
    ])('%s', findingSays);
  });
});
