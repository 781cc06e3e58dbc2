import { describe, expect, it } from 'vitest';
import { needsPublicGood } from '../../../src/cli/setup.js';
import type { ImagePolicyDocument } from '../../../src/policy/policy.schema.js';
import type { SignatureSpec } from '../../../src/checks/signature/schema.js';

const PEM = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';

function policy(signature: SignatureSpec): ImagePolicyDocument {
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: 'p' },
    spec: { images: [{ glob: '**' }], signature },
  };
}

describe('needsPublicGood', () => {
  describe('when every authority is a key without a required log entry', () => {
    it('stays offline', () => {
      expect(needsPublicGood([policy({ authorities: [{ key: { pem: PEM } }] })])).toBe(false);
    });
  });

  describe('when every keyless authority names a custom root', () => {
    it('stays offline', () => {
      const spec = { authorities: [{ keyless: { issuer: 'i', subject: 's', trustedRoot: 'corp' } }] };
      expect(needsPublicGood([policy(spec)])).toBe(false);
    });
  });

  describe('when a keyless authority uses the default root', () => {
    it('needs public-good', () => {
      expect(needsPublicGood([policy({ authorities: [{ keyless: { issuer: 'i', subject: 's' } }] })])).toBe(
        true,
      );
    });
  });

  describe('when a key authority requires a transparency log entry without naming a root', () => {
    it('needs public-good, whose Rekor keys check the entry', () => {
      const spec: SignatureSpec = { authorities: [{ key: { pem: PEM } }], transparencyLog: 'required' };
      expect(needsPublicGood([policy(spec)])).toBe(true);
    });

    it('stays offline when the key names a custom root', () => {
      const spec: SignatureSpec = {
        authorities: [{ key: { pem: PEM, trustedRoot: 'corp' } }],
        transparencyLog: 'required',
      };
      expect(needsPublicGood([policy(spec)])).toBe(false);
    });
  });
});
