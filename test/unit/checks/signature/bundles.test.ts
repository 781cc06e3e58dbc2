/**
 * sigstore-conformance bundles (happy paths and _fail cases), sigstore-go bundles, verified through
 * the same candidate verifier the check uses, with the artifact each bundle signs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileAuthorities } from '../../../../src/checks/signature/authorities.js';
import { toBundleFromJSON } from '../../../../src/checks/signature/bundle-json.js';
import { loadTrustedRoots } from '../../../../src/checks/signature/trusted-roots.js';
import { verifyCandidate } from '../../../../src/checks/signature/verify.js';
import type { Candidate } from '../../../../src/checks/signature/fetch.js';
import type { SignatureSpec } from '../../../../src/checks/signature/schema.js';
import { PUBLIC_GOOD_ROOT } from '../../../helpers/cosign-fixtures.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import { sha256 } from '../../../helpers/memory-registry.js';

const CONF = (...p: string[]): string => fixturePath('sigstore-bundles', 'sigstore-conformance', ...p);
const IDENTITY = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject:
    'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
};

interface Row {
  dir: string;
  expect: string;
  note?: string;
  /** What the rejection's reason must say. */
  reason?: string;
}

const ROWS: Row[] = [
  { dir: 'happy-path-v0.1', expect: 'OK' },
  { dir: 'happy-path-v0.2', expect: 'OK' },
  { dir: 'happy-path-v0.3', expect: 'OK' },
  { dir: 'happy-path-v0.3-new-mediaType', expect: 'OK' },
  { dir: 'happy-path-intoto-in-dsse-v3', expect: 'OK' },
  { dir: 'managed-key-happy-path', expect: 'OK' },
  { dir: 'managed-key-and-trusted-root', expect: 'OK' },
  { dir: 'rekor2-happy-path', expect: 'OK' },
  { dir: 'intoto-with-custom-trust-root', expect: 'OK' },
  { dir: 'rekor2-dsse-happy-path', expect: 'OK', note: 'Rekor v2 hashedrekord over DSSE' },
  { dir: 'signature-mismatch_fail', expect: 'TLOG_INVALID' },
  { dir: 'set-invalid-signature_fail', expect: 'TLOG_INVALID' },
  {
    dir: 'invalid-inclusion-proof_fail',
    expect: 'SIGNATURE_MALFORMED',
    note: 'rejected at bundle parse (no checkpoint)',
    reason:
      'invalid v0.2 bundle: missing or invalid verificationMaterial.tlogEntries[0].inclusionProof.checkpoint',
  },
  { dir: 'wrong-material_fail', expect: 'SIGNATURE_INVALID' },
  { dir: 'intoto-expired-certificate_fail', expect: 'CERTIFICATE_INVALID' },
  { dir: 'bundle-from-wrong-instance_fail', expect: 'CERTIFICATE_INVALID' },
];

function candidateFor(bundlePath: string, artifact: Buffer): Candidate {
  const source = bundlePath;
  let bundle;
  try {
    bundle = toBundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
  } catch (err) {
    return { ok: false, source, reason: (err as Error).message };
  }
  return { ok: true, source, format: 'sigstore-bundle', subjectDigest: sha256(artifact), bundle, artifact };
}

async function verifyRow(dir: string): Promise<{ code: string; reason?: string }> {
  const rootFile = CONF(dir, 'trusted_root.json');
  const roots = await loadTrustedRoots({
    files: [{ name: 'public-good', path: existsSync(rootFile) ? rootFile : PUBLIC_GOOD_ROOT() }],
    offline: true,
  });
  const keyFile = CONF(dir, 'key.pub');
  const spec: SignatureSpec = existsSync(keyFile)
    ? {
        authorities: [{ name: 'managed', key: { pem: readFileSync(keyFile, 'utf8') } }],
        transparencyLog: 'required',
      }
    : { authorities: [{ name: 'beacon', keyless: IDENTITY }] };
  const [authority] = compileAuthorities(spec, 'test', { trustedRoots: roots }).authorities;
  const artifactFile = existsSync(CONF(dir, 'artifact')) ? CONF(dir, 'artifact') : CONF('a.txt');
  const candidate = candidateFor(CONF(dir, 'bundle.sigstore.json'), readFileSync(artifactFile));
  const result = await verifyCandidate(candidate, authority!, {
    trustedRoots: roots,
    signal: AbortSignal.timeout(10_000),
    manifestBytes: () => Promise.reject(new Error('not used')),
  });
  return result.ok ? { code: 'OK' } : { code: result.rejection.code, reason: result.rejection.reason };
}

describe.skipIf(!HAVE_FIXTURES)('verifying sigstore-conformance bundles', () => {
  for (const row of ROWS) {
    it(`${row.dir} → ${row.expect}${row.note !== undefined ? ` (${row.note})` : ''}`, async () => {
      const r = await verifyRow(row.dir);
      expect(r.code, r.reason).toBe(row.expect);
      if (row.reason !== undefined) expect(r.reason).toContain(row.reason);
    });
  }
});

describe('toBundleFromJSON', () => {
  describe('when the bundle is invalid', () => {
    it('names the invalid fields', () => {
      expect(() => toBundleFromJSON({ mediaType: 'application/json' })).toThrow(
        /^invalid bundle: missing or invalid mediaType, content, verificationMaterial$/,
      );
    });

    it('says why when it is not a bundle at all', () => {
      expect(() => toBundleFromJSON(null)).toThrow(/^invalid bundle: \S/);
    });
  });
});
