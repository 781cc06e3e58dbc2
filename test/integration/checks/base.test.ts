/**
 * The base check against a real registry (Debian docker-registry on loopback) with real artifacts:
 * apko's base/top layouts, regclient's testrepo (base.name and base.digest disagree), and images
 * these tests build and sign with a private Sigstore instance (keyless, Rekor) or a plain key.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateImages, type CheckOutcome, type Verdict } from '../../../src/evaluate.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { buildEngine } from '../../helpers/engine.js';
import { startServer } from '../../helpers/server.js';
import { pushBundleReferrer, pushLegacySignatures } from '../../helpers/cosign-push.js';
import { HAVE_FIXTURES, fixturePath } from '../../helpers/fixtures.js';
import {
  buildImage,
  pushBlob,
  pushImage,
  pushLayout,
  pushManifest,
  sha256,
  type BuiltImage,
  type Step,
} from '../../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { RegistrySeeder } from '../../helpers/registry-seeder.js';
import {
  createTestInstance,
  keyPair,
  type Identity,
  type TestInstance,
} from '../../helpers/test-sigstore.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ISSUER = 'https://token.actions.githubusercontent.com';
export const CHAINGUARD: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main',
};
const EVIL: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/evil/images/.github/workflows/release.yaml@refs/heads/main',
};
const APP: Identity = {
  issuer: ISSUER,
  subject: 'https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main',
};
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const DAY = 86_400_000;

const BASE_STEP: Step = {
  createdBy: 'apko',
  files: { 'etc/os-release': 'ID=wolfi-test\n', 'usr/lib/libc.so.6': 'libc for tests' },
};
const APP_STEP: Step = { createdBy: 'COPY app /app', files: { 'app/server.js': 'console.log(1)\n' } };

function keyless(identity: Identity, trustedRoot = 'corp', name = 'release') {
  return { name, keyless: { ...identity, trustedRoot } };
}

function policyDoc(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: { mode: 'enforce', ...spec },
  });
}

describe('base check through a real registry', () => {
  let registry: TestRegistry;
  let seeder: RegistrySeeder;
  let corp: TestInstance;
  let old: TestInstance;
  let roots: string[];
  let host: string;

  beforeAll(async () => {
    registry = await startRegistry();
    host = registry.host;
    seeder = new RegistrySeeder(registry);
    corp = await createTestInstance(await mkdtemp(join(tmpdir(), 'imagegate-base-corp-')));
    // A Sigstore instance living 90 days ago: @sigstore/mock dates its root certificate with
    // new Date(), so Date is faked while it is created; its CA and Rekor use the clock.
    const past = new Date(Date.now() - 90 * DAY);
    const dir = await mkdtemp(join(tmpdir(), 'imagegate-base-old-'));
    vi.useFakeTimers({ now: past, toFake: ['Date'] });
    try {
      old = await createTestInstance(dir, past);
    } finally {
      vi.useRealTimers();
    }
    roots = [`corp=${corp.trustedRootPath}`, `old=${old.trustedRootPath}`];
  });
  afterAll(async () => {
    await registry?.stop();
  });

  async function signKeyless(repo: string, digest: string, identity: Identity, instance = corp) {
    await pushLegacySignatures(seeder, repo, digest, [await instance.signLegacy({ digest, identity })]);
  }

  async function decide(
    policy: string,
    image: string,
    extra: { registryConfig?: string } = {},
  ): Promise<{ verdict: Verdict; base: CheckOutcome; findings: CheckOutcome[] }> {
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

  type IndexJson = { manifests: Array<Record<string, unknown>>; annotations?: Record<string, string> };

  async function getIndex(repo: string, tag: string): Promise<IndexJson> {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    return (await res.json()) as IndexJson;
  }

  async function putIndex(repo: string, tag: string, index: IndexJson): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(index));
    const digest = sha256(bytes);
    await pushManifest(registry.url, repo, tag, {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest,
      size: bytes.byteLength,
      bytes,
    });
    return digest;
  }

  describe.skipIf(!HAVE_FIXTURES)('apko base_image and top_image (top built on base by apko)', () => {
    let baseDigest: string;
    let topIndex: { manifests: Array<Record<string, unknown>>; [k: string]: unknown };

    beforeAll(async () => {
      baseDigest = await pushLayout(
        registry.url,
        'chainguard/apko-base',
        fixturePath('oci-images', 'apko-base_image'),
        {
          as: 'latest',
        },
      );
      await signKeyless('chainguard/apko-base', baseDigest, CHAINGUARD);
      await pushLayout(registry.url, 'apps/apko-top', fixturePath('oci-images', 'apko-top_image'), {
        as: 'v1',
      });
      topIndex = JSON.parse(
        await readFile(fixturePath('oci-images', 'apko-top_image', 'index.json'), 'utf8'),
      );
    });

    const policy = (proof = 'layers') =>
      policyDoc('apko', {
        images: [{ glob: `${host}/apps/**` }],
        platforms: ['all'],
        base: {
          allowed: [
            {
              image: `${host}/chainguard/**`,
              signature: { authorities: [keyless(CHAINGUARD)] },
              candidates: [`${host}/chainguard/apko-base:latest`],
            },
          ],
          proof,
        },
      });

    /** The top index re-pushed under `tag` with changed entries or annotations. */
    async function variant(tag: string, change: (index: typeof topIndex) => void): Promise<string> {
      const copy = JSON.parse(JSON.stringify(topIndex)) as typeof topIndex;
      change(copy);
      const bytes = Buffer.from(JSON.stringify(copy));
      await pushManifest(registry.url, 'apps/apko-top', tag, {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: sha256(bytes),
        size: bytes.byteLength,
        bytes,
      });
      return sha256(bytes);
    }

    const annotate = (index: typeof topIndex) => {
      index.annotations = {
        ...(index.annotations as Record<string, string>),
        'org.opencontainers.image.base.name': `${host}/chainguard/apko-base:latest`,
        'org.opencontainers.image.base.digest': baseDigest,
      };
    };
    const swap = (index: typeof topIndex) => {
      const [a, b] = index.manifests;
      const pa = a!.platform;
      a!.platform = b!.platform;
      b!.platform = pa;
    };

    it('passes layers on every platform via the candidate (top has no base annotation)', async () => {
      const { base, verdict } = await decide(policy(), `${host}/apps/apko-top:v1`);
      expect(base.code, base.message).toBe('OK');
      expect(verdict.allowed).toBe(true);
      expect(base.details?.platforms).toEqual([
        expect.objectContaining({ platform: 'linux/amd64', reached: 'layers', passed: true }),
        expect.objectContaining({ platform: 'linux/arm64', reached: 'layers', passed: true }),
      ]);
      expect(base.message).toContain(`candidate ${host}/chainguard/apko-base:latest@${baseDigest}`);
      expect(base.message).toContain('diff_id (linux/amd64 manifest sha256:2ef91a9967f2');
    });

    it('passes layers on every platform from the index annotation, resolving the same platform of the base index', async () => {
      await variant('annotated', annotate);
      const { base } = await decide(policy(), `${host}/apps/apko-top:annotated`);
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain('(annotation on the index)');
      expect(base.message).toContain('sha256:5a99438a9ced'); // base arm64 manifest
    });

    it('fails when the platforms are swapped (each platform must begin with the same platform of the base)', async () => {
      await variant('swapped', (i) => {
        annotate(i);
        swap(i);
      });
      const { base, verdict } = await decide(policy(), `${host}/apps/apko-top:swapped`);
      expect(verdict.allowed).toBe(false);
      expect(base.code).toBe('BASE_NOT_PROVEN');
      expect(base.message).toContain('signature OK');
      expect(base.message).toContain(
        'layers: image diff_ids[0] sha256:2888aac57b90… ≠ base diff_ids[0] sha256:783b8b05724a… — the image is not built on the claimed base',
      );
      expect(base.details?.platforms).toEqual([
        expect.objectContaining({ passed: false, reached: 'signed' }),
        expect.objectContaining({ passed: false, reached: 'signed' }),
      ]);
    });

    it('fails swapped platforms via the candidate too', async () => {
      await variant('swapped-unclaimed', swap);
      const { base } = await decide(policy(), `${host}/apps/apko-top:swapped-unclaimed`);
      expect(base.code).toBe('BASE_NOT_PROVEN');
      expect(base.message).toContain('≠ base diff_ids[0]');
    });

    it('at proof claim, an image without a claim is BASE_NOT_CLAIMED (candidates need the layer proof)', async () => {
      const { base } = await decide(policy('claim'), `${host}/apps/apko-top:v1`);
      expect(base.code).toBe('BASE_NOT_CLAIMED');
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('regclient testrepo: v2/v3 name b2/b3 but base.digest is b1', () => {
    const digests: Record<string, string> = {};

    beforeAll(async () => {
      const layout = fixturePath('oci-images', 'regclient-testrepo');
      for (const tag of ['b1', 'b2', 'b3', 'v2', 'v3']) {
        digests[tag] = await pushLayout(registry.url, 'testrepo', layout, { tag, as: tag });
      }
      // b1 is signed by the trusted identity; b2 and b3 only by another one.
      await signKeyless('testrepo', digests.b1!, CHAINGUARD);
      await signKeyless('testrepo', digests.b2!, EVIL);
      await signKeyless('testrepo', digests.b3!, EVIL);
      // The annotations name registry.example.org, which does not exist here: for the levels that
      // contact the registry, v2 and v3 are re-pushed with only the host of base.name changed to the
      // loopback registry (tags b2/b3 and base.digest = b1 kept, so the disagreement is intact).
      for (const tag of ['v2', 'v3']) {
        const index = await getIndex('testrepo', tag);
        const annotations = index.annotations!;
        annotations['org.opencontainers.image.base.name'] = annotations[
          'org.opencontainers.image.base.name'
        ]!.replace('registry.example.org', host);
        await putIndex('testrepo', `${tag}-here`, index);
      }
    });

    const policy = (proof: string, identity = CHAINGUARD, repo = `${host}/testrepo`) =>
      policyDoc('testrepo', {
        images: [{ glob: `${host}/testrepo` }],
        platforms: ['all'],
        base: {
          allowed: [{ image: repo, signature: { authorities: [keyless(identity)] } }],
          proof,
        },
      });

    it('claim: passes v2 as published on the name alone (registry.example.org is never contacted) and reports the named tag with the digest', async () => {
      const { base } = await decide(
        policy('claim', CHAINGUARD, 'registry.example.org/testrepo'),
        `${host}/testrepo:v2`,
      );
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain(`registry.example.org/testrepo:b2@${digests.b1}`);
      expect(base.message).toContain('the name is not verified (audit and inventory only)');
    });

    it('signed: verifies the claimed digest (b1), not the tag, and notes that the tag points elsewhere', async () => {
      const { base } = await decide(policy('signed'), `${host}/testrepo:v2-here`);
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain(`note: tag b2 now points at ${digests.b2}, not the claimed digest`);
    });

    it('signed: a signature on the named tag (b2) does not count for the claimed digest (b1)', async () => {
      const { base } = await decide(policy('signed', EVIL), `${host}/testrepo:v2-here`);
      expect(base.code).toBe('BASE_SIGNATURE_INVALID');
      expect(base.message).toContain('IDENTITY_MISMATCH');
    });

    it('layers: v2 and v3 are built on b1, the claimed digest, on every platform', async () => {
      for (const tag of ['v2-here', 'v3-here']) {
        const { base } = await decide(policy('layers'), `${host}/testrepo:${tag}`);
        expect(base.code, `${tag}: ${base.message}`).toBe('OK');
        expect((base.details?.platforms as unknown[]).length).toBeGreaterThanOrEqual(3);
      }
    });

    it('layers: v3 is not built on b3, the tag its name claims (so trusting the name would be wrong)', async () => {
      const doc = policyDoc('testrepo-b3', {
        images: [{ glob: `${host}/testrepo` }],
        base: { allowed: [{ image: `${host}/testrepo`, candidates: [`${host}/testrepo:b3`] }] },
      });
      // v3 without its annotations: only the b3 candidate is tried.
      const index = await getIndex('testrepo', 'v3');
      delete index.annotations;
      await putIndex('testrepo', 'v3-unannotated', index);
      const { base } = await decide(doc, `${host}/testrepo:v3-unannotated`);
      expect(base.code).toBe('BASE_NOT_PROVEN');
      expect(base.message).toContain('no signature required');
      expect(base.message).toContain('≠ base diff_ids[0] sha256:980c93875cc1…');
    });
  });

  describe('images the tests build', () => {
    let base: BuiltImage;
    let baseDigest: string;

    beforeAll(async () => {
      base = buildImage({ steps: [BASE_STEP, { createdBy: 'ENV PATH=/usr/bin' }] });
      await pushImage(registry.url, 'base/node', 'latest', base);
      baseDigest = base.manifest.digest;
      await signKeyless('base/node', baseDigest, CHAINGUARD);
    });

    const allowed = (extra: Record<string, unknown> = {}) => ({
      image: `${host}/base/**`,
      signature: { authorities: [keyless(CHAINGUARD)] },
      ...extra,
    });
    const policy = (baseSpec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      policyDoc('made', { images: [{ glob: `${host}/made/**` }], base: baseSpec, ...extra });

    async function app(
      tag: string,
      steps: Step[],
      annotations?: Record<string, string>,
    ): Promise<BuiltImage> {
      const img = buildImage({ steps, ...(annotations !== undefined ? { annotations } : {}) });
      await pushImage(registry.url, 'made/app', tag, img);
      return img;
    }
    const claim = (name: string, digest: string) => ({
      'org.opencontainers.image.base.name': name,
      'org.opencontainers.image.base.digest': digest,
    });

    it('passes an image derived from the signed base it claims', async () => {
      await app('derived', [BASE_STEP, APP_STEP], claim(`${host}/base/node:latest`, baseDigest));
      const { base: f, verdict } = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:derived`);
      expect(f.code, f.message).toBe('OK');
      expect(verdict.allowed).toBe(true);
      expect(f.message).toContain('(annotation on the platform manifest)');
      expect(f.message).toContain('signature OK');
      expect(f.details?.platforms).toEqual([
        expect.objectContaining({ reached: 'layers', base: `${host}/base/node@${baseDigest}` }),
      ]);
    });

    it('fails at layers when the image claims a base it is not built on', async () => {
      await app(
        'liar',
        [{ createdBy: 'FROM other', files: { 'etc/os-release': 'ID=other\n' } }, APP_STEP],
        claim(`${host}/base/node:latest`, baseDigest),
      );
      const { base: f, verdict } = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:liar`);
      expect(verdict.allowed).toBe(false);
      expect(f.code).toBe('BASE_NOT_PROVEN');
      expect(f.message).toMatch(
        new RegExp(
          `^proof layers: base claimed ${host.replace(/\./g, '\\.')}/base/node:latest@${baseDigest} \\(annotation on the platform manifest\\); allowed by "[^"]+"; signature OK \\(.*\\); layers: image diff_ids\\[0\\] sha256:[0-9a-f]{12}… ≠ base diff_ids\\[0\\] sha256:[0-9a-f]{12}… — the image is not built on the claimed base$`,
        ),
      );
    });

    it('passes the same liar at proof signed (why layers is the default)', async () => {
      const { base: f } = await decide(
        policy({ allowed: [allowed()], proof: 'signed' }),
        `${host}/made/app:liar`,
      );
      expect(f.code, f.message).toBe('OK');
      expect(f.details?.platforms).toEqual([expect.objectContaining({ reached: 'signed' })]);
    });

    it('fails at signed when the base is signed by the wrong identity', async () => {
      const other = buildImage({ steps: [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=evil\n' } }] });
      await pushImage(registry.url, 'base/evil', 'latest', other);
      await signKeyless('base/evil', other.manifest.digest, EVIL);
      await app(
        'on-evil',
        [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=evil\n' } }, APP_STEP],
        claim(`${host}/base/evil:latest`, other.manifest.digest),
      );
      const { base: f } = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:on-evil`);
      expect(f.code).toBe('BASE_SIGNATURE_INVALID');
      expect(f.message).toContain('IDENTITY_MISMATCH');
      expect(f.message).toContain(`by subject ${EVIL.subject}`);
      expect(f.details?.platforms).toEqual([expect.objectContaining({ reached: 'claim' })]);
    });

    it('fails a claimed digest that does not exist in the allowed repository', async () => {
      const missing = `sha256:${'0'.repeat(64)}`;
      await app('missing', [BASE_STEP, APP_STEP], claim(`${host}/base/node:latest`, missing));
      const { base: f } = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:missing`);
      expect(f.code).toBe('BASE_NOT_FOUND');
    });

    it('fails a base outside the allowed globs without contacting its registry', async () => {
      await app('alpine', [BASE_STEP, APP_STEP], claim('docker.io/library/alpine:3.20', baseDigest));
      const { base: f } = await decide(
        policy({ allowed: [allowed()], proof: 'claim' }),
        `${host}/made/app:alpine`,
      );
      expect(f.code).toBe('BASE_NOT_ALLOWED');
      expect(f.message).toContain('docker.io/library/alpine:3.20');
    });

    it('fails an inconsistent claim (the name pins another digest than base.digest)', async () => {
      await app(
        'inconsistent',
        [BASE_STEP, APP_STEP],
        claim(`${host}/base/node@sha256:${'1'.repeat(64)}`, baseDigest),
      );
      const { base: f } = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:inconsistent`);
      expect(f.code).toBe('BASE_CLAIM_INCONSISTENT');
    });

    it('passes an image without a claim built on the current tag of a candidate', async () => {
      await app('unclaimed', [BASE_STEP, APP_STEP]);
      const { base: f } = await decide(
        policy({ allowed: [allowed({ candidates: [`${host}/base/node:latest`] })] }),
        `${host}/made/app:unclaimed`,
      );
      expect(f.code, f.message).toBe('OK');
      expect(f.message).toContain(`candidate ${host}/base/node:latest@${baseDigest}`);
    });

    it('fails an image without a claim when no candidate is its base', async () => {
      await app('unclaimed-other', [{ createdBy: 'x', files: { x: 'y' } }, APP_STEP]);
      const { base: f } = await decide(
        policy({ allowed: [allowed({ candidates: [`${host}/base/node:latest`] })] }),
        `${host}/made/app:unclaimed-other`,
      );
      expect(f.code).toBe('BASE_NOT_PROVEN');
      const none = await decide(policy({ allowed: [allowed()] }), `${host}/made/app:unclaimed-other`);
      expect(none.base.code).toBe('BASE_NOT_CLAIMED');
    });

    describe('the same decisions through imagegate check and /validate', () => {
      let policyFile: string;
      beforeAll(async () => {
        await app('derived', [BASE_STEP, APP_STEP], claim(`${host}/base/node:latest`, baseDigest));
        await app(
          'liar',
          [{ createdBy: 'FROM other', files: { 'etc/os-release': 'ID=other\n' } }, APP_STEP],
          claim(`${host}/base/node:latest`, baseDigest),
        );
        const dir = await mkdtemp(join(tmpdir(), 'imagegate-base-cli-'));
        policyFile = join(dir, 'policy.yaml');
        await writeFile(policyFile, policy({ allowed: [allowed()] }));
      });

      function imagegate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
        return new Promise((resolvePromise, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
            cwd: ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.once('error', reject);
          child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
        });
      }
      const cliArgs = (image: string) => [
        'check',
        '--policy',
        policyFile,
        '--insecure-registry',
        host,
        '--trusted-root',
        roots[0]!,
        '--output',
        'json',
        image,
      ];

      it('imagegate check exits 0 for the derived image and 1 for the liar, with the base finding', async () => {
        const ok = await imagegate(cliArgs(`${host}/made/app:derived`));
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stdout).toContain('"check": "base"');
        expect(ok.stdout).toContain('"reached": "layers"');
        const denied = await imagegate(cliArgs(`${host}/made/app:liar`));
        expect(denied.code, denied.stderr).toBe(1);
        expect(denied.stdout).toContain('BASE_NOT_PROVEN');
        expect(denied.stdout).toContain('the image is not built on the claimed base');
      });

      it('/validate admits the derived image and denies the liar with the same finding', async () => {
        const setup = await buildEngine({
          policy: [policyFile],
          insecureRegistry: [host],
          trustedRoot: roots,
        });
        const server = await startServer({ engine: setup.engine });
        try {
          const ok = await server.post('/validate', podReview([`${host}/made/app:derived`]));
          expect(ok.status).toBe(200);
          expect((ok.json as { response: { allowed: boolean } }).response.allowed).toBe(true);
          const denied = await server.post('/validate', podReview([`${host}/made/app:liar`]));
          const response = (denied.json as { response: { allowed: boolean; status?: { message?: string } } })
            .response;
          expect(response.allowed).toBe(false);
          expect(response.status?.message).toContain('base BASE_NOT_PROVEN');
          expect(response.status?.message).toContain('≠ base diff_ids[0]');
        } finally {
          await server.close();
        }
      });
    });

    describe('maxAge', () => {
      it('passes a base signed now within maxAge, reporting the Rekor time', async () => {
        const { base: f } = await decide(
          policy({ allowed: [allowed()], maxAge: '30d' }),
          `${host}/made/app:derived`,
        );
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toMatch(
          /signed \d{4}-\d\d-\d\dT[\d:.]+Z \(0d 0h ago|signed .* \(0h \d+m ago, within 30d\)/,
        );
      });

      it('fails a base whose signature is older than maxAge', async () => {
        const stale = buildImage({
          steps: [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=stale\n' } }],
        });
        await pushImage(registry.url, 'base/stale', 'latest', stale);
        await signKeyless('base/stale', stale.manifest.digest, CHAINGUARD, old);
        await app(
          'on-stale',
          [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=stale\n' } }, APP_STEP],
          claim(`${host}/base/stale:latest`, stale.manifest.digest),
        );
        const doc = policy({
          allowed: [{ image: `${host}/base/**`, signature: { authorities: [keyless(CHAINGUARD, 'old')] } }],
          maxAge: '30d',
        });
        const { base: f } = await decide(doc, `${host}/made/app:on-stale`);
        expect(f.code, f.message).toBe('BASE_TOO_OLD');
        expect(f.message).toMatch(/ \((89|90)d \d+h ago\), older than maxAge 30d/);
      });

      it('fails with BASE_AGE_UNKNOWN when the base has only a key signature without a time', async () => {
        const k = keyPair('ec-p256');
        const keyed = buildImage({
          steps: [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=keyed\n' } }],
        });
        await pushImage(registry.url, 'base/keyed', 'latest', keyed);
        const payload = Buffer.from(
          JSON.stringify({
            critical: {
              identity: { 'docker-reference': `${host}/base/keyed` },
              image: { 'docker-manifest-digest': keyed.manifest.digest },
              type: 'cosign container image signature',
            },
            optional: null,
          }),
        );
        await pushLegacySignatures(seeder, 'base/keyed', keyed.manifest.digest, [
          {
            payload,
            annotations: { 'dev.cosignproject.cosign/signature': k.sign(payload).toString('base64') },
          },
        ]);
        await app(
          'on-keyed',
          [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=keyed\n' } }, APP_STEP],
          claim(`${host}/base/keyed:latest`, keyed.manifest.digest),
        );
        const spec = (maxAge?: string) =>
          policy({
            allowed: [
              {
                image: `${host}/base/**`,
                signature: { authorities: [{ name: 'k', key: { pem: k.publicPem, trustedRoot: 'corp' } }] },
              },
            ],
            ...(maxAge !== undefined ? { maxAge } : {}),
          });
        expect((await decide(spec(), `${host}/made/app:on-keyed`)).base.code).toBe('OK');
        const { base: f } = await decide(spec('30d'), `${host}/made/app:on-keyed`);
        expect(f.code).toBe('BASE_AGE_UNKNOWN');
        expect(f.message).toContain('cannot be proven');
      });
    });

    describe('provenance', () => {
      const appPolicy = () =>
        policy({ allowed: [allowed()] }, { signature: { authorities: [keyless(APP, 'corp', 'ci')] } });

      it('passes with a signed SLSA v1 attestation naming the base in resolvedDependencies', async () => {
        const img = await app('slsa', [BASE_STEP, APP_STEP]);
        const digest = img.manifest.digest;
        await signKeyless('made/app', digest, APP);
        const bundle = await corp.signBundle({
          digest,
          identity: APP,
          predicateType: SLSA_V1,
          predicate: {
            buildDefinition: {
              buildType: 'https://actions.github.io/buildtypes/workflow/v1',
              resolvedDependencies: [
                {
                  uri: 'git+https://github.com/acme/app@refs/heads/main',
                  digest: { gitCommit: 'a'.repeat(40) },
                },
                { uri: 'pkg:docker/golang@1.22?platform=linux%2Famd64', digest: { sha256: 'f'.repeat(64) } },
                {
                  uri: `pkg:docker/${host}/base/node@latest?platform=linux%2Famd64`,
                  digest: { sha256: baseDigest.slice(7) },
                },
              ],
            },
            runDetails: { builder: { id: 'https://github.com/actions/runner' } },
          },
        });
        await pushBundleReferrer(
          seeder,
          'made/app',
          { digest, mediaType: img.manifest.mediaType, size: img.manifest.size },
          bundle,
          SLSA_V1,
        );
        const { base: f, verdict, findings } = await decide(appPolicy(), `${host}/made/app:slsa`);
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain('SLSA provenance (provenance/v1) signed by "ci"');
        expect(findings.find((x) => x.check === 'signature')?.code).toBe('OK');
        expect(verdict.allowed).toBe(true);
      });

      async function buildkitIndex(tag: string, sign: boolean): Promise<string> {
        // A platform image of its own (no signature or attestation of another test applies to it).
        const img = buildImage({ steps: [BASE_STEP, APP_STEP, { createdBy: tag, files: { tag } }] });
        await pushImage(registry.url, 'made/app', img.manifest.digest, img);
        const statement = Buffer.from(
          JSON.stringify({
            _type: 'https://in-toto.io/Statement/v0.1',
            predicateType: SLSA_V02,
            subject: [
              {
                name: `pkg:docker/${host}/made/app@${tag}?platform=linux%2Famd64`,
                digest: { sha256: img.manifest.digest.slice(7) },
              },
            ],
            predicate: {
              builder: { id: '' },
              buildType: 'https://mobyproject.org/buildkit@v1',
              materials: [
                {
                  uri: `pkg:docker/${host}/base/node@latest?platform=linux%2Famd64`,
                  digest: { sha256: baseDigest.slice(7) },
                },
              ],
            },
          }),
        );
        const config = Buffer.from(
          '{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
        );
        const layer = {
          mediaType: 'application/vnd.in-toto+json',
          digest: sha256(statement),
          size: statement.byteLength,
          bytes: statement,
        };
        await pushBlob(registry.url, 'made/app', layer);
        await pushBlob(registry.url, 'made/app', {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256(config),
          size: config.byteLength,
          bytes: config,
        });
        const att = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha256(config),
              size: config.byteLength,
            },
            layers: [
              {
                mediaType: layer.mediaType,
                digest: layer.digest,
                size: layer.size,
                annotations: { 'in-toto.io/predicate-type': SLSA_V02 },
              },
            ],
          }),
        );
        await pushManifest(registry.url, 'made/app', sha256(att), {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(att),
          size: att.byteLength,
          bytes: att,
        });
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [
              {
                mediaType: img.manifest.mediaType,
                digest: img.manifest.digest,
                size: img.manifest.size,
                platform: { os: 'linux', architecture: 'amd64' },
              },
              {
                mediaType: 'application/vnd.oci.image.manifest.v1+json',
                digest: sha256(att),
                size: att.byteLength,
                platform: { os: 'unknown', architecture: 'unknown' },
                annotations: {
                  'vnd.docker.reference.type': 'attestation-manifest',
                  'vnd.docker.reference.digest': img.manifest.digest,
                },
              },
            ],
          }),
        );
        await pushManifest(registry.url, 'made/app', tag, {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: sha256(index),
          size: index.byteLength,
          bytes: index,
        });
        if (sign) await signKeyless('made/app', sha256(index), APP);
        return sha256(index);
      }

      it('passes with BuildKit provenance in the index when the index signature verified, and says so', async () => {
        await buildkitIndex('buildkit-signed', true);
        const { base: f } = await decide(appPolicy(), `${host}/made/app:buildkit-signed`);
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain(
          'BuildKit provenance in the index (unsigned itself; trusted because the index signature verified)',
        );
      });

      it('ignores BuildKit provenance when the index is not signed', async () => {
        await buildkitIndex('buildkit-unsigned', false);
        const { base: f } = await decide(appPolicy(), `${host}/made/app:buildkit-unsigned`);
        expect(f.code).toBe('BASE_NOT_CLAIMED');
        expect(f.message).toContain(
          'BuildKit provenance in the index ignored: no signature over the index digest verified',
        );
      });
    });
  });
});
