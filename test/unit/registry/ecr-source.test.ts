import { describe, expect, it } from 'vitest';
import { parseEcrHost } from '../../../src/registry/credentials/cloud/aws/hosts.js';
import { awsEcrSource } from '../../../src/registry/credentials/cloud/aws/source.js';
import { cloudCredentialsFrom } from '../../../src/registry/credentials/index.js';

/** No IMDS anywhere in these tests: nothing here may reach 169.254.169.254. */
const NO_IMDS = { AWS_EC2_METADATA_DISABLED: 'true' };
const IRSA = {
  ...NO_IMDS,
  AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/imagegate',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
};

describe('parseEcrHost', () => {
  it.each([
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com', 'us-east-1', false, 'amazonaws.com'],
    ['111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn', 'cn-north-1', false, 'amazonaws.com.cn'],
    ['111122223333.dkr.ecr.cn-northwest-1.amazonaws.com.cn', 'cn-northwest-1', false, 'amazonaws.com.cn'],
    ['111122223333.dkr.ecr.us-gov-west-1.amazonaws.com', 'us-gov-west-1', false, 'amazonaws.com'],
    ['111122223333.dkr.ecr-fips.us-gov-east-1.amazonaws.com', 'us-gov-east-1', true, 'amazonaws.com'],
    ['111122223333.dkr.ecr-fips.us-east-1.amazonaws.com', 'us-east-1', true, 'amazonaws.com'],
    ['111122223333.dkr-ecr.eu-west-1.on.aws', 'eu-west-1', false, 'on.aws'],
    ['111122223333.dkr.ecr.us-iso-east-1.c2s.ic.gov', 'us-iso-east-1', false, 'c2s.ic.gov'],
    ['111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM', 'us-east-1', false, 'amazonaws.com'],
  ])('%s is ECR in %s (fips %s)', (host, region, fips, suffix) => {
    expect(parseEcrHost(host)).toEqual({ account: '111122223333', region, fips, suffix });
  });

  it.each([
    ['public.ecr.aws', 'ECR Public is anonymous'],
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com:443', 'a port: not an ECR name'],
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.example', 'a look-alike suffix'],
    ['evil.example.111122223333.dkr.ecr.us-east-1.amazonaws.com', 'extra labels in front'],
    ['11112222333.dkr.ecr.us-east-1.amazonaws.com', 'an 11-digit account'],
    ['111122223333.dkr.ecr.cn-north-1.amazonaws.com', 'a China region on the commercial suffix'],
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com.cn', 'a commercial region on the China suffix'],
    ['111122223333.dkr.ecr.us-east-1.amazonaws.com/evil', 'a path'],
    ['111122223333.dkr.ecr.us.east.1.amazonaws.com', 'dots in the region'],
  ])('%s is not (%s)', (host) => {
    expect(parseEcrHost(host)).toBeUndefined();
  });
});

describe('awsEcrSource', () => {
  it('asks each partition its own ECR endpoint, FIPS when the host says so (the SDK resolves it)', () => {
    const source = awsEcrSource({}, IRSA);
    expect(source?.endpointFor('111122223333.dkr.ecr.us-east-1.amazonaws.com')).toBe(
      'https://api.ecr.us-east-1.amazonaws.com/',
    );
    expect(source?.endpointFor('111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn')).toBe(
      'https://api.ecr.cn-north-1.amazonaws.com.cn/',
    );
    expect(source?.endpointFor('111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toBe(
      'https://api.ecr-fips.us-gov-west-1.amazonaws.com/',
    );
    expect(source?.endpointFor('111122223333.dkr.ecr.us-gov-west-1.amazonaws.com')).toBe(
      'https://api.ecr.us-gov-west-1.amazonaws.com/',
    );
    source?.close();
  });

  it('takes the endpoint from config, else AWS_ENDPOINT_URL_ECR, else AWS_ENDPOINT_URL', () => {
    const host = '111122223333.dkr.ecr.us-east-1.amazonaws.com';
    expect(
      awsEcrSource({ aws: { endpoints: { ecr: 'https://ecr.internal' } } }, IRSA)?.endpointFor(host),
    ).toBe('https://ecr.internal');
    expect(
      awsEcrSource(
        {},
        { ...IRSA, AWS_ENDPOINT_URL_ECR: 'https://ecr.env', AWS_ENDPOINT_URL: 'https://all' },
      )?.endpointFor(host),
    ).toBe('https://ecr.env');
    expect(awsEcrSource({}, { ...IRSA, AWS_ENDPOINT_URL: 'https://all' })?.endpointFor(host)).toBe(
      'https://all',
    );
  });

  it.each([
    [
      { ...IRSA, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 's' },
      'access key AKIAEXAMPLE (AWS_ACCESS_KEY_ID)',
    ],
    [
      IRSA,
      'role arn:aws:iam::111122223333:role/imagegate via IRSA (web identity token /var/run/secrets/eks.amazonaws.com/serviceaccount/token)',
    ],
    [
      {
        ...NO_IMDS,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
          '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
      },
      'EKS Pod Identity (agent http://169.254.170.23/v1/credentials)',
    ],
    [{}, "the node's instance role (IMDSv2)"],
  ])('picks the identity the environment offers, in the SDK order: %j → %s', (env, identity) => {
    expect(awsEcrSource({}, env)?.identity()).toBe(identity);
  });

  it('is absent with no identity and IMDS disabled, or when cloud.aws.enabled is false', () => {
    expect(awsEcrSource({}, NO_IMDS)).toBeUndefined();
    expect(awsEcrSource({ aws: { enabled: false } }, IRSA)).toBeUndefined();
  });

  it('serves only the registries cloud.aws.registries names', () => {
    const cloud = cloudCredentialsFrom({ aws: { registries: ['*.dkr.ecr.eu-west-1.amazonaws.com'] } }, IRSA);
    expect(cloud?.sourceFor('111122223333.dkr.ecr.eu-west-1.amazonaws.com')?.name).toBe('aws-ecr');
    expect(cloud?.sourceFor('111122223333.dkr.ecr.us-east-1.amazonaws.com')).toBeUndefined();
  });

  it('never spends the identity on a registry the allowlist leaves out', () => {
    const cloud = cloudCredentialsFrom({}, IRSA, { allow: ['ghcr.io'] });
    expect(cloud?.sourceFor('111122223333.dkr.ecr.us-east-1.amazonaws.com')).toBeUndefined();
  });

  it('names the ECR permission when GetAuthorizationToken is denied, the identity fix otherwise', () => {
    const source = awsEcrSource({}, IRSA);
    const denied = Object.assign(
      new Error('User: x is not authorized to perform: ecr:GetAuthorizationToken'),
      {
        name: 'AccessDeniedException',
      },
    );
    expect(source?.remedy(denied)).toMatch(
      /^allow ecr:GetAuthorizationToken .* to role arn:aws:iam::111122223333:role\/imagegate/,
    );
    expect(source?.remedy(new Error('Not authorized to perform sts:AssumeRoleWithWebIdentity'))).toMatch(
      /trust policy .* eks\.amazonaws\.com\/role-arn/,
    );
  });
});
