/** Policy errors that say what to write: the size forms, and the field name a typo meant. */
import { describe, expect, it } from 'vitest';
import { validatePolicyDocument } from '../../../src/policy/validate.js';
import { toTrustedRoot } from '../../../src/checks/signature/trusted-roots.js';
import { nearestName } from '../../../src/shared/nearest.js';
import '../../helpers/matchers.js';

const doc = (spec: Record<string, unknown>): unknown => ({
  apiVersion: 'imagegate.dev/v1alpha1',
  kind: 'ImagePolicy',
  metadata: { name: 'p' },
  spec: { images: [{ glob: 'docker.io/**' }], ...spec },
});

describe('validatePolicyDocument', () => {
  describe('when a size is written 100MB', () => {
    it('lists the accepted forms instead of "Expected union value"', () => {
      expect(() => validatePolicyDocument(doc({ size: { maxCompressed: '100MB' } }), 'f')).toThrowWithCode(
        'POLICY_INVALID',
        /spec\.size\.maxCompressed: must be a size: bytes \(104857600\) or a Kubernetes quantity such as 100Mi, 1Gi .*\(found "100MB"\)/,
      );
    });
    it('accepts 100Mi, 1Gi and bytes', () => {
      for (const v of ['100Mi', '1Gi', 104857600]) {
        expect(
          validatePolicyDocument(doc({ size: { maxCompressed: v } }), 'f').spec.size?.maxCompressed,
        ).toBe(v);
      }
    });
  });

  describe('when a field is misspelt', () => {
    it('suggests the nearest field of that section', () => {
      expect(() =>
        validatePolicyDocument(doc({ requireDigests: true, size: { maxcompresed: '1Gi' } }), 'f'),
      ).toThrowWithCode(
        'POLICY_INVALID',
        /spec\.requireDigests: unknown field; did you mean "requireDigest"\?.*spec\.size\.maxcompresed: unknown field; did you mean "maxCompressed"\?/,
      );
    });
    it("lists the section's fields when nothing is close", () => {
      expect(() => validatePolicyDocument(doc({ size: { weight: 1 } }), 'f')).toThrowWithCode(
        'POLICY_INVALID',
        /spec\.size\.weight: unknown field \(this section has: maxCompressed, maxLayers/,
      );
    });
  });
});

describe('nearestName', () => {
  it('finds a typo within a third of the length, ignoring case, and nothing farther', () => {
    expect(nearestName('onerror', ['onError', 'mode'])).toBe('onError');
    expect(nearestName('namespace', ['namespaces', 'images'])).toBe('namespaces');
    expect(nearestName('colour', ['mode', 'images'])).toBeUndefined();
  });
});

describe('toTrustedRoot', () => {
  it('refuses {"mediaType":"x"} at load, naming the media type', () => {
    expect(() => toTrustedRoot('{"mediaType":"x"}', '"corp" (f.json)')).toThrowWithCode(
      'TRUSTED_ROOT_INVALID',
      /trusted root "corp" \(f\.json\) is invalid: mediaType "x" is not a Sigstore TrustedRoot/,
    );
  });
  it('refuses a root with the right media type but nothing to verify against', () => {
    expect(() =>
      toTrustedRoot('{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}', 'r'),
    ).toThrowWithCode('TRUSTED_ROOT_INVALID', /no transparency logs, certificate authorities or timestamp/);
  });
});
