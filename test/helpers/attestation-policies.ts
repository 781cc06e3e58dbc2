/**
 * ImagePolicy documents for the attestation tests (issue 15), one per repository prefix of the test
 * registry, written as users write them (YAML), with the test instances' trusted roots by name:
 * `corp` and `old` (private Sigstore instances) and `fixture-pg` (the public-good root file).
 */
import { stringify } from 'yaml';
import { ACME } from './test-sigstore.js';

export const SPDX = 'https://spdx.dev/Document';
export const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
export const COSIGN_CUSTOM = 'https://cosign.sigstore.dev/attestation/v1';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';

/** What the release workflow's Fulcio certificates carry in the tests. */
export const GITHUB_CLAIMS = {
  sourceRepositoryURI: 'https://github.com/acme/app',
  sourceRepositoryRef: 'refs/heads/main',
  buildSignerURI: ACME.subject,
  runnerEnvironment: 'github-hosted',
  githubWorkflowTrigger: 'push',
};

const NO_LOG4J = '!predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14"))';
const FRESH_SCAN =
  'timestamp(predicate.metadata.scanFinishedOn) > now - duration("168h") && predicate.scanner.result.summary.CRITICAL == 0';

function release(trustedRoot: string, claims: Record<string, string>) {
  return {
    name: 'release',
    keyless: { issuer: ACME.issuer, subject: ACME.subject, trustedRoot, claims },
  };
}
const CLAIMS = { sourceRepositoryURI: 'https://github.com/acme/app', githubWorkflowTrigger: 'push' };
const cody = {
  name: 'cody',
  keyless: {
    issuer: 'https://github.com/login/oauth',
    subject: 'cody@soyland.com',
    trustedRoot: 'fixture-pg',
  },
};
/** cosign's custom predicate (cosign attest --type custom) by cody, under `condition`. */
const custom = (condition: string) => ({
  name: 'custom',
  predicateType: COSIGN_CUSTOM,
  authorities: [cody],
  condition,
});

function policy(name: string, glob: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: { mode: 'enforce', onError: 'deny', images: [{ glob }], ...spec },
  };
}

export function attestationPolicies(host: string, keyPem: string): string {
  const scanner = { name: 'scanner', key: { pem: keyPem } };
  const docs = [
    policy('sbom', `${host}/sbom/**`, {
      attestations: [
        { name: 'sbom', predicateType: SPDX, authorities: [release('corp', CLAIMS)], condition: NO_LOG4J },
      ],
    }),
    policy('sbom-audit', `${host}/audit/**`, {
      mode: 'audit',
      attestations: [
        { name: 'sbom', predicateType: SPDX, authorities: [release('corp', CLAIMS)], condition: NO_LOG4J },
      ],
    }),
    policy('multi', `${host}/multi/**`, {
      platforms: ['linux/amd64', 'linux/arm64'],
      attestations: [
        { name: 'sbom', predicateType: SPDX, authorities: [release('corp', CLAIMS)], condition: NO_LOG4J },
      ],
    }),
    policy('sbom-stale', `${host}/stale/**`, {
      attestations: [
        {
          name: 'sbom',
          predicateType: SPDX,
          authorities: [release('old', CLAIMS)],
          condition: NO_LOG4J,
          maxAge: '7d',
        },
      ],
    }),
    policy('sbom-costly', `${host}/costly/**`, {
      attestations: [
        {
          name: 'sbom',
          predicateType: SPDX,
          authorities: [release('corp', CLAIMS)],
          condition: 'predicate.packages.all(p, predicate.packages.exists(q, q.name == p.name))',
        },
      ],
    }),
    policy('vuln', `${host}/vuln/**`, {
      attestations: [{ name: 'vuln', predicateType: VULN, authorities: [scanner], condition: FRESH_SCAN }],
    }),
    // cosign's short names (`vuln`, `custom`, `slsaprovenance1`) stand for VULN, COSIGN_CUSTOM, SLSA_V1.
    policy('vuln-dated', `${host}/vuln-dated/**`, {
      attestations: [{ name: 'vuln', predicateType: 'vuln', authorities: [scanner], maxAge: '7d' }],
    }),
    policy('cosign-fresh', `${host}/cosign/fresh`, {
      attestations: [
        custom(
          'predicate.Data.contains("foo") && statement.subject.exists(s, "sha256:" + s.digest.sha256 == image.digest)',
        ),
      ],
    }),
    policy('cosign-stale', `${host}/cosign/stale`, {
      attestations: [{ name: 'custom', predicateType: 'custom', authorities: [cody], maxAge: '30d' }],
    }),
    policy('cosign-false', `${host}/cosign/false`, {
      attestations: [custom('predicate.Data.contains("baz")')],
    }),
    policy('slsa', `${host}/slsa/**`, {
      attestations: [
        {
          name: 'provenance',
          predicateType: 'slsaprovenance1',
          authorities: [
            {
              name: 'github',
              keyless: {
                issuer: 'https://token.actions.githubusercontent.com',
                subjectRegExp: '.*',
                trustedRoot: 'fixture-pg',
              },
            },
          ],
        },
      ],
    }),
    policy('signed', `${host}/signed/**`, {
      signature: { maxAge: '30d', authorities: [release('corp', { githubWorkflowTrigger: 'push' })] },
    }),
    policy('signed-old', `${host}/signed-old/**`, {
      signature: { maxAge: '7d', authorities: [release('old', {})] },
    }),
    policy('signed-key', `${host}/signed-key/**`, {
      signature: { maxAge: '7d', authorities: [scanner] },
    }),
  ];
  return docs.map((d) => `---\n${stringify(d)}`).join('');
}
