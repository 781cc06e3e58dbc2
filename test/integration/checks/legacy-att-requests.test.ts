/**
 * Legacy `.att` tags are read only when a check asks for attestations: counted at a proxy in front of
 * the real registry. A signature-only policy makes no `.att` request; a base policy reads it once per
 * image, proves the base from the signed provenance in it, and answers the next review from the cache.
 */
import { describe, expect, it } from 'vitest';
import type { Setup } from '../../../src/cli/setup.js';
import { evaluateImages, type Verdict } from '../../../src/evaluate/evaluate.js';
import { pushLegacySignatures } from '../../helpers/cosign-push.js';
import { buildEngine, writePolicyFile } from '../../helpers/engine.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { useRegistry } from '../../helpers/use-registry.js';
import { RegistrySeeder } from '../../helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../../helpers/signed-images.js';
import { useSuiteValue } from '../../helpers/suite-value.js';
import { signLegacyAttestationWithKey } from '../../helpers/test-sigstore.js';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const ATT = /^GET \/v2\/.+\/manifests\/sha256-[0-9a-f]{64}\.att$/;
const SIG = /^GET \/v2\/.+\/manifests\/sha256-[0-9a-f]{64}\.sig$/;

describe('legacy .att lookups through a real registry', () => {
  const registry = useRegistry();
  const proxy = useSuiteValue(
    () => startFaultProxy(registry.url),
    (p) => p.stop(),
  );
  const key = signingKey();
  const base = useSuiteValue(
    async () => {
      const seeder = new RegistrySeeder(registry);
      return { seeder, digest: await pushSignedImage(seeder, proxy.host, 'base/node', undefined, 'latest') };
    },
    async () => undefined,
  );

  /** An app image (key-signed unless told otherwise) with a key-signed SLSA v1 `.att` naming base/node as a dependency. */
  async function attestedApp(signed = true): Promise<string> {
    const digest = await pushSignedImage(base.seeder, proxy.host, 'made/app', signed ? key : undefined);
    const predicate = {
      buildDefinition: {
        resolvedDependencies: [
          { uri: `pkg:docker/${proxy.host}/base/node@latest`, digest: { sha256: base.digest.slice(7) } },
        ],
      },
    };
    await pushLegacySignatures(
      base.seeder,
      'made/app',
      digest,
      [signLegacyAttestationWithKey(key.sign, { digest, predicateType: SLSA_V1, predicate })],
      'att',
    );
    return digest;
  }

  /** A base section beside the key signature section keyPolicyYaml writes. */
  function basePolicyYaml(): string {
    return (
      keyPolicyYaml(key, { name: 'made' }) +
      `  base:\n    proof: claim\n    allowed:\n      - image: '${proxy.host}/base/**'\n`
    );
  }

  async function engine(yaml: string): Promise<Setup> {
    return buildEngine({ policy: [await writePolicyFile(yaml)], insecureRegistry: [proxy.host] });
  }

  async function review(setup: Setup, image: string): Promise<Verdict> {
    const access = await setup.engine.registry!({ namespace: 'default' });
    return evaluateImages([image], setup.engine.policies(), setup.engine.settings, {
      namespace: 'default',
      signal: AbortSignal.timeout(30_000),
      registry: access,
    });
  }

  describe('when the policy has only a signature section', () => {
    it('makes no .att request', async () => {
      const digest = await attestedApp();
      const setup = await engine(keyPolicyYaml(key));
      proxy.clear();
      const v = await review(setup, `${proxy.host}/made/app@${digest}`);
      expect(v.allowed, JSON.stringify(v.denials)).toBe(true);
      expect(proxy.count(SIG)).toBe(1);
      expect(proxy.count(ATT)).toBe(0);
      await setup.registry.close();
    });
  });

  describe('when the policy also has a base section', () => {
    it('reads the .att tag once and proves the base from the signed provenance in it', async () => {
      const digest = await attestedApp();
      const setup = await engine(basePolicyYaml());
      proxy.clear();
      const v = await review(setup, `${proxy.host}/made/app@${digest}`);
      const findings = v.images[0]!.policies[0]!.findings;
      const base = findings.find((f) => f.check === 'base');
      expect(base?.code, base?.message).toBe('OK');
      expect(base?.message).toContain('SLSA provenance (provenance/v1) signed by "release"');
      expect(v.allowed).toBe(true);
      expect(proxy.count(ATT)).toBe(1);
      expect(proxy.count(SIG)).toBe(1);
      expect(setup.verdicts.size).toBe(2); // the verdict and, under its own key, the `.att` lookup

      // The next review of the same image is answered from the verdict cache: no tag read again.
      proxy.clear();
      const again = await review(setup, `${proxy.host}/made/app@${digest}`);
      expect(again.allowed).toBe(true);
      expect([proxy.count(ATT), proxy.count(SIG)]).toEqual([0, 0]);
      await setup.registry.close();
    });

    it('reads the .att tag while the signature fails, and keeps nothing from a failing verdict', async () => {
      const digest = await attestedApp(false);
      const setup = await engine(basePolicyYaml());
      proxy.clear();
      const v = await review(setup, `${proxy.host}/made/app@${digest}`);
      const findings = v.images[0]!.policies[0]!.findings;
      expect(findings.find((f) => f.check === 'signature')?.code).toBe('NO_SIGNATURES');
      // The provenance is read also when the signature check failed (facts.attestations).
      expect(findings.find((f) => f.check === 'base')?.code).toBe('OK');
      expect(v.allowed).toBe(false);
      expect([proxy.count(SIG), proxy.count(ATT)]).toEqual([1, 1]);
      expect(setup.verdicts.size).toBe(0);
      await setup.registry.close();
    });
  });
});
