/**
 * The registry world of the attestation integration tests (issue 15): a real registry seeded with
 * attestations in both storage formats (legacy `.att` DSSE layers and Sigstore bundle referrers),
 * signed with keys and with a private Sigstore whose Fulcio certificates carry GitHub claims, plus
 * third-party material (cosign's OCI attestation bundle, a sigstore-conformance SLSA v1 bundle), and
 * the product path over it (setupEngine → policy load and compile → evaluateImages). Trusted roots
 * come from files: nothing leaves loopback.
 */
import { readFileSync } from 'node:fs';
import { vi } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import type { CheckOutcome } from '../../src/evaluate/evaluate.js';
import { evaluateImages } from '../../src/evaluate/evaluate.js';
import { attestationPolicies, GITHUB_CLAIMS, SPDX, VULN } from './attestation-policies.js';
import { useSuiteValue } from './suite-value.js';
import { pushBundleFor, pushCosignOciAttestation, pushLegacySignatures } from './cosign-push.js';
import { buildEngine, writePolicyFile } from './engine.js';
import { fixturePath } from './fixtures.js';
import { buildImage, buildIndex, pushIndex } from './image-builder.js';
import { sha256 } from './memory-registry.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { RegistrySeeder } from './registry-seeder.js';
import { tempDir } from './signature-setup.js';
import { pushSignedImage } from './signed-images.js';
import {
  ACME,
  createTestInstance,
  keyPair,
  signBundleWithKey,
  signLegacyAttestationWithKey,
  type Identity,
  type TestInstance,
} from './test-sigstore.js';

const DAY = 86_400_000;
const CI: Identity = { ...ACME, claims: GITHUB_CLAIMS };
const FORK: Identity = {
  ...ACME,
  claims: { ...GITHUB_CLAIMS, sourceRepositoryURI: 'https://github.com/evil/app' },
};
const spdx = (packages: { name: string; versionInfo: string }[]): unknown => ({
  ...(JSON.parse(
    readFileSync(fixturePath('sigstore-bundles', 'predicates', 'cosign-bom-go-mod.spdx.json'), 'utf8'),
  ) as object),
  packages: packages.map((p, i) => ({ SPDXID: `SPDXRef-Package-${i}`, ...p })),
});
const vulnPredicate = (): Record<string, unknown> =>
  JSON.parse(
    readFileSync(fixturePath('sigstore-bundles', 'predicates', 'cosign-vuln-predicate.json'), 'utf8'),
  ) as Record<string, unknown>;

export interface AttestationWorld {
  setup: Setup;
  /** Repository → `host/repo@digest`. */
  images: Record<string, string>;
  /** The findings of the one policy matching the repository's image. */
  evaluate(repo: string): Promise<readonly CheckOutcome[]>;
  finding(repo: string, check?: 'attestations' | 'signature'): Promise<CheckOutcome>;
  stop(): Promise<void>;
}

