/**
 * The base-check rig shared by test/integration/checks/base/*.test.ts: a real registry (Debian
 * docker-registry on loopback), two private Sigstore instances (`corp`, and `old` living 90 days ago)
 * loaded as trusted roots, and `decide`, which runs a policy over one image like the webhook does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { evaluateImages, type CheckOutcome, type Verdict } from '../../src/evaluate/evaluate.js';
import { pushLegacySignatures } from './cosign-push.js';
import { buildEngine } from './engine.js';
import { buildImage, pushImage, pushManifest, sha256, type BuiltImage, type Step } from './image-builder.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { RegistrySeeder } from './registry-seeder.js';
import { createTestInstance, type Identity, type TestInstance } from './test-sigstore.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
export const CHAINGUARD: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main',
};
export const EVIL: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/evil/images/.github/workflows/release.yaml@refs/heads/main',
};
export const APP: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main',
};
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
export const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
export const DAY = 86_400_000;

export const BASE_STEP: Step = {
  createdBy: 'apko',
  files: { 'etc/os-release': 'ID=wolfi-test\n', 'usr/lib/libc.so.6': 'libc for tests' },
};
export const APP_STEP: Step = { createdBy: 'COPY app /app', files: { 'app/server.js': 'console.log(1)\n' } };

export function keyless(identity: Identity, trustedRoot = 'corp', name = 'release') {
  return { name, keyless: { ...identity, trustedRoot } };
}

export function policyDoc(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: { mode: 'enforce', ...spec },
  });
}

export type IndexJson = { manifests: Array<Record<string, unknown>>; annotations?: Record<string, string> };

export interface BaseRig {
  registry: TestRegistry;
  seeder: RegistrySeeder;
  corp: TestInstance;
  old: TestInstance;
  host: string;
}

/**
 * Starts the rig before the calling file's tests and stops it after. The state is there once the
 * file's first beforeAll ran: read it with `rig.current()` in a beforeAll registered after this call.
 */
export function useBaseRig() {
  let state: (BaseRig & { roots: string[] }) | undefined;
  const current = (): BaseRig & { roots: string[] } => {
    if (state === undefined)
      throw new Error('the base rig is not started yet (use it inside hooks and tests)');
    return state;
  };

  beforeAll(async () => {
    const registry = await startRegistry();
    const corp = await createTestInstance(await mkdtemp(join(tmpdir(), 'imagegate-base-corp-')));
    // A Sigstore instance living 90 days ago: @sigstore/mock dates its root certificate with
    // new Date(), so Date is faked while it is created; its CA and Rekor use the clock.
    const past = new Date(Date.now() - 90 * DAY);
    const dir = await mkdtemp(join(tmpdir(), 'imagegate-base-old-'));
    vi.useFakeTimers({ now: past, toFake: ['Date'] });
    let old: TestInstance;
    try {
      old = await createTestInstance(dir, past);
    } finally {
      vi.useRealTimers();
    }
    state = {
      registry,
      seeder: new RegistrySeeder(registry),
      corp,
      old,
      host: registry.host,
      roots: [`corp=${corp.trustedRootPath}`, `old=${old.trustedRootPath}`],
    };
  });
  afterAll(async () => {
    await state?.registry.stop();
  });

  async function signKeyless(repo: string, digest: string, identity: Identity, instance?: TestInstance) {
    const { seeder, corp } = current();
    await pushLegacySignatures(seeder, repo, digest, [
      await (instance ?? corp).signLegacy({ digest, identity }),
    ]);
  }

  async function decide(
    policy: string,
    image: string,
    extra: { registryConfig?: string } = {},
  ): Promise<{ verdict: Verdict; base: CheckOutcome; findings: readonly CheckOutcome[] }> {
    const { host, roots } = current();
    const dir = await mkdtemp(join(tmpdir(), 'imagegate-base-policy-'));
    await writeFile(join(dir, 'policy.yaml'), policy);
    const setup = await buildEngine({
      policy: [join(dir, 'policy.yaml')],
      insecureRegistry: [host],
      trustedRoot: roots,
      ...extra,
    });
    const access = await setup.engine.registry!({ namespace: 'default' });
    const verdict = await evaluateImages([image], setup.engine.policies(), setup.engine.settings, {
      namespace: 'default',
      signal: AbortSignal.timeout(30_000),
      registry: access,
    });
    const findings = verdict.images[0]!.policies[0]!.findings;
    const base = findings.find((f) => f.check === 'base');
    if (base === undefined) throw new Error(`no base finding: ${JSON.stringify(findings)}`);
    return { verdict, base, findings };
  }

  async function getIndex(repo: string, tag: string): Promise<IndexJson> {
    const res = await fetch(`${current().registry.url}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    return (await res.json()) as IndexJson;
  }

  async function putIndex(repo: string, tag: string, index: IndexJson): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(index));
    const digest = sha256(bytes);
    await pushManifest(current().registry.url, repo, tag, {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest,
      size: bytes.byteLength,
      bytes,
    });
    return digest;
  }

  /** The base image the tests build (BASE_STEP), pushed as base/node:latest and signed keyless by CHAINGUARD. */
  async function pushSignedBase(): Promise<BuiltImage> {
    const base = buildImage({ steps: [BASE_STEP, { createdBy: 'ENV PATH=/usr/bin' }] });
    await pushImage(current().registry.url, 'base/node', 'latest', base);
    await signKeyless('base/node', base.manifest.digest, CHAINGUARD);
    return base;
  }

  return { current, signKeyless, decide, getIndex, putIndex, pushSignedBase };
}

/**
 * The `made/app` images the base suites build on the signed `base/node`: the policy governing them, an
 * `allowed` entry for the Chainguard-signed base, the claim annotations, and a builder that pushes.
 */
export function madeImages(rig: ReturnType<typeof useBaseRig>) {
  const allowed = (extra: Record<string, unknown> = {}) => ({
    image: `${rig.current().host}/base/**`,
    signature: { authorities: [keyless(CHAINGUARD)] },
    ...extra,
  });
  const policy = (baseSpec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    policyDoc('made', { images: [{ glob: `${rig.current().host}/made/**` }], base: baseSpec, ...extra });
  async function app(tag: string, steps: Step[], annotations?: Record<string, string>): Promise<BuiltImage> {
    const img = buildImage({ steps, ...(annotations !== undefined ? { annotations } : {}) });
    await pushImage(rig.current().registry.url, 'made/app', tag, img);
    return img;
  }
  const claim = (name: string, digest: string) => ({
    'org.opencontainers.image.base.name': name,
    'org.opencontainers.image.base.digest': digest,
  });
  return { allowed, policy, app, claim };
}
