/**
 * The base check over images these tests build and sign (claims, candidates, lies), and the same
 * decisions through `imagegate check` and /validate.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../../../helpers/admission-fixtures.js';
import { buildEngine } from '../../../helpers/engine.js';
import { startServer } from '../../../helpers/server.js';
import { buildImage, pushImage } from '../../../helpers/image-builder.js';
import type { TestRegistry } from '../../../helpers/registry.js';
import { APP_STEP, BASE_STEP, EVIL, madeImages, useBaseRig } from '../../../helpers/base-rig.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('base check through a real registry', () => {
  let registry: TestRegistry;
  let host: string;
  let roots: string[];
  const rig = useBaseRig();
  const { signKeyless, decide } = rig;
  beforeAll(() => {
    ({ registry, host, roots } = rig.current());
  });

  describe('images the tests build', () => {
    let baseDigest: string;

    beforeAll(async () => {
      baseDigest = (await rig.pushSignedBase()).manifest.digest;
    });

    const { allowed, policy, app, claim } = madeImages(rig);

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
  });
});
