import { describe, expect, it } from 'vitest';
import { parseKmsUri } from '../../../src/shared/kms-uri.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('parseKmsUri', () => {
  describe("when given cosign's forms", () => {
    it.each([
      [`awskms:///${KEY}`, { provider: 'aws', keyId: KEY }],
      [
        `awskms:///arn:aws:kms:eu-west-1:111122223333:key/${KEY}`,
        { provider: 'aws', keyId: `arn:aws:kms:eu-west-1:111122223333:key/${KEY}`, region: 'eu-west-1' },
      ],
      [
        `awskms:///arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-${KEY.replace(/-/g, '')}`,
        { provider: 'aws', region: 'cn-north-1' },
      ],
      ['awskms:///alias/release-signer', { provider: 'aws', keyId: 'alias/release-signer' }],
      [
        'awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/signer',
        {
          provider: 'aws',
          region: 'us-gov-west-1',
          keyId: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/signer',
        },
      ],
      [`awskms://localhost:4566/${KEY}`, { provider: 'aws', endpoint: 'localhost:4566', keyId: KEY }],
      [
        'gcpkms://projects/p1/locations/global/keyRings/ring/cryptoKeys/signer',
        { provider: 'gcp', keyName: 'projects/p1/locations/global/keyRings/ring/cryptoKeys/signer' },
      ],
      [
        'gcpkms://projects/p1/locations/europe-west4/keyRings/ring/cryptoKeys/signer/cryptoKeyVersions/3',
        { provider: 'gcp', version: '3' },
      ],
      [
        'gcpkms://projects/p1/locations/global/keyRings/ring/cryptoKeys/signer/versions/2',
        { provider: 'gcp', version: '2' },
      ],
      [
        'azurekms://release.vault.azure.net/signer',
        { provider: 'azure', vaultHost: 'release.vault.azure.net', keyName: 'signer' },
      ],
      ['azurekms://release.vault.azure.cn/signer/0123abcd', { provider: 'azure', version: '0123abcd' }],
      ['hashivault://release-signer', { provider: 'vault', keyName: 'release-signer' }],
      ['k8s://ci/cosign-keys', { provider: 'k8s', namespace: 'ci', name: 'cosign-keys' }],
    ])('%s', (uri, expected) => {
      expect(parseKmsUri(uri)).toMatchObject({ uri, ...expected });
    });
  });

  describe('when the reference is malformed', () => {
    it.each([
      ['awskms://', 'not an AWS KMS key reference'],
      ['awskms:///not-a-key', 'not an AWS KMS key reference'],
      [`awskms:///arn:aws:kms:eu-west-1:12:key/${KEY}`, 'not an AWS KMS key reference'],
      ['gcpkms://projects/p/keyRings/r/cryptoKeys/k', 'not a Cloud KMS key reference'],
      ['azurekms://vault.vault.azure.net', 'not an Azure Key Vault key reference'],
      ['azurekms://user@evil/key', 'not an Azure Key Vault key reference'],
      ['hashivault://a/b', 'not a Vault transit key reference'],
      ['k8s://ns', 'not a Kubernetes Secret key reference'],
      ['k8s://NS/Name', 'not a Kubernetes Secret key reference'],
      ['pkcs11://token', 'names no key service imagegate knows'],
    ])('%s: says which form was expected', (uri, message) => {
      expect(() => parseKmsUri(uri)).toThrow(message);
    });
  });
});

const policy = (key: string) =>
  `apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: p }\nspec:\n  images: [{ glob: "**" }]\n  signature:\n    authorities:\n      - key: ${key}\n`;

describe('a policy with key.kms', () => {
  it('loads with a well-formed reference', () => {
    const [doc] = parsePolicyYaml(policy('{ kms: "hashivault://signer" }'), 'p.yaml');
    expect(doc!.spec.signature!.authorities[0]!.key!.kms).toBe('hashivault://signer');
  });

  it.each([
    [
      '{ kms: "hashivault://a", pem: "x" }',
      'spec.signature.authorities[0].key: exactly one of "pem", "secretRef" or "kms" is required (found pem, kms)',
    ],
    [
      '{ hashAlgorithm: sha256 }',
      'spec.signature.authorities[0].key: exactly one of "pem", "secretRef" or "kms" is required',
    ],
    [
      '{ kms: "gcpkms://projects/p" }',
      'spec.signature.authorities[0].key.kms: "gcpkms://projects/p" is not a Cloud KMS key reference',
    ],
    ['{ kms: "file:///etc/key" }', 'spec.signature.authorities[0].key.kms'],
  ])('%s: is refused at load, naming the field', (key, message) => {
    expect(() => parsePolicyYaml(policy(key), 'p.yaml')).toThrow(
      expect.objectContaining({ code: 'POLICY_INVALID', message: expect.stringContaining(message) }),
    );
  });
});