export async function startAttestationWorld(): Promise<AttestationWorld> {
  const reg: TestRegistry = await startRegistry();
  const seeder = new RegistrySeeder(reg);
  const corp: TestInstance = await createTestInstance(tempDir());
  let old: TestInstance;
  const key = keyPair('ec-p256');
  const otherKey = keyPair('ec-p256');
  const images: Record<string, string> = {};

  async function image(repo: string): Promise<string> {
    const digest = await pushSignedImage(seeder, reg.host, repo, undefined);
    images[repo] = `${reg.host}/${repo}@${digest}`;
    return digest;
  }
  const referrer = (repo: string, digest: string, bundle: object) =>
    pushBundleFor(seeder, repo, digest, bundle);

  // A Sigstore instance living 30 days ago: @sigstore/mock dates its root certificate with
  // new Date(), so Date is faked while it is created; its CA and Rekor use the clock.
  const past = new Date(Date.now() - 30 * DAY);
  vi.useFakeTimers({ now: past, toFake: ['Date'] });
  try {
    old = await createTestInstance(tempDir(), past);
  } finally {
    vi.useRealTimers();
  }

  // SBOMs as keyless bundle referrers, signed by the release workflow (with its GitHub claims).
  // An image with one bundle referrer, which `sign` makes for its digest.
  const bundled = async (repo: string, sign: (digest: string) => object | Promise<object>): Promise<void> => {
    const digest = await image(repo);
    await referrer(repo, digest, await sign(digest));
  };
  const sbom = (signer: typeof corp, identity: typeof CI, predicate: unknown) => (digest: string) =>
    signer.signBundle({ digest, identity, predicateType: SPDX, predicate });
  const clean = spdx([{ name: 'zlib', versionInfo: '1.3.1' }]);
  const log4j = spdx([
    { name: 'zlib', versionInfo: '1.3.1' },
    { name: 'log4j-core', versionInfo: '2.14.1' },
  ]);
  const many = spdx(Array.from({ length: 3000 }, (_, i) => ({ name: `pkg-${i}`, versionInfo: '1.0' })));
  await bundled('sbom/clean', sbom(corp, CI, clean));
  await bundled('sbom/log4j', sbom(corp, CI, log4j));
  await image('sbom/none');
  let d = await image('sbom/legacy');
  await pushLegacySignatures(
    seeder,
    'sbom/legacy',
    d,
    [await corp.signLegacyAttestation({ digest: d, identity: CI, predicateType: SPDX, predicate: clean })],
    'att',
  );
  await bundled('sbom/fork', sbom(corp, FORK, clean));
  await bundled('sbom/other-subject', (digest) =>
    corp.signBundle({
      digest,
      identity: CI,
      predicateType: SPDX,
      predicate: clean,
      subjectDigest: sha256(Buffer.from('another image')),
    }),
  );
  await bundled('stale/sbom', sbom(old, CI, clean));
  await bundled('costly/sbom', sbom(corp, CI, many));
  await bundled('sbom/huge', (digest) =>
    signBundleWithKey(key.sign, {
      digest,
      predicateType: SPDX,
      predicate: { padding: 'x'.repeat(17 * 1024 * 1024) },
    }),
  );

  // Vulnerability scans as legacy `.att` layers signed with a key (no log entry).
  const scan = (finishedOn: string, critical: number) => ({
    ...vulnPredicate(),
    scanner: {
      uri: 'https://github.com/aquasecurity/trivy',
      version: '0.58.0',
      result: { summary: { CRITICAL: critical } },
    },
    metadata: { scanStartedOn: finishedOn, scanFinishedOn: finishedOn },
  });
  // Each image is signed by `signer`, with a scan that finished at `finishedOn`.
  const legacyScan = async (repo: string, signer: typeof key, finishedOn: Date): Promise<void> => {
    const digest = await image(repo);
    const attestation = signLegacyAttestationWithKey(signer.sign, {
      digest,
      predicateType: VULN,
      predicate: scan(finishedOn.toISOString(), 0),
    });
    await pushLegacySignatures(seeder, repo, digest, [attestation], 'att');
  };
  await legacyScan('vuln/fresh', key, new Date());
  await legacyScan('vuln/old-scan', key, new Date(Date.now() - 10 * DAY));
  await legacyScan('vuln/other-key', otherKey, new Date());
  // maxAge on a key attestation without a log entry: no verified time.
  await legacyScan('vuln-dated/undated', key, new Date());

  // Third-party material: cosign's OCI attestation (public-good, 2025) and a conformance SLSA v1 bundle.
  for (const repo of ['cosign/fresh', 'cosign/stale', 'cosign/false']) {
    images[repo] = `${reg.host}/${repo}@${await pushCosignOciAttestation(seeder, repo)}`;
  }
  const conformance = ['sigstore-conformance', 'happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json'];
  await bundled(
    'slsa/conformance',
    () => JSON.parse(readFileSync(fixturePath('sigstore-bundles', ...conformance), 'utf8')) as object,
  );

  // Audit mode, and multi-arch images: on the index, on every platform, on one platform only.
  await bundled('audit/log4j', sbom(corp, CI, log4j));
  const multi = async (repo: string, attest: 'index' | 'platforms' | 'amd64') => {
    const idx = buildIndex(
      ['linux/amd64', 'linux/arm64'].map((platform) =>
        buildImage({
          platform,
          steps: [{ createdBy: `COPY ${repo} ${platform}`, files: { name: `${repo} ${platform}` } }],
        }),
      ),
    );
    await pushIndex(reg.url, repo, 'v1', idx);
    images[repo] = `${reg.host}/${repo}@${idx.index.digest}`;
    const targets =
      attest === 'index'
        ? [idx.index.digest]
        : idx.images
            .filter((i) => attest === 'platforms' || i.platform === 'linux/amd64')
            .map((i) => i.manifest.digest);
    for (const t of targets) {
      await referrer(
        repo,
        t,
        await corp.signBundle({ digest: t, identity: CI, predicateType: SPDX, predicate: clean }),
      );
    }
    return idx;
  };
  await multi('multi/on-index', 'index');
  await multi('multi/per-platform', 'platforms');
  await multi('multi/one-platform', 'amd64');

  // Image signatures with maxAge and claims.
  d = await image('signed/fresh');
  await pushLegacySignatures(seeder, 'signed/fresh', d, [await corp.signLegacy({ digest: d, identity: CI })]);
  d = await image('signed/no-claims');
  await pushLegacySignatures(seeder, 'signed/no-claims', d, [
    await corp.signLegacy({ digest: d, identity: ACME }),
  ]);
  d = await image('signed-old/app');
  await pushLegacySignatures(seeder, 'signed-old/app', d, [
    await old.signLegacy({ digest: d, identity: CI }),
  ]);
  d = await pushSignedImage(seeder, reg.host, 'signed-key/app', key);
  images['signed-key/app'] = `${reg.host}/signed-key/app@${d}`;

  const policyFile = await writePolicyFile(attestationPolicies(reg.host, key.publicPem));
  const setup: Setup = await buildEngine({
    policy: [policyFile],
    insecureRegistry: [reg.host],
    trustedRoot: [
      `corp=${corp.trustedRootPath}`,
      `old=${old.trustedRootPath}`,
      `fixture-pg=${fixturePath('trust-roots', 'root-signing', 'targets', 'trusted_root.json')}`,
    ],
  });
  async function evaluate(repo: string): Promise<readonly CheckOutcome[]> {
    const access = await setup.engine.registry!({ namespace: 'default' });
    const verdict = await evaluateImages([images[repo]!], setup.engine.policies(), setup.engine.settings, {
      namespace: 'default',
      signal: AbortSignal.timeout(60_000),
      registry: access,
    });
    const policies = verdict.images[0]!.policies;
    if (policies.length !== 1) throw new Error(`${repo}: ${policies.length} policies matched`);
    return policies[0]!.findings;
  }
  async function finding(repo: string, check: 'attestations' | 'signature' = 'attestations') {
    const f = (await evaluate(repo)).find((x) => x.check === check);
    if (f === undefined) throw new Error(`${repo}: no ${check} finding`);
    return f;
  }

  return {
    setup,
    images,
    evaluate,
    finding,
    stop: async () => {
      await setup.registry.close();
      await reg.stop();
    },
  };
}

/** The attestation world for the enclosing `describe` (suite-value.ts); it takes a while to seed. */
export function useAttestationWorld(): AttestationWorld {
  return useSuiteValue(startAttestationWorld, (world) => world.stop(), 120_000);
}
