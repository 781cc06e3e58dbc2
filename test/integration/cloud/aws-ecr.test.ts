/**
 * Issue 25, AWS ECR end to end: `imagegate check` (the CLI's engine, the same chain as serve) reads an
 * image from the real registry, which accepts only an ECR token the ECR stand-in issued, with each
 * AWS identity the SDK supports in a pod: IRSA (STS stand-in), EKS Pod Identity (agent stand-in), IMDSv2
 * (IMDS stand-in) and a CI runner's static keys. Every AWS endpoint is a loopback stand-in: the SDK is
 * given them explicitly (config, AWS_EC2_METADATA_SERVICE_ENDPOINT), and IMDS is disabled elsewhere.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { imagegate } from '../../helpers/cli.js';
import { startAwsWorld } from '../../helpers/cloud/aws.js';
import { startEcrRegistry } from '../../helpers/cloud/ecr-registry.js';
import { writePolicyFile } from '../../helpers/engine.js';
import { buildImage } from '../../helpers/image-builder.js';
import { sizePolicy } from '../../helpers/size-e2e.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

const ROLE = 'arn:aws:iam::111122223333:role/imagegate-ecr';
const USW2 = '111122223333.dkr.ecr.us-west-2.amazonaws.com';

/** No AWS identity from the machine running the tests: each case names its own. */
const NO_AWS: Record<string, string | undefined> = Object.fromEntries(
  [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_ECR',
    'AWS_ENDPOINT_URL_STS',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ].map((k) => [k, undefined]),
);

