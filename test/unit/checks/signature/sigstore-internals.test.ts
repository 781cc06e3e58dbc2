/**
 * The sigstore-js internal behind src/checks/signature/sigstore-internals.ts, exercised against a
 * real chain: if a release moves `verifyCertificate` the adapter's import fails and this file with it;
 * if it renames or reshapes it, these assertions fail.
 */
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toTrustMaterial } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { toVerifiableEntity } from '../../../../src/checks/signature/signed-entity.js';
import {
  verifyCertificateChainAt,
  type LeafCertificate,
} from '../../../../src/checks/signature/sigstore-internals.js';
import { toTrustedRoot } from '../../../../src/checks/signature/trusted-roots.js';
import { tempDir } from '../../../helpers/signature-setup.js';
import { ACME, createTestInstance, type TestInstance } from '../../../helpers/test-sigstore.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function material(instance: TestInstance) {
  return toTrustMaterial(toTrustedRoot(readFileSync(instance.trustedRootPath, 'utf8'), 'test'));
}

describe('sigstore-internals', () => {
  let instance: TestInstance;
  let other: TestInstance;
  let leaf: LeafCertificate;

  beforeAll(async () => {
    instance = await createTestInstance(tempDir());
    other = await createTestInstance(tempDir());
    const bundle = bundleFromJSON(
      await instance.signBundle({ digest: DIGEST, identity: ACME, predicateType: 'https://example.test/p' }),
    );
    const entity = toVerifiableEntity(bundle, undefined);
    if (entity.key.$case !== 'certificate') throw new Error('the test instance signs with certificates');
    leaf = entity.key.certificate;
  });

  describe('when the leaf chains to the root', () => {
    it('returns the signer identity from the certificate and its verified SCTs', () => {
      const result = verifyCertificateChainAt(leaf, new Date(), material(instance));
      expect(result.signer.identity?.subjectAlternativeName).toBe(ACME.subject);
      expect(result.signer.identity?.extensions?.issuer).toBe(ACME.issuer);
      expect(result.signer.key.asymmetricKeyType).toBe('ec');
      expect(result.sctCount).toBeGreaterThan(0);
    });
  });

  describe('when the leaf comes from another CA', () => {
    it('throws a sigstore VerificationError', () => {
      expect(() => verifyCertificateChainAt(leaf, new Date(), material(other))).toThrow(
        expect.objectContaining({ name: 'VerificationError', code: 'CERTIFICATE_ERROR' }),
      );
    });
  });
});
