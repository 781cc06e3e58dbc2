import { describe, expect, it } from 'vitest';
import { toPredicateTypeURI } from '../../../../src/checks/attestations/predicate-types.js';
import { validatePolicyDocument } from '../../../../src/policy/validate.js';

/** cosign v3's `--type` short names and the URIs it maps them to (options/predicate.go). */
const COSIGN: [string, string][] = [
  ['custom', 'https://cosign.sigstore.dev/attestation/v1'],
  ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
  ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
  ['slsaprovenance1', 'https://slsa.dev/provenance/v1'],
  ['spdx', 'https://spdx.dev/Document'],
  ['spdxjson', 'https://spdx.dev/Document'],
  ['cyclonedx', 'https://cyclonedx.org/bom'],
  ['link', 'https://in-toto.io/Link/v1'],
  ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
  ['openvex', 'https://openvex.dev/ns'],
];

const withPredicateType = (predicateType: string) => ({
  apiVersion: 'imagegate.dev/v1alpha1',
  kind: 'ImagePolicy',
  metadata: { name: 'p' },
  spec: {
    images: [{ glob: 'registry.example.com/**' }],
    attestations: [
      {
        name: 'sbom',
        predicateType,
        authorities: [{ name: 'k', key: { pem: 'x' } }],
        transparencyLog: 'optional',
      },
    ],
  },
});

function loadError(predicateType: string): { code: string; message: string } | undefined {
  try {
    validatePolicyDocument(withPredicateType(predicateType), 'p.yaml');
  } catch (err) {
    return err as { code: string; message: string };
  }
  return undefined;
}

describe('toPredicateTypeURI', () => {
  it.each(COSIGN)('maps cosign short name %s to %s', (short, uri) => {
    expect(toPredicateTypeURI(short, 'at')).toBe(uri);
  });

  it.each(['https://spdx.dev/Document', 'https://example.com/attestation/v1?x=1', 'urn:example:scan'])(
    'keeps URI %s as it is',
    (uri) => {
      expect(toPredicateTypeURI(uri, 'at')).toBe(uri);
    },
  );

  describe('when the value is neither a URI nor a short name', () => {
    it.each(['sbom', 'SPDX', 'slsa', 'toString', 'spdx.dev/Document', 'https://spdx.dev/ Document'])(
      'refuses %j at load with POLICY_INVALID naming the field',
      (value) => {
        const err = loadError(value);
        expect(err?.code).toBe('POLICY_INVALID');
        expect(err?.message).toContain('attestations[0].predicateType');
        expect(err?.message).toContain(`"${value}" is neither a URI`);
      },
    );
  });

  it('loads a policy naming a short name', () => {
    expect(loadError('cyclonedx')).toBeUndefined();
  });
});
