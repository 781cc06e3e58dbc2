import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, registryOptionsFrom } from '../../../src/registry/options.js';

const IRSA = {
  AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/imagegate',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const ECR = '111122223333.dkr.ecr.us-east-1.amazonaws.com';

describe('the cloud: section of --registry-config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-cloud-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const file = async (text: string): Promise<string> => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, text);
    return path;
  };

  it('puts the cloud provider last in the chain, after configured credentials, with the final allowlist', async () => {
    const config = await file(
      [
        'registries:',
        `  ${ECR}:`,
        '    username: static',
        '    password: pw',
        'cloud:',
        '  refreshAhead: 10m',
        '  aws:',
        '    endpoints: { ecr: "https://ecr.internal", sts: "https://sts.internal" }',
      ].join('\n'),
    );
    const options = await registryOptionsFrom({ configFile: config, allow: ['*.amazonaws.com'], env: IRSA });
    expect(options.cloud?.status().map((s) => s.provider)).toEqual(['aws-ecr']);
    // configured credentials win; the cloud answers for the other ECR registries the allowlist allows
    expect(await options.credentials?.credentialsFor({ registry: ECR, repository: 'a' })).toEqual({
      kind: 'basic',
      username: 'static',
      password: 'pw',
    });
    expect(options.cloud?.sourceFor('222233334444.dkr.ecr.us-east-1.amazonaws.com')?.name).toBe('aws-ecr');
    const narrowed = await registryOptionsFrom({ configFile: config, allow: ['ghcr.io'], env: IRSA });
    expect(narrowed.cloud?.sourceFor('222233334444.dkr.ecr.us-east-1.amazonaws.com')).toBeUndefined();
  });

  it('adds no cloud step without the process environment (library callers, most tests)', async () => {
    const options = await registryOptionsFrom({ configFile: await file('cloud:\n  aws: {}\n') });
    expect(options.cloud).toBeUndefined();
    expect(options.credentials).toBeUndefined();
  });

  it.each([
    ['an unknown provider', 'cloud:\n  oracle: {}\n', '/cloud'],
    ['an unknown AWS field', 'cloud:\n  aws:\n    roleArn: x\n', '/cloud/aws'],
    [
      'an endpoint that is not a URL',
      'cloud:\n  aws:\n    endpoints: { ecr: "ecr.internal" }\n',
      '/cloud/aws/endpoints/ecr',
    ],
    ['a bad duration', 'cloud:\n  fetchTimeout: soon\n', '/cloud/fetchTimeout'],
    ['an address that is not HOST[:PORT]', `registries:\n  ${ECR}:\n    address: "http://x"\n`, 'address'],
  ])('refuses %s with CONFIG_INVALID naming the field', async (_what, text, field) => {
    await expect(loadRegistryConfig(await file(text))).rejects.toThrowWithCode('CONFIG_INVALID', {
      message: expect.stringContaining(field) as unknown,
    });
  });
});
