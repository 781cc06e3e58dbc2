/**
 * Google Artifact Registry by the workload's Google identity, end to end: stand-ins for the metadata
 * server, STS, IAM credentials and the OAuth2 token endpoint (test/helpers/cloud/google.ts) in front
 * of the real registry, whose token service admits `oauth2accesstoken:<token>` of a principal with
 * the reader role. Every endpoint is named explicitly (environment or config): the sources dial
 * nothing else, and the ones built here dial through a loopback-only dispatcher.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import {
  cloudCredentialsFrom,
  type CloudCredentials,
} from '../../../src/registry/credentials/cloud/index.js';
import { GoogleTokenSource } from '../../../src/registry/credentials/cloud/gcp/source.js';
import type { CloudConfig } from '../../../src/registry/credentials/cloud/config.schema.js';
import { parseReference } from '../../../src/registry/reference.js';
import { externalAccountFile } from '../../helpers/cloud/google.js';
import { startGoogleRegistryRig, type GoogleRegistryRig } from '../../helpers/cloud/google-registry.js';
import { count } from '../../helpers/cloud/http.js';
import { jwtIssuer } from '../../helpers/cloud/jwt.js';
import { loopbackOnly, type LoopbackOnly } from '../../helpers/cloud/loopback.js';

const NAME = 'gcp';
const signal = (): AbortSignal => AbortSignal.timeout(15_000);
const TOKEN_PATH = 'GET /computeMetadata/v1/instance/service-accounts/default/token';
/** Nothing from the machine running the tests: only what each test names. */
const NO_CLOUD_ENV = {
  GOOGLE_APPLICATION_CREDENTIALS: undefined,
  GCE_METADATA_HOST: undefined,
  AZURE_CLIENT_ID: undefined,
  AZURE_TENANT_ID: undefined,
  AZURE_FEDERATED_TOKEN_FILE: undefined,
  AZURE_AUTHORITY_HOST: undefined,
};

