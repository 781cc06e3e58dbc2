/**
 * Several keyless authorities on one trusted root: a signature's certificate, SCTs, log entry and
 * signature are verified once (certificate-signature.ts, KeylessProofs), and each authority still
 * checks its own identity.
 */
import { Verifier } from '@sigstore/verify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SignatureSpec } from '../../../../src/checks/signature/schema.js';
import { pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { ACME, EVIL } from '../../../helpers/test-sigstore.js';
import { useTestSigstore } from '../../../helpers/signed-here-rig.js';

const twoAuthorities = (threshold: number): SignatureSpec => ({
  authorities: [
    { name: 'ci', keyless: { issuer: ACME.issuer, subject: ACME.subject, trustedRoot: 'test' } },
    { name: 'release', keyless: { issuer: EVIL.issuer, subject: EVIL.subject, trustedRoot: 'test' } },
  ],
  threshold,
});

describe('keyless authorities sharing a trusted root', () => {
  const rig = useTestSigstore();
  afterEach(() => vi.restoreAllMocks());

  it('verifies each signature once and checks every identity', async () => {
    const verify = vi.spyOn(Verifier.prototype, 'verify');
    const verdict = await rig.verify(twoAuthorities(1), async (s, d) => {
      await pushLegacySignatures(s, rig.repo, d, [
        await rig.instance.signLegacy({ digest: d, identity: ACME }),
        await rig.instance.signLegacy({ digest: d, identity: EVIL }),
      ]);
    });
    expect(verdict.code, verdict.message).toBe('OK');
    expect(verify).toHaveBeenCalledTimes(2); // two signatures, two authorities
    const by = verdict.signatures.map((s) => `${s.authority} ${s.signer.subject}`).sort();
    expect(by).toEqual([`ci ${ACME.subject}`, `release ${EVIL.subject}`]);
  });

  it('still denies an identity no authority wants', async () => {
    const verify = vi.spyOn(Verifier.prototype, 'verify');
    const verdict = await rig.verify(twoAuthorities(2), async (s, d) => {
      await pushLegacySignatures(s, rig.repo, d, [
        await rig.instance.signLegacy({ digest: d, identity: ACME }),
      ]);
    });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verdict.code).toBe('THRESHOLD_NOT_MET');
    expect(verdict.message).toContain('authority "ci" verified');
    expect(verdict.message).toContain('no signature from authority "release" verified');
    expect(verdict.message).toContain(`by subject ${ACME.subject} (wanted ${EVIL.subject})`);
  });

  it('gives every authority the rejection of a signature that does not verify', async () => {
    const verify = vi.spyOn(Verifier.prototype, 'verify');
    const verdict = await rig.verify(twoAuthorities(1), async (s, d) => {
      const sig = await rig.instance.signLegacy({ digest: d, identity: ACME });
      const raw = Buffer.from(sig.annotations['dev.cosignproject.cosign/signature']!, 'base64');
      raw[raw.length - 1]! ^= 0x01;
      sig.annotations['dev.cosignproject.cosign/signature'] = raw.toString('base64');
      await pushLegacySignatures(s, rig.repo, d, [sig]);
    });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verdict.passed).toBe(false);
    expect(verdict.code).toBe('TLOG_INVALID');
    expect(verdict.message).toContain('no signature from authority "ci" verified: found 1 signature; 1 ');
    expect(verdict.message).toContain(
      'no signature from authority "release" verified: found 1 signature; 1 ',
    );
  });
});
