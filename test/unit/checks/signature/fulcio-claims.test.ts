/**
 * Keyless `claims`: compiled from the policy (unknown names and bad patterns are policy errors), read
 * from real Fulcio certificates (the sigstore-conformance GitHub Actions bundle carries every
 * extension), and enforced by the candidate verifier the checks use.
 */
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { compileAuthorities } from '../../../../src/checks/signature/authorities.js';
import type { Candidate } from '../../../../src/checks/signature/fetch.js';
import {
  compileClaims,
  readClaims,
  type CertificateOid,
} from '../../../../src/checks/signature/fulcio-claims.js';
import { loadTrustedRoots } from '../../../../src/checks/signature/trusted-roots.js';
import { verifyCandidate } from '../../../../src/checks/signature/verify.js';
import { PUBLIC_GOOD_ROOT } from '../../../helpers/cosign-fixtures.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import { sha256 } from '../../../helpers/memory-registry.js';

const CONF = (...p: string[]): string => fixturePath('sigstore-bundles', 'sigstore-conformance', ...p);
const REPO = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon';

function bundleJson(): { verificationMaterial: { certificate: { rawBytes: string } } } {
  return JSON.parse(readFileSync(CONF('happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json'), 'utf8'));
}

/** The extensions as sigstore-js's Signer exposes them (identity.oids). */
function oidsOf(der: Buffer): CertificateOid[] {
  const cert = X509Certificate.parse(Buffer.from(der));
  return cert.extensions.map((e) => ({
    oid: { id: e.subs[0]!.toOID().split('.').map(Number) },
    value: e.subs[e.subs.length - 1]!.value,
  }));
}

describe('compileClaims', () => {
  it('rejects an unknown claim name, listing the known ones', () => {
    expect(() => compileClaims({ sourceRepo: 'x' }, 'spec.signature.authorities[0].keyless')).toThrowWithCode(
      'POLICY_INVALID',
      /spec\.signature\.authorities\[0\]\.keyless\.claims\.sourceRepo: unknown claim \(known: issuer, githubWorkflowTrigger,/,
    );
  });

  it('rejects both forms of one claim and an invalid pattern', () => {
    expect(() => compileClaims({ buildTrigger: 'push', buildTriggerRegExp: 'p.*' }, 'k')).toThrow(
      'give buildTrigger or buildTriggerRegExp, not both',
    );
    expect(() => compileClaims({ sourceRepositoryRefRegExp: '(' }, 'k')).toThrow(
      'k.claims.sourceRepositoryRefRegExp: invalid regular expression',
    );
  });

  it('anchors patterns', () => {
    const [m] = compileClaims({ sourceRepositoryURIRegExp: 'https://github\\.com/acme/.*' }, 'k');
    expect(m!.test('https://github.com/acme/app')).toBe(true);
    expect(m!.test('https://evil.example/https://github.com/acme/app')).toBe(false);
  });
});

describe.skipIf(!HAVE_FIXTURES)('readClaims on a real GitHub Actions Fulcio certificate', () => {
  it('decodes the v2 (DER) and the older raw GitHub workflow extensions', () => {
    const der = Buffer.from(bundleJson().verificationMaterial.certificate.rawBytes, 'base64');
    expect(readClaims(oidsOf(der))).toMatchObject({
      issuer: 'https://token.actions.githubusercontent.com',
      githubWorkflowTrigger: 'workflow_dispatch',
      githubWorkflowRepository: 'sigstore-conformance/extremely-dangerous-public-oidc-beacon',
      githubWorkflowRef: 'refs/heads/main',
      sourceRepositoryURI: REPO,
      sourceRepositoryRef: 'refs/heads/main',
      sourceRepositoryOwnerURI: 'https://github.com/sigstore-conformance',
      runnerEnvironment: 'github-hosted',
      buildTrigger: 'workflow_dispatch',
      sourceRepositoryVisibilityAtSigning: 'public',
    });
  });
});

describe.skipIf(!HAVE_FIXTURES)('keyless authorities with claims, verifying the real SLSA v1 bundle', () => {
  async function verifyWith(claims: Record<string, string>) {
    const roots = await loadTrustedRoots({
      files: [{ name: 'public-good', path: PUBLIC_GOOD_ROOT() }],
      offline: true,
    });
    const { authorities } = compileAuthorities(
      {
        authorities: [
          {
            name: 'beacon',
            keyless: {
              issuer: 'https://token.actions.githubusercontent.com',
              subjectRegExp: `${REPO}/.*`,
              claims,
            },
          },
        ],
      },
      'test',
      { trustedRoots: roots },
    );
    // The statement's subject is a.txt: the candidate is "found under" that digest.
    const candidate: Candidate = {
      ok: true,
      source: 'conformance',
      format: 'sigstore-bundle',
      subjectDigest: sha256(readFileSync(CONF('a.txt'))),
      bundle: bundleFromJSON(bundleJson()),
    };
    return verifyCandidate(candidate, authorities[0]!, {
      trustedRoots: roots,
      signal: AbortSignal.timeout(10_000),
      manifestBytes: () => Promise.reject(new Error('not needed for DSSE')),
    });
  }

  it('accepts matching claims, exact and by pattern', async () => {
    const r = await verifyWith({
      sourceRepositoryURI: REPO,
      githubWorkflowTriggerRegExp: 'workflow_dispatch|push',
      runnerEnvironment: 'github-hosted',
    });
    expect(r.ok && r.item.predicateType).toBe('https://slsa.dev/provenance/v1');
  });

  it('rejects a claim that differs with CLAIM_MISMATCH, saying what it found', async () => {
    const r = await verifyWith({ sourceRepositoryURI: REPO, buildTrigger: 'push' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejection.code).toBe('CLAIM_MISMATCH');
    expect(r.rejection.reason).toBe(
      'whose certificate claim buildTrigger is "workflow_dispatch" (wanted "push")',
    );
  });
});
