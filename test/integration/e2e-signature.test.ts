/**
 * End to end, issue 4: `imagegate check` and `POST /validate` (engine from setupEngine) verify images
 * the tests signed and pushed to a real registry, in both storage formats (legacy `.sig` tag and
 * Sigstore bundle referrer), with a key authority and a keyless authority from a private Sigstore
 * instance loaded with `--trusted-root corp=FILE`. Nothing here contacts the public-good TUF service.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COSIGN_SIGN_PREDICATE } from '../../src/checks/signature/signed-payload.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { imagegateCheck } from '../helpers/cli.js';
import { pushBundleFor, pushLegacySignatures } from '../helpers/cosign-push.js';
import { writePolicyFile } from '../helpers/engine.js';
import { buildImage, pushImage } from '../helpers/image-builder.js';
import { useRegistry } from '../helpers/use-registry.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { useServedEngine } from '../helpers/served-engine.js';
import { tempDir } from '../helpers/signature-setup.js';
import {
  ACME,
  createTestInstance,
  EVIL,
  keyPair,
  signBundleWithKey,
  type TestInstance,
  keySignedLayer,
  simpleSigningPayload,
} from '../helpers/test-sigstore.js';
import { policyYaml } from '../helpers/policy-documents.js';

function policies(host: string, keyPem: string): string {
  const keyAuthority = { name: 'release-key', key: { pem: keyPem } };
  const keylessAuthority = { name: 'ci', keyless: { ...ACME, trustedRoot: 'corp' } };
  const policy = (name: string, repos: string, authorities: object[]): string => {
    const images = [{ glob: `${host}/${repos}/**` }];
    return `---\n${policyYaml(name, { mode: 'enforce', images, onError: 'deny', signature: { authorities } })}`;
  };
  return (
    policy('key-signed', 'key', [keyAuthority]) +
    policy('keyless-signed', 'keyless', [keylessAuthority]) +
    policy('either', 'either', [keyAuthority, keylessAuthority])
  );
}

describe('imagegate end to end: signatures through the real registry', () => {
  const reg = useRegistry();
  let seeder: RegistrySeeder;
  let instance: TestInstance;
  let policyFile: string;
  const key = keyPair('ec-p256');
  const digests: Record<string, string> = {};

  /** Pushes a distinct tiny image as `repo:1` and returns its digest. */
  async function pushApp(repo: string): Promise<string> {
    const img = buildImage({ steps: [{ createdBy: `COPY ${repo} /`, files: { name: repo } }] });
    await pushImage(reg.url, repo, '1', img);
    digests[repo] = img.manifest.digest;
    return img.manifest.digest;
  }

  /** A legacy `.sig` layer signed with the key, as `cosign sign --key` stores it. */
  function keyLegacy(digest: string) {
    return keySignedLayer(key.sign, simpleSigningPayload('registry.imagegate.test/app', digest));
  }

  async function referrer(repo: string, digest: string, bundle: object): Promise<void> {
    await pushBundleFor(seeder, repo, digest, bundle);
  }

  beforeAll(async () => {
    seeder = new RegistrySeeder(reg);
    const dir = tempDir();
    instance = await createTestInstance(dir);
    await writeFile(join(dir, 'key.pem'), key.publicPem);
    policyFile = await writePolicyFile(policies(reg.host, key.publicPem));

    let d = await pushApp('key/legacy');
    await pushLegacySignatures(seeder, 'key/legacy', d, [keyLegacy(d)]);
    d = await pushApp('key/bundle');
    await referrer(
      'key/bundle',
      d,
      signBundleWithKey(key.sign, { digest: d, predicateType: COSIGN_SIGN_PREDICATE }),
    );
    d = await pushApp('keyless/legacy');
    await pushLegacySignatures(seeder, 'keyless/legacy', d, [
      await instance.signLegacy({ digest: d, identity: ACME }),
    ]);
    d = await pushApp('keyless/bundle');
    await referrer(
      'keyless/bundle',
      d,
      await instance.signBundle({ digest: d, identity: ACME, predicateType: COSIGN_SIGN_PREDICATE }),
    );
    d = await pushApp('either/evil');
    await pushLegacySignatures(seeder, 'either/evil', d, [
      await instance.signLegacy({ digest: d, identity: EVIL }),
    ]);
    await pushApp('keyless/unsigned');
  });

  describe('imagegate check', () => {
    /** `imagegate check` with this file's policies, registry and trusted root, then `args`. */
    const check = (args: string[]) =>
      imagegateCheck(
        policyFile,
        '--insecure-registry',
        reg.host,
        '--trusted-root',
        `corp=${instance.trustedRootPath}`,
        ...args,
      );

    it('verifies key and keyless signatures in both formats, offline, and exits 0', async () => {
      const run = await check([
        '--log-level',
        'debug',
        `${reg.host}/key/legacy:1`,
        `${reg.host}/key/bundle:1`,
        `${reg.host}/keyless/legacy:1`,
        `${reg.host}/keyless/bundle:1`,
      ]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      for (const repo of ['key/legacy', 'key/bundle', 'keyless/legacy', 'keyless/bundle']) {
        expect(run.stdout).toContain(`✓ ${reg.host}/${repo}:1@${digests[repo]}`);
      }
      expect(run.stdout.match(/ok {3}signature: /g)).toHaveLength(4);
      expect(run.stdout).toContain('result: allowed');
      // Key and custom-root keyless policies never need public-good: TUF stays untouched.
      expect(run.stderr).toContain('trusted root public-good unavailable: offline mode');
    });

    it('denies another identity and an unsigned image, saying which authorities were tried, and exits 1', async () => {
      const run = await check([`${reg.host}/either/evil:1`, `${reg.host}/keyless/unsigned:1`]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toContain('no signature from authority "release-key" verified: found 1 signature');
      expect(run.stdout).toContain(
        `no signature from authority "ci" verified: found 1 signature; 1 by subject ${EVIL.subject} (wanted ${ACME.subject})`,
      );
      expect(run.stdout).toContain('[NO_SIGNATURES]');
      expect(run.stdout.trimEnd().endsWith('result: denied (2 reasons)')).toBe(true);
    });
  });

  describe('POST /validate', () => {
    const served = useServedEngine(() => ({
      policy: [policyFile],
      insecureRegistry: [reg.host],
      trustedRoot: [`corp=${instance.trustedRootPath}`],
    }));

    it('admits a pod whose images are signed in both formats by both authorities', async () => {
      const res = await served.server.post(
        '/validate?timeout=10s',
        podReview(
          ['key/legacy', 'key/bundle', 'keyless/legacy', 'keyless/bundle'].map((r) => `${reg.host}/${r}:1`),
        ),
      );
      const response = (res.json as { response: { allowed: boolean; status?: unknown } }).response;
      expect(response.status).toBeUndefined();
      expect(response.allowed).toBe(true);
      expect(served.server.audit.at(-1)?.images.map((i) => i.digest)).toEqual(
        ['key/legacy', 'key/bundle', 'keyless/legacy', 'keyless/bundle'].map((r) => digests[r]),
      );
    });

    it('denies with the signature denial message: each authority tried and why it failed', async () => {
      const res = await served.server.post('/validate?timeout=10s', podReview([`${reg.host}/either/evil:1`]));
      const response = (
        res.json as { response: { allowed: boolean; status: { code: number; message: string } } }
      ).response;
      expect(response.allowed).toBe(false);
      expect(response.status.code).toBe(403);
      expect(response.status.message).toContain(`${reg.host}/either/evil:1`);
      expect(response.status.message).toMatch(/\(policy either\): signature [A-Z_]+: /);
      expect(response.status.message).toContain('no signature from authority "release-key" verified');
      expect(response.status.message).toContain(
        `no signature from authority "ci" verified: found 1 signature; 1 by subject ${EVIL.subject} (wanted ${ACME.subject})`,
      );
    });
  });
});
