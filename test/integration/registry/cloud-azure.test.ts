/**
 * Azure Container Registry by workload identity, end to end: the federated token → the Entra
 * stand-in (ACR audience) → the ACR front's `/oauth2/exchange` → a refresh token the real registry's
 * token flow takes as Docker's identity token. Every endpoint is named explicitly (environment or
 * config); sources built here dial through a loopback-only dispatcher.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { AzureTokenSource } from '../../../src/registry/credentials/cloud/azure/source.js';
import {
  cloudCredentialsFrom,
  type CloudCredentials,
} from '../../../src/registry/credentials/cloud/index.js';
import { withCloud } from '../../../src/registry/options.js';
import { parseReference } from '../../../src/registry/reference.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { makeTlsCert } from '../../helpers/tls.js';
import { ARM_AUDIENCE } from '../../helpers/cloud/azure.js';
import { startAzureRegistryRig, type AzureRegistryRig } from '../../helpers/cloud/azure-registry.js';
import { count } from '../../helpers/cloud/http.js';
import { loopbackOnly } from '../../helpers/cloud/loopback.js';
import { imagegate } from '../../helpers/cli.js';
import { keyPolicyYaml, signingKey } from '../../helpers/signed-images.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

const NAME = 'azure-acr';
const signal = (): AbortSignal => AbortSignal.timeout(15_000);
const EXCHANGE = 'POST /oauth2/exchange';

describe('Azure registry credentials (workload identity)', () => {
  const rig = useSuiteValue(startAzureRegistryRig, (r) => r.stop(), 60_000);
  const net = useSuiteValue(
    async () => loopbackOnly(),
    (n) => n.close(),
  );
  const entra = (): string => `POST /${rig.entra.tenantId}/oauth2/v2.0/token`;
  beforeEach(() => {
    rig.entra.server.hits.clear();
    rig.acr.server.hits.clear();
    rig.entra.server.down = undefined;
    rig.acr.now = Date.now;
  });

  async function resolveWith(cloud: CloudCredentials | undefined): Promise<string> {
    expect(cloud).toBeDefined();
    const host = rig.acr.server.host;
    const client = createRegistry({ registries: { [host]: { insecure: true } }, credentials: cloud! });
    try {
      return (await client.access().resolve(parseReference(`${host}/team/app:v1`), signal())).digest;
    } finally {
      await client.close();
    }
  }

  const source = (over: ConstructorParameters<typeof AzureTokenSource>[0] = {}): AzureTokenSource =>
    new AzureTokenSource({
      clientId: rig.entra.clientId,
      tenantId: rig.entra.tenantId,
      federatedTokenFile: rig.federatedTokenFile,
      authorityHost: rig.entra.server.url,
      hosts: [rig.acr.server.host],
      dispatcher: net.dispatcher,
      ...over,
    });

  it('reads the image: federated token → Entra (ACR audience) → exchange → the registry’s token flow', async () => {
    const cloud = cloudCredentialsFrom({ azure: { hosts: [rig.acr.server.host] } }, rig.env);
    expect(cloud!.sources.find((s) => s.name === NAME)!.identity()).toBe(
      `client ${rig.entra.clientId} in tenant ${rig.entra.tenantId} (AzurePublicCloud, audience https://containerregistry.azure.net)`,
    );
    expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
    expect(count(rig.entra.server, entra())).toBe(1);
    expect(count(rig.acr.server, EXCHANGE)).toBe(1);
    expect(rig.tokens.requests.at(-1)).toEqual({
      scope: 'repository:team/app:pull',
      account: rig.entra.clientId,
    });
  });

  describe('a registry reached at a configured address over TLS (registries.<host>.address and ca)', () => {
    const NAME_AT = 'localhost:1';
    const tls = useSuiteValue(
      async () => {
        const cert = await makeTlsCert();
        return { cert, proxy: await startFaultProxy(rig.acr.server.url, { tls: cert }) };
      },
      ({ proxy }) => proxy.stop(),
    );

    /** The registry config's `registries.<host>` and `cloud.azure`, through the path serve builds them. */
    async function tokenAt(ca: string[]): Promise<string | undefined> {
      rig.acr.service = NAME_AT;
      const options = withCloud(
        {
          registries: { [NAME_AT]: { ca, address: tls.proxy.host } },
          cloudConfig: { azure: { hosts: [NAME_AT] } },
        },
        rig.env,
      );
      try {
        const c = await options.cloud!.credentialsFor({
          registry: NAME_AT,
          repository: 'team/app',
          signal: signal(),
        });
        return c?.kind === 'identityToken' ? c.token : undefined;
      } finally {
        rig.acr.service = undefined;
      }
    }

    it('the exchange goes where the registry client would: to the address, over TLS naming the registry, trusting its ca', async () => {
      tls.proxy.clear();
      // the registry's refresh token, from the front behind the TLS address (a loopback name
      // without settings would have been asked over plain HTTP at localhost:1, where nothing listens)
      expect(await tokenAt([tls.cert.certPem])).toMatch(/^ey/);
      expect(tls.proxy.count(/^POST \/oauth2\/exchange/)).toBe(1);
      expect(count(rig.acr.server, EXCHANGE)).toBe(1);
    });

    it('without the ca, the exchange refuses the certificate: CREDENTIALS_UNAVAILABLE, nothing sent', async () => {
      tls.proxy.clear();
      await expect(tokenAt([])).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringMatching(/azure-acr .*oauth2\/exchange.*certificate/i) as unknown,
      });
      expect(tls.proxy.count(/exchange/)).toBe(0);
      expect(count(rig.acr.server, EXCHANGE)).toBe(0);
    });
  });

  it('fetches about one refresh token per validity under load, one Entra token per exchange at most', async () => {
    const clock = { now: Date.now() };
    rig.acr.now = () => clock.now;
    const cloud = cloudCredentialsFrom(
      undefined,
      {},
      { extraSources: [source({ now: () => clock.now })], now: () => clock.now },
    )!;
    const start = clock.now;
    for (let minute = 0; minute <= 6 * 60; minute += 10) {
      clock.now = start + minute * 60_000;
      const creds = await Promise.all(
        Array.from({ length: 30 }, () =>
          cloud.credentialsFor({ registry: rig.acr.server.host, repository: 'team/app', signal: signal() }),
        ),
      );
      expect(new Set(creds.map((c) => c?.kind))).toEqual(new Set(['identityToken']));
      await new Promise((r) => setImmediate(r));
    }
    // six hours of three-hour refresh tokens: the first, then one refresh ahead of each expiry
    expect(count(rig.acr.server, EXCHANGE)).toBeGreaterThanOrEqual(2);
    expect(count(rig.acr.server, EXCHANGE)).toBeLessThanOrEqual(3);
    expect(count(rig.entra.server, entra())).toBeLessThanOrEqual(count(rig.acr.server, EXCHANGE));
    expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
  });

  describe('the wrong audience', () => {
    it('asks Entra for the ACR audience, and an ARM token is refused by the registry with the fix', async () => {
      const cloud = cloudCredentialsFrom(
        { azure: { hosts: [rig.acr.server.host], audience: ARM_AUDIENCE } },
        rig.env,
      );
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        indeterminate: true,
        message: expect.stringMatching(
          /^azure-acr could not get a token for .* as client .*audience https:\/\/management\.azure\.com\).*is not accepted.*Fix: .*cloud\.azure\.(cloud|audience)/,
        ),
      });
    });
  });

  describe('sovereign clouds', () => {
    let china: AzureRegistryRig;
    beforeAll(async () => {
      china = await startAzureRegistryRig('https://containerregistry.azure.cn');
    }, 60_000);
    afterAll(() => china?.stop());

    it('asks a China cloud identity’s Entra for the China ACR audience', async () => {
      const cloud = cloudCredentialsFrom(
        {
          azure: {
            cloud: 'AzureChinaCloud',
            authorityHost: china.entra.server.url,
            hosts: [china.acr.server.host],
          },
        },
        { ...china.env, AZURE_AUTHORITY_HOST: undefined },
      )!;
      const client = createRegistry({
        registries: { [china.acr.server.host]: { insecure: true } },
        credentials: cloud,
      });
      const ref = parseReference(`${china.acr.server.host}/team/app:v1`);
      expect((await client.access().resolve(ref, signal())).digest).toBe(china.img.manifest.digest);
      await client.close();
    });

    it('knows each cloud’s registries and refuses to spend an identity on another cloud’s', async () => {
      const cn = source({ cloud: 'AzureChinaCloud' });
      expect(['team.azurecr.cn', 'team.azurecr.io', 'team.azurecr.us'].map((h) => cn.matches(h))).toEqual([
        true,
        true,
        true,
      ]);
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [cn] })!;
      await expect(
        cloud.credentialsFor({ registry: 'team.azurecr.io', repository: 'x', signal: signal() }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining(
          'team.azurecr.io is a registry of AzurePublicCloud, but the workload identity is in AzureChinaCloud',
        ),
      });
      expect(count(rig.entra.server, entra())).toBe(0);
      expect(net.refused).toEqual([]);
    });

    it.each([
      [
        'https://login.microsoftonline.us/',
        '(AzureUSGovernment, audience https://containerregistry.azure.us)',
      ],
      ['https://login.chinacloudapi.cn/', '(AzureChinaCloud, audience https://containerregistry.azure.cn)'],
    ])('takes the cloud from AZURE_AUTHORITY_HOST %s as the AKS webhook sets it', (authority, says) => {
      const cloud = cloudCredentialsFrom(undefined, { ...rig.env, AZURE_AUTHORITY_HOST: authority })!;
      expect(cloud.sources.find((s) => s.name === NAME)!.identity()).toContain(says);
    });
  });

  describe('when it cannot get a token', () => {
    it('is CREDENTIALS_UNAVAILABLE naming the identity and the fix when Entra is down', async () => {
      rig.entra.server.down = 503;
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [source()] })!;
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        indeterminate: true,
        message: expect.stringMatching(
          /as client .* in tenant .*HTTP 503.*Fix: .*azure\.workload\.identity\/use=true/,
        ),
      });
      expect(count(rig.acr.server, EXCHANGE)).toBe(0);
    });

    it('names the missing variables when enabled without the webhook’s environment', async () => {
      const cloud = cloudCredentialsFrom({ azure: { enabled: true, hosts: [rig.acr.server.host] } }, {})!;
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining(
          'Fix: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE not set',
        ),
      });
      expect(cloudCredentialsFrom({ aws: { enabled: false } }, {})).toBeUndefined();
    });

    it('follows the policy’s onError in `imagegate check` (deny: exit 1, allow: admitted with a warning)', async () => {
      rig.entra.server.down = 503;
      const dir = rig.dir;
      const config = join(dir, 'registry.yaml');
      await writeFile(config, `cloud:\n  azure:\n    hosts: ['${rig.acr.server.host}']\n`);
      const key = signingKey();
      const image = `${rig.acr.server.host}/team/app@${rig.img.manifest.digest}`;
      const run = async (onError: 'deny' | 'allow') => {
        const policy = join(dir, `policy-${onError}.yaml`);
        await writeFile(policy, keyPolicyYaml(key, { onError }));
        return imagegate(
          [
            'check',
            '--policy',
            policy,
            '--registry-config',
            config,
            '--insecure-registry',
            rig.acr.server.host,
            image,
          ],
          undefined,
          rig.env,
        );
      };
      const deny = await run('deny');
      expect(deny.code, deny.stdout + deny.stderr).toBe(1);
      expect(deny.stdout + deny.stderr).toContain('CREDENTIALS_UNAVAILABLE');
      const allow = await run('allow');
      expect(allow.code, allow.stdout + allow.stderr).toBe(0);
      expect(allow.stdout + allow.stderr).toContain('CREDENTIALS_UNAVAILABLE');
      // with Entra back, the same check (a new process: no backoff) reads the registry and finds no signature
      rig.entra.server.down = undefined;
      const read = await run('deny');
      expect(read.stdout + read.stderr).toContain('NO_SIGNATURES');
    });
  });

  describe('what a pod controls', () => {
    it('gets no token for an ACR outside `registries:`, nor for a host that only looks like one', async () => {
      const cloud = cloudCredentialsFrom({ azure: { registries: ['team.azurecr.io'] } }, rig.env)!;
      for (const registry of [
        'other.azurecr.io',
        'team.azurecr.io.evil.example',
        'azurecr.io',
        rig.acr.server.host,
      ])
        expect(
          await cloud.credentialsFor({ registry, repository: 'x', signal: signal() }),
          registry,
        ).toBeUndefined();
      expect(count(rig.entra.server, entra())).toBe(0);
    });

    it('never dials login.microsoftonline.com unless told to', async () => {
      const before = net.refused.length;
      const s = source({ authorityHost: undefined });
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [s] })!;
      await expect(
        cloud.credentialsFor({ registry: 'team.azurecr.io', repository: 'x', signal: signal() }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      expect(net.refused.slice(before)).toEqual(['https://login.microsoftonline.com']);
    });
  });
});
