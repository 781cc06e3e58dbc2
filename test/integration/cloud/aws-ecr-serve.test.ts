/**
 * Issue 25, AWS ECR under load and in the webhook: ECR token fetches stay about one per validity period
 * while many concurrent reviews run over a simulated day and a half (the registry refuses an expired
 * token, so a stale one would show); a pod cannot point the provider elsewhere; `imagegate serve`'s
 * /readyz names a provider that cannot get a token and /metrics counts fetches, failures, token age.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/program.js';
import { createRegistry } from '../../../src/registry/client.js';
import { loadRegistryConfig, withCloud } from '../../../src/registry/options.js';
import { parseReference } from '../../../src/registry/reference.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { imagegate } from '../../helpers/cli.js';
import { startAwsWorld, type AwsWorld } from '../../helpers/cloud/aws.js';
import { startEcrRegistry, type EcrRegistry } from '../../helpers/cloud/ecr-registry.js';
import { writePolicyFile } from '../../helpers/engine.js';
import { buildImage, type BuiltImage } from '../../helpers/image-builder.js';
import { freePort } from '../../helpers/registry.js';
import { sizePolicy } from '../../helpers/size-e2e.js';

const ROLE = 'arn:aws:iam::111122223333:role/imagegate-ecr';
const USW2 = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const WEB_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.serve-projected-token.sig';

describe('AWS ECR credentials under load and in serve', () => {
  let world: AwsWorld;
  let ecr: EcrRegistry;
  let image: BuiltImage;
  let tokenFile: string;
  let irsa: Record<string, string>;

  beforeAll(async () => {
    world = await startAwsWorld();
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', world.urls.imds);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    ecr = await startEcrRegistry(world);
    image = buildImage({ steps: [{ createdBy: 'ADD app /', files: { app: 'ecr-serve' } }] });
    await ecr.push('team/app', 'v1', image);
    tokenFile = join(ecr.dir, 'irsa-token');
    await writeFile(tokenFile, WEB_TOKEN);
    world.webIdentity.set(WEB_TOKEN, new Set([ROLE]));
    world.ecrRoles.add(ROLE);
    irsa = {
      AWS_ROLE_ARN: ROLE,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: 'us-west-2',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await ecr?.stop();
    await world?.stop();
  });

  it('36 simulated hours of 20 concurrent reviews every 10 minutes: one ECR token per 12-hour validity', async () => {
    const clock = { now: Date.now() };
    world.now = () => clock.now;
    const config = await ecr.writeConfig([USW2]);
    const options = withCloud({ ...(await loadRegistryConfig(config)), now: () => clock.now }, irsa);
    const registry = createRegistry(options);
    const ecrBefore = world.calls.ecr.length;
    const stsBefore = world.calls.sts.length;
    let reviews = 0;
    try {
      for (let minute = 0; minute <= 36 * 60; minute += 10) {
        const digests = await Promise.all(
          Array.from({ length: 20 }, () =>
            registry
              .access({ deadline: Date.now() + 10_000 })
              .resolve(parseReference(`${USW2}/team/app:v1`), AbortSignal.timeout(10_000))
              .then((r) => r.digest),
          ),
        );
        expect(new Set(digests)).toEqual(new Set([image.manifest.digest]));
        reviews += digests.length;
        clock.now += 10 * 60_000;
      }
    } finally {
      await registry.close();
      world.now = Date.now;
    }
    expect(reviews).toBe(4340);
    const fetches = world.calls.ecr.length - ecrBefore;
    // at 0 h, then once per 12-hour validity (12 h, 24 h, 36 h)
    expect(fetches).toBeGreaterThanOrEqual(3);
    expect(fetches).toBeLessThanOrEqual(4);
    expect(world.calls.sts.length - stsBefore).toBe(1); // the role's credentials are reused too
    expect(options.cloud?.status()[0]).toMatchObject({
      provider: 'aws-ecr',
      tokens: 1,
      lastError: undefined,
    });
  });

  it("a hung STS: the review's deadline ends the wait with CREDENTIALS_UNAVAILABLE and closes STS's socket, not the SDK's timeouts", async () => {
    world.hang.add('sts');
    world.hung.length = 0;
    const options = withCloud(await loadRegistryConfig(await ecr.writeConfig([USW2])), irsa);
    const registry = createRegistry(options);
    const stsBefore = world.calls.sts.length;
    try {
      await expect(
        registry
          .access({ deadline: Date.now() + 1500 })
          .resolve(parseReference(`${USW2}/team/app:v1`), AbortSignal.timeout(1500)),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        indeterminate: true,
        message: expect.stringMatching(
          /^aws-ecr could not get a token for .* as role .* via IRSA .*: the review deadline was reached while it was fetching/,
        ) as unknown,
      });
    } finally {
      world.hang.delete('sts');
      await registry.close();
    }
    expect(world.calls.sts.length).toBe(stsBefore); // the hung request was never answered
    expect(options.cloud?.status()[0]?.lastError).toBeUndefined(); // a deadline is not the provider's failure
    // the STS call itself was cut at the deadline: its socket closed, one attempt, nothing left open
    // (before, it stayed open until the SDK's own 5 s request timeout, then the SDK tried again)
    expect(world.hung.map((h) => h.service)).toEqual(['sts']);
    const [hung] = world.hung;
    await Promise.race([hung!.closed, new Promise((r) => setTimeout(r, 6000))]);
    expect(hung!.closedAt).toBeDefined(); // before the fix: still open 30 s later
    expect(hung!.closedAt! - hung!.at).toBeLessThan(5000); // the SDK's request timeout (CALL_TIMEOUT_MS)
  });

  it.each([
    [
      'EKS Pod Identity',
      'pod-identity',
      /as EKS Pod Identity \(agent http:\/\/127\.0\.0\.1:\d+\/v1\/credentials\)/,
    ],
    ['IMDSv2', 'imds', /as the node's instance role \(IMDSv2\)/],
  ] as const)(
    "a hung %s: the review's deadline closes its socket too, one attempt, before the 5 s call timeout",
    async (_name, service, identity) => {
      const podToken = join(ecr.dir, 'hung-pod-identity-token');
      await writeFile(podToken, 'hung-pod-token');
      const env =
        service === 'pod-identity'
          ? {
              AWS_CONTAINER_CREDENTIALS_FULL_URI: world.urls['pod-identity'],
              AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: podToken,
              AWS_EC2_METADATA_DISABLED: 'true',
            }
          : { AWS_EC2_METADATA_SERVICE_ENDPOINT: world.urls.imds };
      world.hang.add(service);
      world.hung.length = 0;
      const options = withCloud(await loadRegistryConfig(await ecr.writeConfig([USW2])), env);
      const registry = createRegistry(options);
      try {
        await expect(
          registry
            .access({ deadline: Date.now() + 1500 })
            .resolve(parseReference(`${USW2}/team/app:v1`), AbortSignal.timeout(1500)),
        ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
          indeterminate: true,
          message: expect.stringMatching(
            new RegExp(
              `^aws-ecr could not get a token for ${USW2} ${identity.source}: the review deadline was reached while it was fetching`,
            ),
          ) as unknown,
        });
      } finally {
        world.hang.delete(service);
        await registry.close();
      }
      expect(options.cloud?.status()[0]?.lastError).toBeUndefined(); // a deadline is not the provider's failure
      // the call was cut at the review's deadline: its socket closed well before the call's own 5 s
      // timeout (CALL_TIMEOUT_MS), and no second attempt (the SDK's providers kept the socket for 5 s,
      // and its Pod Identity provider slept 5 s more before trying again)
      expect(world.hung.map((h) => h.service)).toEqual([service]);
      const [hung] = world.hung;
      await Promise.race([hung!.closed, new Promise((r) => setTimeout(r, 4000))]);
      expect(hung!.closedAt).toBeDefined();
      expect(hung!.closedAt! - hung!.at).toBeLessThan(4000);
    },
  );

  it('a pod cannot point the provider elsewhere: look-alike hosts get no token, its env changes no endpoint', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const attacker = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="give me your token"' }).end();
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    const attackerHost = `127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const lookalike = `${USW2}.evil.test`;
    const config = await ecr.writeConfig([USW2, { host: lookalike, address: attackerHost }]);
    const policy = await writePolicyFile(sizePolicy('ecr-pods', '**', 'deny'));
    const review = podReview([`${USW2}/team/app:v1`, `${lookalike}/team/app:v1`]);
    const pod = review.request.object as {
      metadata: Record<string, unknown>;
      spec: { containers: object[] };
    };
    pod.metadata.annotations = { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::999999999999:role/attacker' };
    pod.spec.containers = pod.spec.containers.map((c) => ({
      ...c,
      env: [
        { name: 'AWS_ENDPOINT_URL_ECR', value: `http://${attackerHost}` },
        { name: 'AWS_ENDPOINT_URL_STS', value: `http://${attackerHost}` },
        { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::999999999999:role/attacker' },
      ],
    }));
    const file = join(ecr.dir, 'hostile-pod.json');
    await writeFile(file, JSON.stringify(review));
    const stsBefore = world.calls.sts.length;
    const ecrBefore = world.calls.ecr.length;
    try {
      const run = await imagegate(
        ['review', '--policy', policy, '--registry-config', config, file],
        undefined,
        irsa,
      );
      const answer = JSON.parse(run.stdout) as {
        response: { allowed: boolean; status?: { message?: string } };
      };
      expect(answer.response.allowed).toBe(false);
      // the real ECR image was read with the configured identity and endpoints; the look-alike was refused
      expect(answer.response.status?.message).toContain(`${lookalike}/team/app:v1`);
      expect(answer.response.status?.message).not.toContain(`${USW2}/team/app:v1:`);
    } finally {
      await new Promise<void>((r) => attacker.close(() => r()));
    }
    expect(seen.length).toBeGreaterThan(0); // the look-alike was asked, anonymously
    expect(seen.every((h) => h.authorization === undefined)).toBe(true);
    expect(world.calls.sts.slice(stsBefore).every((role) => role === ROLE)).toBe(true);
    expect(world.calls.ecr.slice(ecrBefore)).toEqual(
      world.calls.ecr.slice(ecrBefore).map(() => ({ region: 'us-west-2', role: ROLE })),
    );
  });

  it('serve: /readyz names a provider that cannot get a token, /metrics counts fetches, failures and token age', async () => {
    const denied = 'arn:aws:iam::111122223333:role/not-yet-trusted';
    const port = await freePort();
    const policy = await writePolicyFile(sizePolicy('ecr-serve', '**', 'allow'));
    const config = await ecr.writeConfig([USW2]);
    let stop: ((signal: string) => void) | undefined;
    let output = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (output += s) },
      stderr: { write: (s: string) => (output += s) },
      stdin: Readable.from([]),
      env: { ...irsa, AWS_ROLE_ARN: denied, IMAGEGATE_DATA_DIR: join(ecr.dir, 'serve') },
      onStop: (s) => (stop = s),
    };
    const serving = main(
      ['serve', '--listen', `127.0.0.1:${port}`, '--policy', policy, '--registry-config', config],
      io,
    );
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    const base = `https://127.0.0.1:${port}`;
    const get = async (path: string): Promise<string> =>
      (await request(`${base}${path}`, { dispatcher: agent })).body.text();
    const validate = async (): Promise<boolean> => {
      const res = await request(`${base}/validate?timeout=10s`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(podReview([`${USW2}/team/app:v1`])),
      });
      return ((await res.body.json()) as { response: { allowed: boolean } }).response.allowed;
    };
    try {
      for (let i = 0; i < 400 && !output.includes('imagegate is serving'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('imagegate is serving');
      expect(output).toContain(`cloud credentials: aws-ecr as role ${denied} via IRSA`);
      expect(await validate()).toBe(true); // onError: allow, with a warning
      const ready = JSON.parse(await get('/readyz')) as { status: string; degraded?: string[] };
      expect(ready.status).toBe('ready');
      expect(ready.degraded).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^cloud credentials aws-ecr \\(as role ${denied} via IRSA .*\\) cannot get a token: ${USW2}: Not authorized to perform sts:AssumeRoleWithWebIdentity\\. Fix: the role's trust policy`,
          ),
        ),
      );
      let metrics = await get('/metrics');
      expect(metrics).toContain('imagegate_cloud_token_fetches_total{provider="aws-ecr"} 1');
      expect(metrics).toContain('imagegate_cloud_token_failures_total{provider="aws-ecr"} 1');
      expect(metrics).not.toMatch(/imagegate_cloud_token_age_seconds\{/);

      // the operator fixes the trust policy; after the 1 s backoff the next review gets a token
      world.webIdentity.get(WEB_TOKEN)?.add(denied);
      world.ecrRoles.add(denied);
      await new Promise((r) => setTimeout(r, 1100));
      expect(await validate()).toBe(true);
      const after = JSON.parse(await get('/readyz')) as { degraded?: string[] };
      expect((after.degraded ?? []).filter((d) => d.startsWith('cloud credentials'))).toEqual([]);
      metrics = await get('/metrics');
      expect(metrics).toContain('imagegate_cloud_token_fetches_total{provider="aws-ecr"} 2');
      expect(metrics).toContain('imagegate_cloud_token_failures_total{provider="aws-ecr"} 1');
      expect(metrics).toMatch(/imagegate_cloud_token_age_seconds\{provider="aws-ecr"\} \d/);
    } finally {
      stop?.('SIGTERM');
      await serving;
      await agent.close();
    }
  });
});