describe('AWS ECR credentials end to end', () => {
  const aws = useSuiteValue(
    async () => {
      const world = await startAwsWorld();
      // whatever the SDK reads from this process's environment points at loopback, never off it
      vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', world.urls.imds);
      vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
      for (const k of Object.keys(NO_AWS)) vi.stubEnv(k, undefined);
      const ecr = await startEcrRegistry(world);
      const image = buildImage({ steps: [{ createdBy: 'ADD app /', files: { app: 'ecr' } }] });
      await ecr.push('team/app', 'v1', image);
      const policy = await writePolicyFile(sizePolicy('ecr-size', '**', 'deny'));
      const tokenFile = join(ecr.dir, 'irsa-token');
      await writeFile(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.irsa-projected-token.sig');
      const podTokenFile = join(ecr.dir, 'pod-identity-token');
      await writeFile(podTokenFile, 'eks-pod-identity-token');
      world.webIdentity.set('eyJhbGciOiJSUzI1NiJ9.irsa-projected-token.sig', new Set([ROLE]));
      world.podIdentity.set('eks-pod-identity-token', ROLE);
      world.ecrRoles.add(ROLE);
      return { world, ecr, image, policy, tokenFile, podTokenFile };
    },
    async ({ world, ecr }) => {
      vi.unstubAllEnvs();
      await ecr.stop();
      await world.stop();
    },
  );
  /** What IRSA reads from its environment: role `role` with the projected token, in us-west-2. */
  const irsa = (role: string) => ({
    AWS_ROLE_ARN: role,
    AWS_WEB_IDENTITY_TOKEN_FILE: aws.tokenFile,
    AWS_REGION: 'us-west-2',
  });

  async function check(image: string, env: Record<string, string | undefined>, extraConfig = '') {
    const config = await aws.ecr.writeConfig([image.split('/')[0]!], extraConfig);
    return imagegate(['check', '--policy', aws.policy, '--registry-config', config, image], undefined, {
      ...NO_AWS,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    });
  }

  const calls = (): { sts: number; ecr: number } => ({
    sts: aws.world.calls.sts.length,
    ecr: aws.world.calls.ecr.length,
  });

  it('IRSA: web identity → STS → ECR token → the registry lets imagegate read the image', async () => {
    const before = calls();
    const run = await check(`${USW2}/team/app:v1`, irsa(ROLE));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`${USW2}/team/app:v1@${aws.image.manifest.digest}`);
    expect(calls()).toEqual({ sts: before.sts + 1, ecr: before.ecr + 1 });
    expect(aws.world.calls.ecr.at(-1)).toEqual({ region: 'us-west-2', role: ROLE });
  });

  it('EKS Pod Identity: the agent with the pod token → ECR token → the image is read', async () => {
    const before = { ...calls(), pod: aws.world.calls.podIdentity };
    const run = await check(`${USW2}/team/app:v1`, {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: aws.world.urls['pod-identity'],
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: aws.podTokenFile,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`@${aws.image.manifest.digest}`);
    expect(aws.world.calls.podIdentity).toBe(before.pod + 1);
    expect(calls()).toEqual({ sts: before.sts, ecr: before.ecr + 1 });
  });

  it("IMDSv2: a session token first, then the node role's credentials → ECR token → the image is read", async () => {
    aws.world.imdsRole = ROLE;
    const seen = aws.world.calls.imds.length;
    const run = await check(`${USW2}/team/app:v1`, { AWS_EC2_METADATA_DISABLED: undefined });
    aws.world.imdsRole = undefined;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(aws.world.calls.imds.slice(seen)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/imagegate-ecr',
    ]);
  });

  it("a CI runner's static keys (imagegate check with the runner's identity)", async () => {
    aws.world.staticKeys.set('AKIAIMAGEGATETEST01', { secret: 'runner-secret', role: ROLE });
    const run = await check(`${USW2}/team/app:v1`, {
      AWS_ACCESS_KEY_ID: 'AKIAIMAGEGATETEST01',
      AWS_SECRET_ACCESS_KEY: 'runner-secret',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const wrong = await check(`${USW2}/team/app:v1`, {
      AWS_ACCESS_KEY_ID: 'AKIAIMAGEGATETEST01',
      AWS_SECRET_ACCESS_KEY: 'not-the-secret',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(
      /aws-ecr could not get a token .* as access key AKIAIMAGEGATETEST01 .*signature does not match/,
    );
  });

  describe('when the identity cannot get a token', () => {
    it('a role whose trust policy refuses the service account: CREDENTIALS_UNAVAILABLE naming the role and the fix', async () => {
      const other = 'arn:aws:iam::111122223333:role/not-trusting';
      const seenByRegistry = aws.ecr.tokens.requests.length;
      const run = await check(`${USW2}/team/app:v1`, irsa(other));
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `aws-ecr could not get a token for ${USW2} as role ${other} via IRSA (web identity token ${aws.tokenFile}): Not authorized to perform sts:AssumeRoleWithWebIdentity. Fix: the role's trust policy must accept system:serviceaccount:`,
      );
      expect(run.stdout).toContain('[CREDENTIALS_UNAVAILABLE]');
      // no anonymous attempt at the registry
      expect(aws.ecr.tokens.requests.length).toBe(seenByRegistry);
    });

    it('a role without ecr:GetAuthorizationToken: the fix names the permission', async () => {
      const weak = 'arn:aws:iam::111122223333:role/no-ecr';
      aws.world.webIdentity.get('eyJhbGciOiJSUzI1NiJ9.irsa-projected-token.sig')?.add(weak);
      const run = await check(`${USW2}/team/app:v1`, irsa(weak));
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        /is not authorized to perform: ecr:GetAuthorizationToken.*Fix: allow ecr:GetAuthorizationToken .* to role arn:aws:iam::111122223333:role\/no-ecr/,
      );
    });

    it.each([
      ['deny', 1],
      ['allow', 0],
    ] as const)(
      'ECR down: CREDENTIALS_UNAVAILABLE follows onError %s (exit %d), never an anonymous pull',
      async (onError, code) => {
        const file = await writePolicyFile(sizePolicy(`ecr-down-${onError}`, '**', onError));
        const config = await aws.ecr.writeConfig([USW2]);
        aws.world.down.add('ecr');
        const seenByRegistry = aws.ecr.tokens.requests.length;
        const run = await imagegate(
          ['check', '--policy', file, '--registry-config', config, `${USW2}/team/app:v1`],
          undefined,
          {
            ...NO_AWS,
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_ROLE_ARN: ROLE,
            AWS_WEB_IDENTITY_TOKEN_FILE: aws.tokenFile,
            AWS_REGION: 'us-west-2',
          },
        );
        aws.world.down.delete('ecr');
        expect(run.code, run.stdout).toBe(code);
        expect(run.stdout).toMatch(
          /aws-ecr could not get a token for .* as role arn:aws:iam::111122223333:role\/imagegate-ecr via IRSA/,
        );
        expect(run.stdout).toContain('CREDENTIALS_UNAVAILABLE');
        expect(aws.ecr.tokens.requests.length).toBe(seenByRegistry);
      },
    );
  });

  it.each([
    ['China', '111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['GovCloud', '111122223333.dkr.ecr.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['FIPS', '111122223333.dkr.ecr-fips.us-east-1.amazonaws.com', 'us-east-1'],
  ])(
    "%s host names: a token signed for the host's region (%s) reads the image",
    async (_name, host, region) => {
      const run = await check(`${host}/team/app:v1`, {
        AWS_ROLE_ARN: ROLE,
        AWS_WEB_IDENTITY_TOKEN_FILE: aws.tokenFile,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(aws.world.calls.ecr.at(-1)).toEqual({ region, role: ROLE });
    },
  );
});
