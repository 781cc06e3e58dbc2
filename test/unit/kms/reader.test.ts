/**
 * The key.kms reader against loopback stand-ins of AWS KMS, Cloud KMS (+ metadata server), Key Vault
 * (+ Entra) and Vault transit holding real keys: what each answers becomes verification keys with the
 * right padding and hash, every enabled version and no disabled one, invalid material is KEY_INVALID,
 * and the cache shares fetches, serves the last good keys through an outage and nothing cold.
 */
import { sign, constants } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KmsKeyReference, PublicKeyVersion } from '../../../src/checks/signature/index.js';
import { createKmsKeyReader, KmsProbe, type KmsReaderOptions } from '../../../src/kms/index.js';
import { parseKmsUri } from '../../../src/shared/kms-uri.js';
import { verify } from 'node:crypto';
import type { AwsKmsStandIn } from '../../helpers/kms/aws.js';
import type { KeyVaultStandIn } from '../../helpers/kms/azure.js';
import type { CloudKmsStandIn } from '../../helpers/kms/gcp.js';
import { makeKeyPair, type TestKeyPair } from '../../helpers/kms/keys.js';
import type { VaultStandIn } from '../../helpers/kms/vault.js';
import { startKmsWorld, type KmsWorld } from '../../helpers/kms/world.js';
import { startGoogleStandIn } from '../../helpers/cloud/google.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const PSS_ID = '2234abcd-12ab-34cd-56ef-1234567890ab';
const ENC_ID = '3234abcd-12ab-34cd-56ef-1234567890ab';
const BAD_ID = '4234abcd-12ab-34cd-56ef-1234567890ab';
const GCP_KEY = 'projects/p1/locations/global/keyRings/ring/cryptoKeys/signer';
const DATA = Buffer.from('{"critical":{"identity":{"docker-reference":"x"}}}');

const ref = (uri: string) => parseKmsUri(uri) as KmsKeyReference;
const signal = () => AbortSignal.timeout(10_000);

/** Which of `versions` verifies a signature `pair` made over DATA the given way. */
function verifies(
  versions: readonly PublicKeyVersion[],
  pair: TestKeyPair,
  how: 'pkcs1' | 'pss' | 'ec',
): boolean {
  const sig =
    how === 'pss'
      ? sign('sha256', DATA, {
          key: pair.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        })
      : sign('sha256', DATA, pair.privateKey);
  return versions.some((v) => {
    try {
      return verify(v.hash ?? 'sha256', DATA, v.key, sig);
    } catch {
      return false;
    }
  });
}

const ec = makeKeyPair('ec-p256');
const rsa = makeKeyPair('rsa-2048');
const rsa4096 = makeKeyPair('rsa-4096');
const older = makeKeyPair('ec-p256');
const disabled = makeKeyPair('ec-p256');

let world: KmsWorld;
let aws: AwsKmsStandIn;
let gcp: CloudKmsStandIn;
let azure: KeyVaultStandIn;
let vault: VaultStandIn;

beforeAll(async () => {
  world = await startKmsWorld();
  ({ aws, gcp, azure, vault } = world);
  aws.keys.set(KEY_ID, { pair: ec, keySpec: 'ECC_NIST_P256', signingAlgorithms: ['ECDSA_SHA_256'] });
  aws.keys.set(PSS_ID, { pair: rsa, keySpec: 'RSA_2048', signingAlgorithms: ['RSASSA_PSS_SHA_256'] });
  aws.keys.set(ENC_ID, {
    pair: rsa,
    keySpec: 'RSA_2048',
    signingAlgorithms: [],
    keyUsage: 'ENCRYPT_DECRYPT',
  });
  aws.keys.set(BAD_ID, {
    pair: ec,
    keySpec: 'ECC_NIST_P256',
    signingAlgorithms: ['ECDSA_SHA_256'],
    publicKeyOverride: Buffer.from('not a key'),
  });
  aws.aliases.set('alias/release', KEY_ID);
  gcp.keys.set(GCP_KEY, [
    { pair: older, algorithm: 'EC_SIGN_P256_SHA256', state: 'ENABLED' },
    { pair: disabled, algorithm: 'EC_SIGN_P256_SHA256', state: 'DISABLED' },
    { pair: rsa4096, algorithm: 'RSA_SIGN_PSS_4096_SHA256', state: 'ENABLED' },
  ]);
  azure.keys.set('signer', [
    { id: 'v1', pair: older, enabled: true },
    { id: 'v2', pair: disabled, enabled: false },
    { id: 'v3', pair: rsa, enabled: true },
  ]);
  vault.keys.set('signer', { type: 'ecdsa-p256', versions: [disabled, older, ec], minDecryptionVersion: 2 });
});

