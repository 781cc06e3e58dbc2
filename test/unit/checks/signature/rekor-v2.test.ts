/**
 * Rekor v2 (hashedrekord 0.0.2 over a message signature and over a DSSE envelope) and TSA-only
 * bundles from Sigstore's conformance data, verified through the checks' own verifiers: bundle
 * referrers fetched from a registry, verified against a trusted root loaded like a user's, the
 * verdict and its signing time. The signed artifact (`a.txt`) stands in as the manifest at its digest.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileAttestationVerifier } from '../../../../src/checks/attestations/verify.js';
import { compileSignatureVerifier } from '../../../../src/checks/signature/verifier.js';
import { loadTrustedRoots } from '../../../../src/checks/signature/trusted-roots.js';
import type { SignatureSpec } from '../../../../src/checks/signature/schema.js';
import { parseReference, type ImageReference } from '../../../../src/registry/reference.js';
import type { FetchedManifest } from '../../../../src/registry/types.js';
import { pushBundleReferrer } from '../../../helpers/cosign-push.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import { MemoryRegistry, sha256 } from '../../../helpers/memory-registry.js';
import { signal } from '../../../helpers/signature-setup.js';

const CONF = (...p: string[]): string => fixturePath('sigstore-bundles', 'sigstore-conformance', ...p);
const REPO = 'registry.imagegate.test/conformance';
const BEACON = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject:
    'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
};

/** A registry whose "manifest" at the artifact's digest is the artifact (what the bundles sign). */
class ArtifactRegistry extends MemoryRegistry {
  constructor(private readonly artifact: Buffer) {
    super();
  }
  override async getManifest(
    ref: ImageReference,
    tagOrDigest: string,
    s: AbortSignal,
  ): Promise<FetchedManifest> {
    if (tagOrDigest !== sha256(this.artifact)) return super.getManifest(ref, tagOrDigest, s);
    const json = { schemaVersion: 2, mediaType: 'application/octet-stream', config: undefined, layers: [] };
    return {
      kind: 'image',
      digest: tagOrDigest,
      mediaType: 'application/octet-stream',
      bytes: this.artifact,
      json: json as unknown as Extract<FetchedManifest, { kind: 'image' }>['json'],
    };
  }
}

async function world(dir: string, edit: (bundle: Record<string, unknown>) => void = () => undefined) {
  const artifact = readFileSync(CONF('a.txt'));
  const digest = sha256(artifact);
  const reg = new ArtifactRegistry(artifact);
  const bundle = JSON.parse(readFileSync(CONF(dir, 'bundle.sigstore.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  edit(bundle);
  const seeder = {
    putBlob: async (_r: string, b: Buffer) => void reg.putBlob(b),
    putManifest: async (repo: string, b: Buffer, tag?: string) => reg.putManifest(repo, b, tag),
  };
  const subject = { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: artifact.length };
  await pushBundleReferrer(seeder, REPO, subject, bundle);
  const trustedRoots = await loadTrustedRoots({
    files: [{ name: 'conformance', path: CONF(dir, 'trusted_root.json') }],
    offline: true,
  });
  return { reg, digest, ref: parseReference(`${REPO}@${digest}`), trustedRoots };
}

const keyless = (transparencyLog?: 'required' | 'optional'): SignatureSpec => ({
  authorities: [{ name: 'beacon', keyless: { ...BEACON, trustedRoot: 'conformance' } }],
  ...(transparencyLog !== undefined ? { transparencyLog } : {}),
});

/** The bundle without its log entries: a certificate and an RFC 3161 timestamp only. */
const withoutTlog = (bundle: Record<string, unknown>): void => {
  (bundle.verificationMaterial as { tlogEntries: unknown[] }).tlogEntries = [];
};

describe.skipIf(!HAVE_FIXTURES)('Rekor v2 and TSA-only bundles through the checks', () => {
  describe('when a message signature is logged in Rekor v2 (hashedrekord 0.0.2)', () => {
    it('passes the signature check, signed at the TSA time', async () => {
      const w = await world('rekor2-happy-path');
      const v = compileSignatureVerifier(keyless(), 'test', { trustedRoots: w.trustedRoots });
      const verdict = await v.verify(w.reg, w.ref, w.digest, signal());
      expect(verdict.code, verdict.message).toBe('OK');
      expect(verdict.signatures[0]).toMatchObject({ tlogEntries: 1, timeSource: 'tsa' });
    });
  });

  describe('when a DSSE attestation is logged in Rekor v2 (hashedrekord 0.0.2 over DSSE)', () => {
    it('is a verified SLSA v1 attestation for the digest', async () => {
      const w = await world('rekor2-dsse-happy-path');
      const v = compileAttestationVerifier(
        { name: 'provenance', predicateType: 'slsaprovenance1', authorities: keyless().authorities },
        'test',
        { trustedRoots: w.trustedRoots },
      );
      const evidence = await v.gather(w.reg, w.ref, w.digest, [], signal());
      expect(evidence.top.rejections).toEqual([]);
      expect(evidence.top.verified).toHaveLength(1);
      expect(evidence.top.verified[0]).toMatchObject({ kind: 'attestation', timeSource: 'tsa' });
    });
  });

  describe('when the bundle has an RFC 3161 timestamp and no log entry (TSA-only)', () => {
    it('passes when the policy makes the log optional, signed at the TSA time', async () => {
      const w = await world('rekor2-happy-path', withoutTlog);
      const v = compileSignatureVerifier(keyless('optional'), 'test', { trustedRoots: w.trustedRoots });
      const verdict = await v.verify(w.reg, w.ref, w.digest, signal());
      expect(verdict.code, verdict.message).toBe('OK');
      expect(verdict.signatures[0]).toMatchObject({ tlogEntries: 0, timeSource: 'tsa' });
    });

    it('is TLOG_MISSING when the log is required (the keyless default)', async () => {
      const w = await world('rekor2-happy-path', withoutTlog);
      const v = compileSignatureVerifier(keyless(), 'test', { trustedRoots: w.trustedRoots });
      const verdict = await v.verify(w.reg, w.ref, w.digest, signal());
      expect(verdict.code).toBe('TLOG_MISSING');
    });

    it('is TIMESTAMP_INVALID against a root without its timestamp authority (checked first)', async () => {
      const w = await world('rekor2-happy-path', withoutTlog);
      const other = await loadTrustedRoots({
        files: [{ name: 'conformance', path: CONF('intoto-with-custom-trust-root', 'trusted_root.json') }],
        offline: true,
      });
      const v = compileSignatureVerifier(keyless('optional'), 'test', { trustedRoots: other });
      const verdict = await v.verify(w.reg, w.ref, w.digest, signal());
      expect(verdict.code).toBe('TIMESTAMP_INVALID');
    });
  });
});