describe('Google registry credentials', () => {
  let rig: GoogleRegistryRig;
  let net: LoopbackOnly;

  beforeAll(async () => {
    rig = await startGoogleRegistryRig();
    net = loopbackOnly();
  }, 60_000);
  afterAll(async () => {
    await net?.close();
    await rig?.stop();
  });
  beforeEach(() => {
    rig.g.server.hits.clear();
    rig.g.server.down = undefined;
    rig.g.tokenTtlS = 3600;
    rig.g.readers.clear();
  });

  async function resolveWith(cloud: CloudCredentials | undefined): Promise<string> {
    expect(cloud).toBeDefined();
    const client = createRegistry({
      registries: { [rig.reg.host]: { insecure: true } },
      credentials: cloud!,
    });
    try {
      const resolved = await client.access().resolve(parseReference(`${rig.reg.host}/team/app:v1`), signal());
      return resolved.digest;
    } finally {
      await client.close();
    }
  }

  const config = (): CloudConfig => ({ gcp: { hosts: [rig.reg.host] } });

  describe('the happy path of each method', () => {
    it('reads the image as the metadata server’s service account (GCE_METADATA_HOST)', async () => {
      rig.g.readers.add(rig.g.metadataEmail);
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GCE_METADATA_HOST: rig.g.server.host });
      expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
      expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
      expect(cloud!.status().find((s) => s.provider === NAME)).toMatchObject({
        provider: 'gcp',
        tokens: 1,
        lastError: undefined,
      });
    });

    it('matches Google’s own host names without configuration (europe-docker.pkg.dev at a private address)', async () => {
      rig.g.readers.add(rig.g.metadataEmail);
      const cloud = cloudCredentialsFrom(undefined, {
        ...NO_CLOUD_ENV,
        GCE_METADATA_HOST: rig.g.server.host,
      });
      const host = 'europe-docker.pkg.dev';
      const client = createRegistry({
        registries: { [host]: { insecure: true, address: rig.reg.host } },
        credentials: cloud!,
      });
      const resolved = await client.access().resolve(parseReference(`${host}/team/app:v1`), signal());
      await client.close();
      expect(resolved.digest).toBe(rig.img.manifest.digest);
      expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
    });

    it('reads it as a federated principal impersonating a service account (external_account)', async () => {
      const sa = 'imagegate-reader@proj.iam.gserviceaccount.com';
      rig.g.impersonators.set(sa, new Set([rig.g.principalOf('system:serviceaccount:imagegate:imagegate')]));
      rig.g.readers.add(sa);
      const file = join(rig.dir, 'wif.json');
      await writeFile(file, JSON.stringify(externalAccountFile(rig.g, rig.ksaTokenFile, sa)));
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GOOGLE_APPLICATION_CREDENTIALS: file });
      expect(cloud!.sources.find((s) => s.name === NAME)!.identity()).toContain(sa);
      expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
      expect(count(rig.g.server, 'POST /v1/token')).toBe(1);
      expect(count(rig.g.server, TOKEN_PATH)).toBe(0);
    });

    it('reads it as the federated principal itself (no impersonation)', async () => {
      rig.g.readers.add(rig.g.principalOf('system:serviceaccount:imagegate:imagegate'));
      const file = join(rig.dir, 'wif-direct.json');
      await writeFile(file, JSON.stringify(externalAccountFile(rig.g, rig.ksaTokenFile)));
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GOOGLE_APPLICATION_CREDENTIALS: file });
      expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
    });

    it('reads it with a service account key (service_account)', async () => {
      rig.g.readers.add(rig.g.serviceAccountKey.client_email!);
      const file = join(rig.dir, 'key.json');
      await writeFile(file, JSON.stringify(rig.g.serviceAccountKey));
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GOOGLE_APPLICATION_CREDENTIALS: file });
      expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
      expect(count(rig.g.server, 'POST /token')).toBe(1);
    });

    it('is UNAUTHORIZED at the registry when the identity lacks the reader role (a token was sent)', async () => {
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GCE_METADATA_HOST: rig.g.server.host });
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('UNAUTHORIZED');
      expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
    });
  });

  describe('under load, across token lifetimes', () => {
    it('fetches about one token per validity for the identity, however many reviews and registries ask', async () => {
      rig.g.readers.add(rig.g.metadataEmail);
      const clock = { now: Date.now() };
      const source = new GoogleTokenSource({
        metadataHost: rig.g.server.host,
        hosts: ['*.gcp.test', rig.reg.host],
        dispatcher: net.dispatcher,
        now: () => clock.now,
      });
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [source], now: () => clock.now })!;
      const registries = ['us-docker.pkg.dev', 'gcr.io', 'europe-west1-docker.pkg.dev'];
      const start = clock.now;
      const seen = new Set<string>();
      for (let minute = 0; minute <= 180; minute += 5) {
        clock.now = start + minute * 60_000;
        const creds = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            cloud.credentialsFor({ registry: registries[i % 3]!, repository: 'team/app', signal: signal() }),
          ),
        );
        for (const c of creds) {
          expect(c?.kind).toBe('basic');
          if (c?.kind === 'basic') {
            const token = rig.g.tokens.get(c.password);
            expect(token?.principal).toBe(rig.g.metadataEmail);
            seen.add(c.password);
          }
        }
        await new Promise((r) => setImmediate(r)); // let background refreshes land
      }
      // 37 rounds × 30 lookups over 3 hours of 1-hour tokens: the first fetch, then one refresh
      // ahead of each expiry, shared by the three registries
      const fetches = count(rig.g.server, TOKEN_PATH);
      expect(fetches).toBeGreaterThanOrEqual(3);
      expect(fetches).toBeLessThanOrEqual(4);
      expect(seen.size).toBe(fetches);
      // and the last token still reads the real registry
      expect(await resolveWith(cloud)).toBe(rig.img.manifest.digest);
    });
  });

  describe('when the provider is down', () => {
    it('is CREDENTIALS_UNAVAILABLE naming provider, identity and fix, and backs off instead of flooding', async () => {
      rig.g.server.down = 503;
      const source = new GoogleTokenSource({
        metadataHost: rig.g.server.host,
        hosts: [rig.reg.host],
        dispatcher: net.dispatcher,
      });
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [source] })!;
      const lookups = Array.from({ length: 20 }, () =>
        cloud.credentialsFor({ registry: rig.reg.host, repository: 'team/app', signal: signal() }),
      );
      for (const l of lookups)
        await expect(l).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
          indeterminate: true,
          message: expect.stringMatching(
            /^gcp could not get a token for 127\.0\.0\.1:\d+ as the default service account of the metadata server .*HTTP 503.*Fix: .*iam\.gke\.io\/gcp-service-account/,
          ),
        });
      expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining('next attempt in'),
      });
      expect(count(rig.g.server, TOKEN_PATH)).toBe(1);
      expect(cloud.status().find((s) => s.provider === NAME)!.lastError).toContain('HTTP 503');
    });
  });

  describe('when the identity is refused', () => {
    it('names the key file’s service account and says to check the key (a revoked key)', async () => {
      const file = join(rig.dir, 'revoked-key.json');
      const revoked = { ...rig.g.serviceAccountKey, private_key: jwtIssuer('revoked').privateKeyPem };
      await writeFile(file, JSON.stringify(revoked));
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GOOGLE_APPLICATION_CREDENTIALS: file });
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        indeterminate: true,
        message: expect.stringMatching(
          /^gcp could not get a token for .* as key-sa@proj\.iam\.gserviceaccount\.com \(service_account in .*invalid_grant.*Fix: check that the key/,
        ),
      });
    });

    it('says what is wrong with a credentials file it cannot use', async () => {
      const file = join(rig.dir, 'user.json');
      await writeFile(file, JSON.stringify({ type: 'authorized_user', client_id: 'x', refresh_token: 'y' }));
      const cloud = cloudCredentialsFrom(config(), { ...NO_CLOUD_ENV, GOOGLE_APPLICATION_CREDENTIALS: file });
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringContaining(
          'of type "authorized_user"; imagegate reads external_account and service_account',
        ),
      });
      expect(rig.g.server.hits.size).toBe(0);
    });
  });

  describe('what a pod controls', () => {
    beforeEach(() => {
      rig.tokens.requests.length = 0;
    });

    it('cannot send the Google token to a registry the provider does not serve', async () => {
      rig.g.readers.add(rig.g.metadataEmail);
      const source = new GoogleTokenSource({ metadataHost: rig.g.server.host, dispatcher: net.dispatcher });
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [source] })!;
      for (const registry of [
        rig.reg.host, // not configured as a Google host
        'gcr.io.evil.example',
        'evil-docker.pkg.dev.example',
        'pkg.dev',
        'gcr.io:8443',
        'docker.pkg.dev',
      ]) {
        expect(await cloud.credentialsFor({ registry, repository: 'x', signal: signal() })).toBeUndefined();
      }
      // the registry is read anonymously and refuses: no token was fetched or sent
      await expect(resolveWith(cloud)).rejects.toThrowWithCode('UNAUTHORIZED');
      expect(count(rig.g.server, TOKEN_PATH)).toBe(0);
      expect(rig.tokens.requests.length).toBeGreaterThan(0);
      expect(rig.tokens.requests.every((r) => r.account === null)).toBe(true);
    });

    it('matches Google’s own hosts only', () => {
      const source = new GoogleTokenSource({ metadataHost: '127.0.0.1:1' });
      for (const host of [
        'gcr.io',
        'us.gcr.io',
        'asia.gcr.io',
        'us-docker.pkg.dev',
        'europe-west4-docker.pkg.dev',
        'gcr.io:443',
      ])
        expect(source.matches(host), host).toBe(true);
      for (const host of [
        'gcr.io.evil.example',
        'evilgcr.io',
        'docker.pkg.dev',
        'us-maven.pkg.dev',
        'x.azurecr.io',
      ])
        expect(source.matches(host), host).toBe(false);
    });

    it('never dials the default metadata server unless told to (and then only metadata.google.internal)', async () => {
      const before = net.refused.length;
      const source = new GoogleTokenSource({ dispatcher: net.dispatcher });
      const cloud = cloudCredentialsFrom(undefined, {}, { extraSources: [source] })!;
      await expect(
        cloud.credentialsFor({ registry: 'gcr.io', repository: 'x', signal: signal() }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      expect(net.refused.slice(before)).toEqual(['http://metadata.google.internal']);
      // and without GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST or `enabled`, there is no source at all
      expect(cloudCredentialsFrom({ aws: { enabled: false } }, NO_CLOUD_ENV)).toBeUndefined();
    });
  });
});
