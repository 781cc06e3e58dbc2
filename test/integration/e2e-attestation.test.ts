/**
 * Issue 15 end to end: `imagegate check` (a real process) and `POST /validate` (setupEngine + the
 * real HTTPS server) give the same answers for attestation policies over images in the real
 * registry, and a CEL syntax error in a policy file stops the CLI at load with exit 2, naming the
 * file, the field and the position.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { attestationPolicies, GITHUB_CLAIMS, SPDX, VULN } from '../helpers/attestation-policies.js';
import { imagegateCheck, type Run } from '../helpers/cli.js';
import { pushBundleFor, pushLegacySignatures } from '../helpers/cosign-push.js';
import { writePolicyFile } from '../helpers/engine.js';
import { useRegistry } from '../helpers/use-registry.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { useServedEngine } from '../helpers/served-engine.js';
import { tempDir } from '../helpers/signature-setup.js';
import { pushSignedImage } from '../helpers/signed-images.js';
import {
  ACME,
  createTestInstance,
  keyPair,
  signLegacyAttestationWithKey,
  type TestInstance,
} from '../helpers/test-sigstore.js';

describe('imagegate end to end: attestation policies', () => {
  const reg = useRegistry();
  let instance: TestInstance;
  let policyFile: string;
  const key = keyPair('ec-p256');
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    const seeder = new RegistrySeeder(reg);
    instance = await createTestInstance(tempDir());
    const push = async (repo: string): Promise<string> => {
      const d = await pushSignedImage(seeder, reg.host, repo, undefined);
      refs[repo] = `${reg.host}/${repo}:v1`;
      return d;
    };
    const sbom = (packages: { name: string; versionInfo: string }[]) => ({
      spdxVersion: 'SPDX-2.3',
      packages,
    });
    for (const [repo, packages] of [
      ['sbom/clean', [{ name: 'zlib', versionInfo: '1.3.1' }]],
      ['sbom/log4j', [{ name: 'log4j-core', versionInfo: '2.14.1' }]],
    ] as const) {
      const d = await push(repo);
      const bundle = await instance.signBundle({
        digest: d,
        identity: { ...ACME, claims: GITHUB_CLAIMS },
        predicateType: SPDX,
        predicate: sbom([...packages]),
      });
      await pushBundleFor(seeder, repo, d, bundle);
    }
    await push('sbom/none');
    const d = await push('vuln/fresh');
    const scan = {
      scanner: { uri: 'https://github.com/aquasecurity/trivy', result: { summary: { CRITICAL: 0 } } },
      metadata: { scanFinishedOn: new Date().toISOString() },
    };
    await pushLegacySignatures(
      seeder,
      'vuln/fresh',
      d,
      [signLegacyAttestationWithKey(key.sign, { digest: d, predicateType: VULN, predicate: scan })],
      'att',
    );
    policyFile = await writePolicyFile(attestationPolicies(reg.host, key.publicPem));
  });

  // Only the corp instance signs here; the other roots the shared policies name point at it too.
  const trustedRoots = (): string[] =>
    ['corp', 'old', 'fixture-pg'].map((name) => `${name}=${instance.trustedRootPath}`);
  /** `imagegate check` of `images` against `policy`, on this registry and these roots. */
  const check = (policy: string, ...images: string[]): Promise<Run> =>
    imagegateCheck(
      policy,
      '--insecure-registry',
      reg.host,
      ...trustedRoots().flatMap((r) => ['--trusted-root', r]),
      ...images,
    );
  const EXPECTED_LOG4J =
    'attestation sbom: condition false: !predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14")) (values read last: predicate.packages[0].name="log4j-core", predicate.packages[0].versionInfo="2.14.1")';

  describe('imagegate check', () => {
    it('admits images whose attestations verify and hold, and exits 0', async () => {
      const run = await check(policyFile, refs['sbom/clean']!, refs['vuln/fresh']!);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout.match(/ok {3}attestations: attestation (sbom|vuln): /g)).toHaveLength(2);
      expect(run.stdout).toContain('result: allowed');
    });

    it('denies a false condition and a missing SBOM, saying why, and exits 1', async () => {
      const run = await check(policyFile, refs['sbom/log4j']!, refs['sbom/none']!);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toContain(`FAIL attestations: ${EXPECTED_LOG4J} [CONDITION_FALSE]`);
      expect(run.stdout).toMatch(
        /FAIL attestations: attestation sbom: no attestation is stored for sha256:[0-9a-f]{64} \[ATTESTATION_MISSING\]/,
      );
    });

    it('stops at load with exit 2 when a condition does not parse, naming file, field and position', async () => {
      const broken = await writePolicyFile(
        [
          'apiVersion: imagegate.dev/v1alpha1',
          'kind: ImagePolicy',
          'metadata:',
          '  name: sbom',
          'spec:',
          '  images:',
          "    - glob: '**'",
          '  attestations:',
          '    - name: sbom',
          `      predicateType: ${SPDX}`,
          '      authorities:',
          '        - keyless: { issuer: https://token.actions.githubusercontent.com, subjectRegExp: ".*" }',
          "      condition: 'predicate.packages.exists(p, p.name == )'",
          '',
        ].join('\n'),
      );
      const run = await check(broken, refs['sbom/clean']!);
      expect(run.code, run.stdout).toBe(2);
      expect(run.stderr).toContain(
        `${broken} (ImagePolicy "sbom"): invalid policy: spec.attestations[0].condition: CEL syntax error at line 1, column 40: Unexpected token: RPAREN`,
      );
    });
  });

  describe('POST /validate', () => {
    const served = useServedEngine(() => ({
      policy: [policyFile],
      insecureRegistry: [reg.host],
      trustedRoot: trustedRoots(),
    }));

    it('admits the same images', async () => {
      const res = await served.server.post(
        '/validate?timeout=20s',
        podReview([refs['sbom/clean']!, refs['vuln/fresh']!]),
      );
      const response = (res.json as { response: { allowed: boolean } }).response;
      expect(response.allowed).toBe(true);
      const findings = served.server.audit.at(-1)!.images.flatMap((i) => i.policies.flatMap((p) => p.checks));
      expect(findings.filter((f) => f.check === 'attestations').map((f) => f.code)).toEqual(['OK', 'OK']);
      const sbom = findings.find(
        (f) => f.check === 'attestations' && f.message.startsWith('attestation sbom'),
      );
      expect(sbom?.details?.attestations).toMatchObject([
        {
          name: 'sbom',
          predicateType: SPDX,
          passed: true,
          code: 'OK',
          satisfiedBy: [{ authority: 'release', format: 'sigstore-bundle', signedAt: expect.any(String) }],
        },
      ]);
    });

    it('denies with the same message as the CLI', async () => {
      const res = await served.server.post('/validate?timeout=20s', podReview([refs['sbom/log4j']!]));
      const response = (res.json as { response: { allowed: boolean; status: { message: string } } }).response;
      expect(response.allowed).toBe(false);
      expect(response.status.message).toContain(
        `(policy sbom): attestations CONDITION_FALSE: ${EXPECTED_LOG4J}`,
      );
    });
  });
});
