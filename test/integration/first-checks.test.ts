/**
 * What a platform team meets first with `imagegate check` against the local registry the README's
 * `npm run image -- --push` uses (Debian's docker-registry: plain HTTP on loopback): the flag that
 * fixes a plain-HTTP registry instead of OpenSSL's text, and one `--insecure-registry` for every
 * loopback spelling of that registry.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { imagegate, imagegateCheck } from '../helpers/cli.js';
import { writePolicyFile } from '../helpers/engine.js';
import { buildImage, pushImage } from '../helpers/image-builder.js';
import { useRegistry } from '../helpers/use-registry.js';
import { sizePolicy } from '../helpers/size-e2e.js';

describe('imagegate check against a plain-HTTP registry on loopback', () => {
  const reg = useRegistry();
  let policy: string;
  let port: string;

  beforeAll(async () => {
    port = reg.host.split(':')[1]!;
    await pushImage(
      reg.url,
      'team/app',
      '1',
      buildImage({ steps: [{ createdBy: 'COPY a /', randomBytes: 1000 }] }),
    );
    policy = await writePolicyFile(sizePolicy('local-size', `${reg.host}/**`, 'deny'));
  });

  describe('without --insecure-registry', () => {
    it('says the registry speaks plain HTTP and names the flag, not OpenSSL text', async () => {
      const run = await imagegate(['check', '--policy', policy, `${reg.host}/team/app:1`]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`this registry speaks plain HTTP: add --insecure-registry ${reg.host}`);
      expect(run.stdout + run.stderr).not.toMatch(/wrong version number|SSL routines|ssl3_/i);
    });

    it('gives the spelling the pod used (localhost) in the flag it suggests', async () => {
      const run = await imagegate(['check', '--policy', policy, `localhost:${port}/team/app:1`]);
      expect(run.stdout).toContain(`add --insecure-registry localhost:${port}`);
    });
  });

  describe('with --insecure-registry 127.0.0.1:PORT', () => {
    it.each([`127.0.0.1:${'PORT'}`, `localhost:${'PORT'}`, `[::ffff:127.0.0.1]:${'PORT'}`])(
      'resolves and checks %s over plain HTTP',
      async (spelling) => {
        const image = `${spelling.replace('PORT', port)}/team/app:1`;
        const run = await imagegate(['check', '--policy', policy, '--insecure-registry', reg.host, image]);
        expect(run.stdout + run.stderr).not.toContain('plain HTTP');
        expect(run.stdout).toMatch(/^✓ .*\/team\/app:1@sha256:[0-9a-f]{64}/);
        expect(run.code).toBe(0);
      },
    );

    it('and --insecure-registry localhost:PORT covers 127.0.0.1:PORT', async () => {
      const run = await imagegateCheck(
        policy,
        '--insecure-registry',
        `localhost:${port}`,
        `${reg.host}/team/app:1`,
      );
      expect(run.stdout).toMatch(/^✓ .*\/team\/app:1@sha256:[0-9a-f]{64}/);
      expect(run.code).toBe(0);
    });
  });
});
