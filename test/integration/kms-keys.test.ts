/**
 * `key.kms` end to end: images in the real registry signed by the real cosign (v2) with keys that
 * loopback stand-ins of AWS KMS, Cloud KMS, Key Vault and Vault transit serve (and a k8s:// Secret in
 * the Kubernetes API stand-in), judged by the webhook over HTTPS. Rotation (an older version still
 * verifies, a disabled one does not), outage (last good keys serve; cold: KMS_UNAVAILABLE following
 * onError) and invalid key material (KEY_INVALID, enforced whatever onError says).
 * Without cosign (and no Go to build it) the suite is skipped with a notice; under CI=true that fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import type { CacheOptions } from '../../src/cli/cache-flags.js';
import { setupEngine, type Setup } from '../../src/cli/setup.js';
import { createKubeAccess } from '../../src/kube/access.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { AuditCheck } from '../../src/audit/types.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { imagegate } from '../helpers/cli.js';
import { cosign, cosignBinaryPath, cosignTools, type Cosign } from '../helpers/cosign.js';
import { commonOptions, writePolicyFile } from '../helpers/engine.js';
import { cosignKeySecret, KubeApiStandIn } from '../helpers/kube-api.js';
import { makeKeyPair } from '../helpers/kms/keys.js';
import { cosignSign, kmsStyleSign, pushFreshImage } from '../helpers/kms/signing.js';
import { startKmsWorld, type KmsWorld } from '../helpers/kms/world.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';

const VERSION = 'v2.6.5';
const HAVE_COSIGN =
  existsSync(cosignBinaryPath(VERSION)) ||
  spawnSync('go', ['version']).error === undefined ||
  existsSync('/usr/local/go/bin/go');
if (!HAVE_COSIGN) {
  if (process.env.CI === 'true')
    throw new Error('go not found: the key.kms suite needs cosign under CI=true');
  console.warn('[imagegate tests] go not found and cosign not built: the key.kms suite is skipped');
}

const AWS_KEY = '5a1b2c3d-1111-2222-3333-444455556666';
const AWS_BAD = '6a1b2c3d-1111-2222-3333-444455556666';
const AWS_P384 = '7a1b2c3d-1111-2222-3333-444455556666';
const GCP_KEY = 'projects/p1/locations/global/keyRings/release/cryptoKeys/signer';

const keys = {
  aws: makeKeyPair('ec-p256'),
  awsP384: makeKeyPair('ec-p384'),
  gcpOld: makeKeyPair('ec-p256'),
  gcpDisabled: makeKeyPair('ec-p256'),
  gcpPss: makeKeyPair('rsa-4096'),
  azureRsa: makeKeyPair('rsa-2048'),
  vault: makeKeyPair('ec-p256'),
  secret: makeKeyPair('ec-p256'),
};

function policy(name: string, glob: string, kms: string, onError = 'deny'): string {
  return `---
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: ${name} }
spec:
  mode: enforce
  onError: ${onError}
  images: [{ glob: "${glob}" }]
  signature:
    authorities: [{ name: ${name}, key: { kms: "${kms}" } }]
`;
}

describe.skipIf(!HAVE_COSIGN)('key.kms: cosign-signed images, keys from key services', () => {
  let registry: TestRegistry;
  let world: KmsWorld;
  let api: KubeApiStandIn;
  let c: Cosign;
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    const tools = cosignTools([VERSION]);
    if (!tools.ok) throw new Error(`cannot build cosign: ${tools.reason}`);
    c = await cosign(tools.binaries[0]!);
    registry = await startRegistry();
    world = await startKmsWorld();
    world.aws.keys.set(AWS_KEY, {
      pair: keys.aws,
      keySpec: 'ECC_NIST_P256',
      signingAlgorithms: ['ECDSA_SHA_256'],
    });
    world.aws.aliases.set('alias/release', AWS_KEY);
    world.aws.keys.set(AWS_P384, {
      pair: keys.awsP384,
      keySpec: 'ECC_NIST_P384',
      signingAlgorithms: ['ECDSA_SHA_384'],
    });
    world.aws.keys.set(AWS_BAD, {
      pair: keys.aws,
      keySpec: 'ECC_NIST_P256',
      signingAlgorithms: ['ECDSA_SHA_256'],
      publicKeyOverride: Buffer.from('0123456789', 'hex'),
    });
    world.gcp.keys.set(GCP_KEY, [
      { pair: keys.gcpOld, algorithm: 'EC_SIGN_P256_SHA256', state: 'ENABLED' },
      { pair: keys.gcpDisabled, algorithm: 'EC_SIGN_P256_SHA256', state: 'DISABLED' },
      { pair: keys.gcpPss, algorithm: 'RSA_SIGN_PSS_4096_SHA256', state: 'ENABLED' },
    ]);
    world.azure.keys.set('signer', [{ id: 'a1', pair: keys.azureRsa, enabled: true }]);
    world.vault.keys.set('signer', { type: 'ecdsa-p256', versions: [keys.vault], minDecryptionVersion: 1 });
    api = new KubeApiStandIn();
    await api.start();
    api.put(cosignKeySecret('ci', 'cosign-keys', keys.secret.publicPem));

    const sign = async (name: string, how: (ref: string) => Promise<void>) => {
      refs[name] = await pushFreshImage(registry, `kms/${name.split('-')[0]}/app`);
      await how(refs[name]);
    };
    await sign('aws-signed', (r) => cosignSign(c, r, keys.aws));
    await sign('awsbad-signed', (r) => cosignSign(c, r, keys.aws));
    await sign('awsp384-sha384', (r) => kmsStyleSign(c, r, keys.awsP384, { hash: 'sha384' }));
    await sign('awsp384-sha256', (r) => kmsStyleSign(c, r, keys.awsP384, { hash: 'sha256' }));
    await sign('gcp-old', (r) => cosignSign(c, r, keys.gcpOld));
    await sign('gcp-disabled', (r) => cosignSign(c, r, keys.gcpDisabled));
    await sign('gcp-pss', (r) => kmsStyleSign(c, r, keys.gcpPss, { pss: true }));
    await sign('azure-rsa', (r) => cosignSign(c, r, keys.azureRsa));
    await sign('vault-signed', (r) => cosignSign(c, r, keys.vault));
    await sign('k8s-signed', (r) => cosignSign(c, r, keys.secret));
    await sign('k8s-other', (r) => cosignSign(c, r, keys.aws));
  }, 30 * 60_000);

  afterAll(async () => {
    await world?.close();
    api?.close();
    await registry?.stop();
  });

  beforeEach(() => world.stubAwsEnv());

  async function serve(
    policies: string,
    now?: () => number,
    caches: CacheOptions = {},
  ): Promise<{ server: TestServer; setup: Setup }> {
    const kc = loadKubeConfig({ file: api.kubeconfigPath })!;
    const setup = await setupEngine(
      commonOptions({ policy: [await writePolicyFile(policies)], insecureRegistry: [registry.host] }),
      pino({ level: 'silent' }),
      {
        kube: createKubeAccess(kc, pino({ level: 'silent' })),
        kms: { env: world.env, dispatcher: world.dispatcher, ...(now !== undefined ? { now } : {}) },
        ...caches,
      },
    );
    return { server: await startServer({ engine: setup.engine }), setup };
  }

  /** Serves `policies` for the length of `use`, then closes the server and its registry client. */
  async function serving(
    policies: string,
    now: (() => number) | undefined,
    use: (server: TestServer) => Promise<void>,
    caches: CacheOptions = {},
  ): Promise<void> {
    const { server, setup } = await serve(policies, now, caches);
    try {
      await use(server);
    } finally {
      await server.close();
      await setup.registry.close();
    }
  }

  /** The GCP key's policy served on a clock `use` moves, its keys fetched by one admitted image, for `use`. */
  function withGcpKeysCached(
    use: (server: TestServer, advance: (ms: number) => void) => Promise<void>,
    caches: CacheOptions = {},
  ): Promise<void> {
    let now = Date.now();
    const gcp = policy('gcp', `${registry.host}/kms/gcp/**`, `gcpkms://${GCP_KEY}`);
    return serving(
      gcp,
      () => now,
      async (server) => {
        expect((await judge(server, refs['gcp-old']!)).allowed).toBe(true);
        await use(server, (ms) => {
          now += ms;
        });
      },
      caches,
    );
  }

  /** The decision and the signature finding for one image. */
  async function judge(server: TestServer, ref: string): Promise<{ allowed: boolean; finding: AuditCheck }> {
    const res = await server.post('/validate?timeout=20s', podReview([ref]));
    const allowed = (res.json as { response: { allowed: boolean } }).response.allowed;
    const finding = server.audit
      .at(-1)!
      .images.flatMap((i) => i.policies.flatMap((p) => p.checks))
      .find((f) => f.check === 'signature')!;
    return { allowed, finding };
  }

  describe('one policy per key service', () => {
    let server: TestServer;
    let setup: Setup;
    beforeAll(async () => {
      ({ server, setup } = await serve(
        [
          policy('aws', `${registry.host}/kms/aws/**`, 'awskms:///alias/release'),
          policy('awsbad', `${registry.host}/kms/awsbad/**`, `awskms:///${AWS_BAD}`, 'allow'),
          policy(
            'awsp384',
            `${registry.host}/kms/awsp384/**`,
            `awskms:///arn:aws:kms:eu-west-1:111122223333:key/${AWS_P384}`,
          ),
          policy('gcp', `${registry.host}/kms/gcp/**`, `gcpkms://${GCP_KEY}`),
          policy('azure', `${registry.host}/kms/azure/**`, `azurekms://${world.azure.host}/signer`),
          policy('vault', `${registry.host}/kms/vault/**`, 'hashivault://signer'),
          policy('k8s', `${registry.host}/kms/k8s/**`, 'k8s://ci/cosign-keys'),
        ].join(''),
      ));
    });
    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
    });

    it.each([
      ['aws-signed', 'OK', 'AWS KMS GetPublicKey (EC P-256, by alias)'],
      ['awsp384-sha384', 'OK', 'AWS KMS ECC_NIST_P384: SHA-384, as its SigningAlgorithms say (by key ARN)'],
      ['gcp-old', 'OK', 'Cloud KMS: signed by an older, still enabled version'],
      ['gcp-pss', 'OK', 'Cloud KMS: RSA 4096 PSS, the current version'],
      ['azure-rsa', 'OK', 'Key Vault: RSA 2048 PKCS#1 v1.5'],
      ['vault-signed', 'OK', 'Vault transit (Kubernetes auth)'],
      ['k8s-signed', 'OK', 'k8s:// Secret cosign.pub'],
      ['gcp-disabled', 'SIGNATURE_INVALID', 'a signature by a disabled Cloud KMS version'],
      ['awsp384-sha256', 'SIGNATURE_INVALID', 'a P-384 signature over SHA-256, which the key does not make'],
      ['k8s-other', 'SIGNATURE_INVALID', 'a key other than the Secret’s'],
    ])('%s is judged %s (admitted only if OK): %s', async (name, code) => {
      const { allowed, finding } = await judge(server, refs[name]!);
      expect(finding).toMatchObject({ passed: code === 'OK', code });
      expect(allowed).toBe(code === 'OK');
    });

    it('invalid key material from the service is KEY_INVALID and denies even with onError: allow', async () => {
      const { allowed, finding } = await judge(server, refs['awsbad-signed']!);
      expect(finding).toMatchObject({ passed: false, code: 'KEY_INVALID' });
      expect(finding.message).toContain(`awskms:///${AWS_BAD}: unusable public key`);
      expect(finding.indeterminate).not.toBe(true);
      expect(allowed).toBe(false);
    });

    it('verifies locally: each service answered public-key reads only, once per key for all reviews', async () => {
      await judge(server, refs['gcp-old']!);
      await judge(server, refs['gcp-pss']!);
      const paths = world.gcp.requests.map((r) => r.url.split('?')[0]!);
      expect(paths.every((p) => /\/(cryptoKeyVersions|publicKey|token)$/.test(p))).toBe(true);
      expect(world.gcp.count(/\/cryptoKeyVersions$/)).toBe(1);
      expect(world.aws.requests.every((r) => r.headers['x-amz-target'] === 'TrentService.GetPublicKey')).toBe(
        true,
      );
    });
  });

  describe('a rotation', () => {
    it('a version created after the keys were cached verifies its first signature at once; unknown keys ask at most once a minute', async () => {
      await withGcpKeysCached(async (server, advance) => {
        const next = makeKeyPair('ec-p256');
        const versions = world.gcp.keys.get(GCP_KEY)!;
        versions.push({ pair: next, algorithm: 'EC_SIGN_P256_SHA256', state: 'ENABLED' });
        try {
          const rotated = await pushFreshImage(registry, 'kms/gcp/rotated');
          await cosignSign(c, rotated, next);
          advance(2 * 60_000);
          const { allowed, finding } = await judge(server, rotated);
          expect(finding).toMatchObject({ passed: true, code: 'OK' });
          expect(allowed).toBe(true);
          const before = world.gcp.count(/\/cryptoKeyVersions$/);
          for (let i = 0; i < 5; i++)
            expect((await judge(server, refs['gcp-disabled']!)).allowed).toBe(false);
          expect(world.gcp.count(/\/cryptoKeyVersions$/) - before).toBe(0);
          advance(2 * 60_000);
          await judge(server, refs['gcp-disabled']!);
          expect(world.gcp.count(/\/cryptoKeyVersions$/) - before).toBe(1);
        } finally {
          versions.pop();
        }
      });
    });
  });

  describe('a version disabled at the service', () => {
    it('stops admitting within the key refresh interval (1 h): a verdict made late in it is not kept past it', async () => {
      await withGcpKeysCached(async (server, advance) => {
        const version = world.gcp.keys.get(GCP_KEY)![0]!; // gcp-old's key
        try {
          advance(58 * 60_000);
          version.state = 'DISABLED';
          // inside the window: the keys fetched 58 min ago still hold version 1, its verdict is made now
          expect((await judge(server, refs['gcp-old']!)).allowed).toBe(true);
          // 61 min after the fetch (3 min after that verdict, within its 5 min TTL): the keys are
          // no longer fresh, so neither is the verdict; the service is asked again and says disabled
          advance(3 * 60_000);
          const { allowed, finding } = await judge(server, refs['gcp-old']!);
          expect(finding).toMatchObject({ passed: false, code: 'SIGNATURE_INVALID' });
          expect(allowed).toBe(false);
        } finally {
          version.state = 'ENABLED';
        }
      });
    });
  });

  describe('with serve --kms-key-refresh=10m', () => {
    it('a version disabled at the service stops admitting within 10 min: a verdict made at 8 min is not kept past 10', async () => {
      const cmd = parseCommand(['serve', '--kms-key-refresh=10m']);
      if (cmd.command !== 'serve') throw new Error('not serve');
      await withGcpKeysCached(async (server, advance) => {
        const version = world.gcp.keys.get(GCP_KEY)![0]!; // gcp-old's key
        const asked = world.gcp.count(/\/cryptoKeyVersions$/);
        try {
          advance(8 * 60_000);
          version.state = 'DISABLED';
          // the keys fetched 8 min ago are fresh for 10: version 1 still verifies, without asking
          expect((await judge(server, refs['gcp-old']!)).allowed).toBe(true);
          expect(world.gcp.count(/\/cryptoKeyVersions$/)).toBe(asked);
          // 11 min after the fetch, 3 min after that verdict (within its 5 min TTL): the keys are
          // due again, so the verdict is gone; the service is asked and says disabled
          advance(3 * 60_000);
          const { allowed, finding } = await judge(server, refs['gcp-old']!);
          expect(finding).toMatchObject({ passed: false, code: 'SIGNATURE_INVALID' });
          expect(allowed).toBe(false);
          expect(world.gcp.count(/\/cryptoKeyVersions$/)).toBe(asked + 1);
        } finally {
          version.state = 'ENABLED';
        }
      }, cmd.caches);
    });
  });

  describe('imagegate check', () => {
    it('reads the key service from its own environment (VAULT_ADDR, VAULT_TOKEN): exit 0, then 1 naming KMS_UNAVAILABLE when Vault is down', async () => {
      const file = await writePolicyFile(
        policy('vault', `${registry.host}/kms/vault/**`, 'hashivault://signer'),
      );
      const args = ['check', '--policy', file, '--insecure-registry', registry.host, refs['vault-signed']!];
      const env = { VAULT_ADDR: world.vault.url, VAULT_TOKEN: world.vault.rootToken };
      const ok = await imagegate(args, undefined, env);
      expect(ok.code).toBe(0);
      world.vault.down = true;
      try {
        const down = await imagegate(args, undefined, env);
        expect(down.code).toBe(1);
        expect(down.stdout + down.stderr).toMatch(/hashivault:\/\/signer.*HTTP 503/);
        expect(down.stdout + down.stderr).toContain('KMS_UNAVAILABLE');
      } finally {
        world.vault.down = false;
      }
    });
  });

  describe('an outage', () => {
    it('after a good fetch, the last good keys keep admitting past the hourly refresh', async () => {
      await withGcpKeysCached(async (server, advance) => {
        world.gcp.down = true;
        try {
          advance(2 * 3_600_000);
          const before = world.gcp.requests.length;
          const { allowed, finding } = await judge(server, refs['gcp-pss']!);
          expect(world.gcp.requests.length).toBeGreaterThan(before);
          expect(finding.code).toBe('OK');
          expect(allowed).toBe(true);
        } finally {
          world.gcp.down = false;
        }
      });
    });

    it.each([
      ['deny', false],
      ['allow', true],
    ])(
      'cold (never fetched): KMS_UNAVAILABLE, indeterminate, onError %s decides',
      async (onError, admitted) => {
        const vault = policy('vault', `${registry.host}/kms/vault/**`, 'hashivault://signer', onError);
        await serving(vault, undefined, async (server) => {
          world.vault.down = true;
          try {
            const { allowed, finding } = await judge(server, refs['vault-signed']!);
            expect(finding).toMatchObject({ code: 'KMS_UNAVAILABLE', indeterminate: true });
            expect(finding.message).toContain('hashivault://signer');
            expect(allowed).toBe(admitted);
          } finally {
            world.vault.down = false;
          }
        });
      },
    );
  });
});
