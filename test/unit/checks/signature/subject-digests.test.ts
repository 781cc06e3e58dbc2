/**
 * In-toto subjects name an image on every digest algorithm they list (sha256, sha512, several):
 * the pure rule, then through the attestation verifier over a key-signed bundle referrer.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileAttestationVerifier } from '../../../../src/checks/attestations/verify.js';
import { loadTrustedRoots } from '../../../../src/checks/signature/trusted-roots.js';
import { subjectsName } from '../../../../src/checks/signature/subject-digests.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { pushBundleReferrer } from '../../../helpers/cosign-push.js';
import { signal } from '../../../helpers/signature-setup.js';
import { REPO, SLSA, imageManifest, memory } from '../../../helpers/signed-here-rig.js';
import { keyPair, signBundleWithKey } from '../../../helpers/test-sigstore.js';

const manifest = imageManifest();
const hex = (alg: string, bytes: Buffer = manifest) => createHash(alg).update(bytes).digest('hex');
const DIGEST = `sha256:${hex('sha256')}`;
const other = Buffer.from('another artifact');

describe('subjectsName', () => {
  it('matches the digest on its own algorithm without reading the manifest', () => {
    expect(subjectsName([{ digest: { sha256: hex('sha256') } }], DIGEST)).toBe(true);
  });

  it('matches a subject naming the image by sha512 alone', () => {
    expect(subjectsName([{ digest: { sha512: hex('sha512') } }], DIGEST, manifest)).toBe(true);
  });

  it('matches a subject naming the image by sha256 and sha512', () => {
    const digest = { sha256: hex('sha256'), sha512: hex('sha512') };
    expect(subjectsName([{ digest }], DIGEST, manifest)).toBe(true);
  });

  describe('when one of the algorithms names another artifact', () => {
    it('does not match (not even when sha256 does)', () => {
      const digest = { sha256: hex('sha256'), sha512: hex('sha512', other) };
      expect(subjectsName([{ digest }], DIGEST, manifest)).toBe(false);
    });
  });

  it('does not match other algorithms without the manifest bytes', () => {
    expect(subjectsName([{ digest: { sha512: hex('sha512') } }], DIGEST)).toBe(false);
  });

  it('does not match a weak algorithm alone, nor an unknown one, nor an empty set', () => {
    expect(subjectsName([{ digest: { sha1: hex('sha1') } }], DIGEST, manifest)).toBe(false);
    expect(subjectsName([{ digest: { sha256: hex('sha256'), gitCommit: 'abc' } }], DIGEST, manifest)).toBe(
      false,
    );
    expect(subjectsName([{ digest: {} }, { digest: null }, null, 'x'], DIGEST, manifest)).toBe(false);
  });

  it('matches when any one subject names the image', () => {
    const subjects = [{ digest: { sha512: hex('sha512', other) } }, { digest: { sha512: hex('sha512') } }];
    expect(subjectsName(subjects, DIGEST, manifest)).toBe(true);
  });
});

describe('an attestation whose subject lists several digests', () => {
  const k = keyPair('ec-p256');

  async function gather(subjectDigests: Record<string, string>) {
    const { reg, seeder } = memory();
    const digest = reg.putManifest(REPO, manifest);
    const bundle = signBundleWithKey(k.sign, { digest, predicateType: SLSA, subjectDigests });
    const subject = {
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: manifest.length,
    };
    await pushBundleReferrer(seeder, REPO, subject, bundle);
    const verifier = compileAttestationVerifier(
      { name: 'provenance', predicateType: SLSA, authorities: [{ name: 'ci', key: { pem: k.publicPem } }] },
      'test',
      { trustedRoots: await loadTrustedRoots({ offline: true }) },
    );
    const evidence = await verifier.gather(reg, parseReference(`${REPO}@${digest}`), digest, [], signal());
    return evidence.top;
  }

  it('is verified when it names the image by sha512 only', async () => {
    const top = await gather({ sha512: hex('sha512') });
    expect(top.rejections).toEqual([]);
    expect(top.verified).toHaveLength(1);
  });

  it('is rejected with DIGEST_MISMATCH when its sha512 names another artifact', async () => {
    const top = await gather({ sha256: hex('sha256'), sha512: hex('sha512', other) });
    expect(top.verified).toEqual([]);
    expect(top.rejections.map((r) => r.code)).toEqual(['DIGEST_MISMATCH']);
    expect(top.rejections[0]!.reason).toContain('on every digest algorithm it lists');
  });
});