beforeEach(() => world.stubAwsEnv());

afterAll(() => world?.close());

const reader = (options: Partial<KmsReaderOptions> = {}) =>
  createKmsKeyReader({ env: world.env, dispatcher: world.dispatcher, ...options });

describe('the key.kms reader', () => {
  describe('AWS KMS GetPublicKey', () => {
    it.each([
      `awskms:///${KEY_ID}`,
      `awskms:///arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`,
      'awskms:///alias/release',
    ])('%s: the EC key, signed SigV4 for kms in the region', async (uri) => {
      const versions = await reader().keys(ref(uri), signal());
      expect(versions).toHaveLength(1);
      expect(verifies(versions, ec, 'ec')).toBe(true);
    });

    it('an RSA key listing only RSASSA_PSS_SHA_256 verifies PSS signatures and not PKCS#1 v1.5 ones', async () => {
      const versions = await reader().keys(ref(`awskms:///${PSS_ID}`), signal());
      expect(verifies(versions, rsa, 'pss')).toBe(true);
      expect(verifies(versions, rsa, 'pkcs1')).toBe(false);
    });

    it.each([
      [ENC_ID, 'key usage is ENCRYPT_DECRYPT, not SIGN_VERIFY'],
      [BAD_ID, 'unusable public key'],
    ])('%s: KEY_INVALID', async (id, message) => {
      await expect(reader().keys(ref(`awskms:///${id}`), signal())).rejects.toMatchObject({
        code: 'KEY_INVALID',
        indeterminate: false,
        message: expect.stringContaining(message),
      });
    });

    it('an unknown key: KMS_UNAVAILABLE naming the reference and the cause', async () => {
      await expect(reader().keys(ref('awskms:///alias/nope'), signal())).rejects.toMatchObject({
        code: 'KMS_UNAVAILABLE',
        indeterminate: true,
        message: expect.stringContaining('no such key'),
      });
    });
  });

  describe('Cloud KMS', () => {
    it('every ENABLED version (the older EC and the current RSA-PSS 4096), no DISABLED one, with a metadata-server token', async () => {
      const versions = await reader().keys(ref(`gcpkms://${GCP_KEY}`), signal());
      expect(versions.map((v) => v.version)).toEqual(['1', '3']);
      expect(verifies(versions, older, 'ec')).toBe(true);
      expect(verifies(versions, rsa4096, 'pss')).toBe(true);
      expect(verifies(versions, rsa4096, 'pkcs1')).toBe(false);
      expect(verifies(versions, disabled, 'ec')).toBe(false);
      expect(gcp.requests.some((r) => r.url.includes('filter=state%3DENABLED'))).toBe(true);
    });

    it('a URI naming a disabled version: KMS_UNAVAILABLE (the service refuses it)', async () => {
      await expect(
        reader().keys(ref(`gcpkms://${GCP_KEY}/cryptoKeyVersions/2`), signal()),
      ).rejects.toMatchObject({
        code: 'KMS_UNAVAILABLE',
      });
    });
  });

  describe('Azure Key Vault', () => {
    it('every enabled version as JWK, RSA as PKCS#1 v1.5, with a workload-identity token for the vault scope', async () => {
      const versions = await reader().keys(ref(`azurekms://${azure.host}/signer`), signal());
      expect(versions.map((v) => v.version)).toEqual(['v1', 'v3']);
      expect(verifies(versions, older, 'ec')).toBe(true);
      expect(verifies(versions, rsa, 'pkcs1')).toBe(true);
      expect(verifies(versions, disabled, 'ec')).toBe(false);
      expect(azure.scopes).toContain('https://vault.azure.net/.default');
    });
  });

  describe('when a service answers with hostile content', () => {
    it("Key Vault's token never follows a listing page to another origin", async () => {
      world.azure.nextLink = `${world.gcp.url}/keys/signer/versions?page=2`;
      const before = world.gcp.requests.length;
      try {
        await expect(reader().keys(ref(`azurekms://${azure.host}/signer`), signal())).rejects.toMatchObject({
          code: 'KMS_UNAVAILABLE',
          message: expect.stringContaining(`refusing to follow a listing page to ${world.gcp.url}`),
        });
        expect(world.gcp.requests.length).toBe(before);
      } finally {
        world.azure.nextLink = null;
      }
    });

    it('an answer past the size bound is cut off: KMS_UNAVAILABLE, nothing parsed', async () => {
      vault.hugeAnswerBytes = 1024 * 1024;
      try {
        await expect(reader().keys(ref('hashivault://signer'), signal())).rejects.toMatchObject({
          code: 'KMS_UNAVAILABLE',
          message: expect.stringContaining('answer larger than 262144 bytes'),
        });
      } finally {
        delete vault.hugeAnswerBytes;
      }
    });
  });

  describe('Vault transit', () => {
    it('the versions at or above min_decryption_version, after a Kubernetes auth login', async () => {
      const versions = await reader().keys(ref('hashivault://signer'), signal());
      expect(versions.map((v) => v.version)).toEqual(['3', '2']);
      expect(verifies(versions, ec, 'ec')).toBe(true);
      expect(verifies(versions, older, 'ec')).toBe(true);
      expect(verifies(versions, disabled, 'ec')).toBe(false);
      expect(vault.requests.find((r) => r.url.startsWith('/v1/transit'))?.headers['x-vault-token']).toBe(
        vault.loginToken,
      );
    });
  });

  describe('the cache', () => {
    it('concurrent reviews share one fetch; the next hour fetches again', async () => {
      let now = 1_000_000;
      const r = reader({ now: () => now });
      const before = vault.count(/^\/v1\/transit/);
      await Promise.all(Array.from({ length: 20 }, () => r.keys(ref('hashivault://signer'), signal())));
      expect(vault.count(/^\/v1\/transit/) - before).toBe(1);
      now += 59 * 60_000;
      await r.keys(ref('hashivault://signer'), signal());
      expect(vault.count(/^\/v1\/transit/) - before).toBe(1);
      now += 2 * 60_000;
      await r.keys(ref('hashivault://signer'), signal());
      expect(vault.count(/^\/v1\/transit/) - before).toBe(2);
    });

    it('each key says until when it is fresh (fetch + refresh interval): verdicts resting on it end there', async () => {
      let now = 2_000_000;
      const r = reader({ now: () => now, refreshMs: 600_000 });
      const first = await r.keys(ref('hashivault://signer'), signal());
      expect(first.map((v) => v.freshUntil)).toEqual(first.map(() => 2_600_000));
      now += 600_000;
      const second = await r.keys(ref('hashivault://signer'), signal());
      expect(second.every((v) => v.freshUntil === 3_200_000)).toBe(true);
    });

    it('an outage serves the last good keys (bounded), and a cold outage is KMS_UNAVAILABLE', async () => {
      let now = 5_000_000;
      const events: string[] = [];
      const onFetch = (service: string, result: string) => events.push(`${service} ${result}`);
      const r = reader({ now: () => now, staleMs: 3_600_000, onFetch });
      const good = await r.keys(ref(`gcpkms://${GCP_KEY}`), signal());
      gcp.down = true;
      try {
        now += 61 * 60_000;
        expect(await r.keys(ref(`gcpkms://${GCP_KEY}`), signal())).toBe(good);
        expect(r.counters.staleServed).toBe(1);
        // the metrics' view: fetched, failed, answered stale; the keys in use are 61 min old
        expect(events).toEqual(['gcpkms ok', 'gcpkms error', 'gcpkms stale']);
        expect(r.keyStatus()).toEqual([{ service: 'gcpkms', keys: 1, oldestKeyAgeSeconds: 61 * 60 }]);
        // past refresh + stale bound: nothing to serve
        now += 61 * 60_000;
        await expect(r.keys(ref(`gcpkms://${GCP_KEY}`), signal())).rejects.toMatchObject({
          code: 'KMS_UNAVAILABLE',
          indeterminate: true,
          message: expect.stringContaining('HTTP 503'),
        });
        // cold: another reader never fetched
        await expect(reader().keys(ref(`gcpkms://${GCP_KEY}`), signal())).rejects.toMatchObject({
          code: 'KMS_UNAVAILABLE',
        });
      } finally {
        gcp.down = false;
      }
    });

    it('during an outage a storm of reviews asks the service once per failure window', async () => {
      let now = 9_000_000;
      const r = reader({ now: () => now });
      vault.down = true;
      const before = vault.count(/^\/v1\//);
      try {
        for (let i = 0; i < 10; i++)
          await expect(r.keys(ref('hashivault://signer'), signal())).rejects.toMatchObject({
            code: 'KMS_UNAVAILABLE',
          });
        // one transit read (the login is a separate path) in the failure window
        expect(vault.count(/^\/v1\/transit/) + vault.count(/^\/v1\/auth/) - before).toBeLessThanOrEqual(2);
        now += 11_000;
        vault.down = false;
        expect(await r.keys(ref('hashivault://signer'), signal())).toHaveLength(2);
      } finally {
        vault.down = false;
      }
    });

    it("a review's aborted signal stops its wait: KMS_UNAVAILABLE, not a hang", async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(reader().keys(ref('hashivault://signer'), controller.signal)).rejects.toMatchObject({
        code: 'KMS_UNAVAILABLE',
        message: expect.stringContaining('deadline'),
      });
    });
  });

  describe("tokens from the registry's cloud token machinery", () => {
    it('Cloud KMS as a service_account key file: one token for every key, counted and reported as gcp-kms', async () => {
      const google = await startGoogleStandIn();
      const dir = await mkdtemp(join(tmpdir(), 'imagegate-kms-sa-'));
      const file = join(dir, 'key.json');
      await writeFile(file, JSON.stringify(google.serviceAccountKey));
      const sa = google.serviceAccountKey.client_email!;
      gcp.acceptToken = (t) => google.tokens.get(t)?.principal === sa;
      const fetched: string[] = [];
      try {
        const { GCE_METADATA_HOST: _metadata, ...env } = world.env;
        const r = reader({
          env: { ...env, GOOGLE_APPLICATION_CREDENTIALS: file },
          tokenHooks: { onFetch: (provider, result) => fetched.push(`${provider} ${result}`) },
        });
        const [all, one] = await Promise.all([
          r.keys(ref(`gcpkms://${GCP_KEY}`), signal()),
          r.keys(ref(`gcpkms://${GCP_KEY}/cryptoKeyVersions/1`), signal()),
        ]);
        expect(verifies(all, rsa4096, 'pss')).toBe(true);
        expect(verifies(one, older, 'ec')).toBe(true);
        expect(fetched).toEqual(['gcp-kms ok']);
        expect(google.tokens.size).toBe(1);
        expect(r.tokenStatus()).toEqual([
          expect.objectContaining({ provider: 'gcp-kms', tokens: 1, identity: expect.stringContaining(sa) }),
        ]);
      } finally {
        gcp.acceptToken = (t) => t === gcp.token;
        await google.stop();
      }
    });

    it('Key Vault without workload identity: KMS_UNAVAILABLE naming the provider, the missing variables and the fix', async () => {
      const { AZURE_CLIENT_ID: _client, ...env } = world.env;
      const r = reader({ env });
      const before = azure.requests.length;
      await expect(r.keys(ref(`azurekms://${azure.host}/signer`), signal())).rejects.toMatchObject({
        code: 'KMS_UNAVAILABLE',
        indeterminate: true,
        message: expect.stringMatching(
          /azure-keyvault could not get a token .*AZURE_CLIENT_ID unset.*Fix: AZURE_CLIENT_ID not set: label imagegate's pods/,
        ),
      });
      expect(azure.requests.length).toBe(before); // nothing sent without an identity
    });
  });

  describe('KmsProbe (serve: /readyz and policy status)', () => {
    const doc = (name: string, kms: string) => ({
      metadata: { name },
      spec: { signature: { authorities: [{ key: { kms } }] } },
    });

    it('names the policy whose key service cannot be read, and warms the cache for the others', async () => {
      // a cold failure is normally remembered 10 s; here the service is back at once
      let now = 7_000_000;
      const r = reader({ failureMs: 0, now: () => now });
      const probe = new KmsProbe(r);
      gcp.down = true;
      try {
        const problems = await probe.probe([
          doc('vault-ok', 'hashivault://signer'),
          doc('gcp-down', `gcpkms://${GCP_KEY}`),
          doc('secret', 'k8s://ci/keys'),
        ]);
        expect(problems).toEqual([
          {
            policy: 'gcp-down',
            message: expect.stringMatching(/^key\.kms: cannot fetch gcpkms:\/\/.*HTTP 503/),
          },
        ]);
        expect(probe.problems()).toEqual(problems);
        const fetches = r.counters.fetches;
        await r.keys(ref('hashivault://signer'), signal());
        expect(r.counters.fetches).toBe(fetches);
      } finally {
        gcp.down = false;
      }
      // the metadata server's failed token call backs off (the cloud token cache's 1 s, doubling)
      expect(await probe.probe([doc('gcp-back', `gcpkms://${GCP_KEY}`)])).toEqual([
        { policy: 'gcp-back', message: expect.stringMatching(/gcp-kms .*next attempt in 1 s.*Fix: /) },
      ]);
      now += 1000;
      expect(await probe.probe([doc('gcp-back', `gcpkms://${GCP_KEY}`)])).toEqual([]);
    });
  });
});
