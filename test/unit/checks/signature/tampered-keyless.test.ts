/**
 * What a tampered keyless signature really reports (docs/signatures.md, "Denials"): each way of
 * altering a correctly made signature, in both storage formats, and the code the verdict carries.
 * Keyless signatures carry a transparency-log entry that binds signature, certificate and payload,
 * so most tampering is caught by the log check before the signature itself is tried.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileSignatureVerifier,
  loadTrustedRoots,
  parseTrustedRootFlag,
  type TrustedRootStore,
} from '../../../../src/checks/signature/index.js';
import { COSIGN_SIGN_PREDICATE } from '../../../../src/checks/signature/signed-payload.js';
import type { SignatureSpec } from '../../../../src/checks/signature/schema.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { pushBundleFor, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { MemoryRegistry } from '../../../helpers/memory-registry.js';
import { signal, tempDir } from '../../../helpers/signature-setup.js';
import {
  ACME,
  EVIL,
  createTestInstance,
  type LegacySignature,
  type TestInstance,
} from '../../../helpers/test-sigstore.js';
import { ociImageManifest } from '../../../helpers/oci-manifest.js';

const REPO = 'registry.imagegate.test/app';
const SIG = 'dev.cosignproject.cosign/signature';
const CERT = 'dev.sigstore.cosign/certificate';
const SPEC: SignatureSpec = {
  authorities: [{ name: 'ci', keyless: { issuer: ACME.issuer, subject: ACME.subject, trustedRoot: 'test' } }],
};

type Bundle = {
  verificationMaterial: { certificate: { rawBytes: string } };
  dsseEnvelope: { payload: string; signatures: { sig: string }[] };
};

function flipLastByte(b64: string): string {
  const raw = Buffer.from(b64, 'base64');
  raw[raw.length - 1]! ^= 0x01;
  return raw.toString('base64');
}

let counter = 0;
describe('a tampered keyless signature', () => {
  let instance: TestInstance;
  let roots: TrustedRootStore;

  beforeAll(async () => {
    instance = await createTestInstance(tempDir());
    roots = await loadTrustedRoots({
      files: [parseTrustedRootFlag(`test=${instance.trustedRootPath}`)],
      offline: true,
    });
  });

  async function verdictFor(store: (reg: MemoryRegistry, digest: string) => Promise<void>) {
    const reg = new MemoryRegistry();
    counter += 1;
    const manifest = ociImageManifest({ digest: `sha256:${String(counter).padStart(64, '0')}`, size: 2 });
    const digest = reg.putManifest(REPO, manifest);
    await store(reg, digest);
    const v = compileSignatureVerifier(SPEC, 'test', { trustedRoots: roots });
    return v.verify(reg, parseReference(`${REPO}@${digest}`), digest, signal());
  }

  const seeder = (reg: MemoryRegistry) => ({
    putBlob: async (_r: string, b: Buffer) => void reg.putBlob(b),
    putManifest: async (repo: string, b: Buffer, tag?: string) => reg.putManifest(repo, b, tag),
  });

  describe('in the legacy .sig format', () => {
    async function legacy(tamper: (s: LegacySignature) => Promise<void> | void) {
      return verdictFor(async (reg, d) => {
        const sig = await instance.signLegacy({ digest: d, identity: ACME });
        await tamper(sig);
        await pushLegacySignatures(seeder(reg), REPO, d, [sig]);
      });
    }

    it('is untampered: OK (the control)', async () => {
      expect((await legacy(() => undefined)).code).toBe('OK');
    });
    it('with a bit flipped in the signature: TLOG_INVALID', async () => {
      const v = await legacy((s) => void (s.annotations[SIG] = flipLastByte(s.annotations[SIG]!)));
      expect(v.code).toBe('TLOG_INVALID');
    });
    it('with the payload altered: TLOG_INVALID', async () => {
      const v = await legacy(
        (s) =>
          void (s.payload = Buffer.from(
            s.payload.toString().replace('"optional":null', '"optional":{"x":"y"}'),
          )),
      );
      expect(v.code).toBe('TLOG_INVALID');
    });
    it('with another certificate of the same identity swapped in: SIGNATURE_INVALID', async () => {
      const other = await instance.signLegacy({ digest: 'sha256:' + '0'.repeat(64), identity: ACME });
      const v = await legacy((s) => void (s.annotations[CERT] = other.annotations[CERT]!));
      expect(v.code).toBe('SIGNATURE_INVALID');
    });
    it('with an attacker certificate and signature (its own log entry) swapped in: IDENTITY_MISMATCH', async () => {
      const v = await verdictFor(async (reg, d) => {
        await pushLegacySignatures(seeder(reg), REPO, d, [
          await instance.signLegacy({ digest: d, identity: EVIL }),
        ]);
      });
      expect(v.code).toBe('IDENTITY_MISMATCH');
    });
  });

  describe('in the Sigstore bundle format (OCI referrer)', () => {
    async function bundle(tamper: (b: Bundle) => void) {
      return verdictFor(async (reg, d) => {
        const b = (await instance.signBundle({
          digest: d,
          identity: ACME,
          predicateType: COSIGN_SIGN_PREDICATE,
        })) as Bundle;
        tamper(b);
        await pushBundleFor(seeder(reg), REPO, d, b);
      });
    }

    it('is untampered: OK (the control)', async () => {
      expect((await bundle(() => undefined)).code).toBe('OK');
    });
    it('with a bit flipped in the DSSE signature: TLOG_INVALID', async () => {
      const v = await bundle(
        (b) => void (b.dsseEnvelope.signatures[0]!.sig = flipLastByte(b.dsseEnvelope.signatures[0]!.sig)),
      );
      expect(v.code).toBe('TLOG_INVALID');
    });
    it('with the DSSE payload altered: TLOG_INVALID', async () => {
      const v = await bundle((b) => {
        const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()) as Record<
          string,
          unknown
        >;
        statement.predicate = { tampered: true };
        b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
      });
      expect(v.code).toBe('TLOG_INVALID');
    });
    it('made by the attacker (its own certificate and log entry): IDENTITY_MISMATCH', async () => {
      const v = await verdictFor(async (reg, d) => {
        const b = await instance.signBundle({
          digest: d,
          identity: EVIL,
          predicateType: COSIGN_SIGN_PREDICATE,
        });
        await pushBundleFor(seeder(reg), REPO, d, b);
      });
      expect(v.code).toBe('IDENTITY_MISMATCH');
    });
  });
});

describe('a keyless identity pattern that would backtrack catastrophically', () => {
  it('judges a certificate whose SAN is crafted for it at once (RE2: linear time)', async () => {
    const instance = await createTestInstance(tempDir());
    const roots = await loadTrustedRoots({
      files: [parseTrustedRootFlag(`test=${instance.trustedRootPath}`)],
      offline: true,
    });
    const reg = new MemoryRegistry();
    const manifest = ociImageManifest({ digest: `sha256:${'e'.repeat(64)}`, size: 2 });
    const digest = reg.putManifest(REPO, manifest);
    // A backtracking engine tries 2^n ways to split the a's before failing on the final "!".
    const crafted = { issuer: ACME.issuer, subject: `${'a'.repeat(5000)}!` };
    await pushLegacySignatures(
      {
        putBlob: async (_r, b) => void reg.putBlob(b),
        putManifest: async (repo, b, tag) => reg.putManifest(repo, b, tag),
      },
      REPO,
      digest,
      [await instance.signLegacy({ digest, identity: crafted })],
    );
    const spec: SignatureSpec = {
      authorities: [
        { name: 'ci', keyless: { issuer: ACME.issuer, subjectRegExp: '(a+)+$', trustedRoot: 'test' } },
      ],
    };
    const v = await compileSignatureVerifier(spec, 'test', { trustedRoots: roots }).verify(
      reg,
      parseReference(`${REPO}@${digest}`),
      digest,
      signal(),
    );
    expect(v.code).toBe('IDENTITY_MISMATCH');
    expect(v.message).toContain('(wanted /^(?:(a+)+$)$/)');
  });
});
