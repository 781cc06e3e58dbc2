/**
 * Property 1 of issue 20, "never admitted unchecked", through the real HTTPS server: registry JSON
 * of the wrong type (`platform: null`, `history: {}` / `12345` / `[null]`, a token answer without a
 * string token) under an enforcing signature + size policy with `onError: allow` must deny an
 * unsigned 5 GiB image with its own code, not turn into "could not check" and be admitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  startHostileRegistry,
  type Desc,
  type HostileRegistry,
} from '../helpers/hostile-registry.js';
import { keyPolicyYaml, signingKey } from '../helpers/signed-images.js';
import { reviewAnswer, type ReviewAnswer } from '../helpers/review-answer.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const GiB = 1024 ** 3;

describe('registry content of the wrong type under onError: allow (real server, hostile registry)', () => {
  let reg: HostileRegistry;
  /** Its own registry: imagegate remembers a registry's challenge for every later request. */
  let tokens: HostileRegistry;
  let setup: Setup;
  let server: TestServer;

  /** An unsigned image whose one layer claims 5 GiB, with the given config document. */
  const bigImage = (repo: string, config: object, tag?: string): Desc => {
    const cfg = reg.blob(JSON.stringify(config), OCI_CONFIG);
    const layer = { ...reg.blob(`layer of ${repo}`), size: 5 * GiB };
    return reg.manifest(
      repo,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [layer] },
      tag !== undefined ? { tag } : {},
    );
  };
  const linuxConfig = (extra: object): object => ({ os: 'linux', architecture: 'amd64', ...extra });

  const review = (image: string, host = reg.host): Promise<ReviewAnswer> =>
    reviewAnswer(server, `${host}/${image}`);

  beforeAll(async () => {
    reg = await startHostileRegistry();
    tokens = await startHostileRegistry();
    const policy = keyPolicyYaml(signingKey(), { onError: 'allow' }).replace(
      '  signature:',
      "  size: { maxCompressed: '1Gi' }\n  signature:",
    );
    setup = await buildEngine({
      policy: [await writePolicyFile(policy)],
      insecureRegistry: [reg.host, tokens.host],
    });
    server = await startServer({ engine: setup.engine });

    for (const [tag, history] of [
      ['history-object', {}],
      ['history-number', 12345],
      ['history-null-entry', [null]],
      ['history-wrong-field', [{ created_by: 7 }]],
    ] as const) {
      bigImage('bad/config', linuxConfig({ history }), tag);
    }
    // diff_ids the base-image check would compare as plain strings
    for (const [tag, ids] of [
      ['diff-ids-text', ['base']],
      ['diff-ids-short', ['sha256:xyz']],
      ['diff-ids-upper', [`sha256:${'A'.repeat(64)}`]],
    ] as const) {
      bigImage('bad/config', linuxConfig({ rootfs: { type: 'layers', diff_ids: ids } }), tag);
    }
    const entry = bigImage('bad/index', linuxConfig({}));
    reg.manifest(
      'bad/index',
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...entry, platform: null }] },
      { tag: 'platform-null' },
    );
    reg.manifest(
      'bad/index',
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ ...entry, platform: { os: 'linux', architecture: 64 } }],
      },
      { tag: 'architecture-number' },
    );
    bigImage('bad/fine', linuxConfig({ history: [{ created_by: 'COPY . /' }] }), '1');
    // a Bearer challenge whose token answer is `{"token": 12345}`
    tokens.route(/^GET \/v2\/bad\/token\//, (req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="x"` }).end();
      } else res.writeHead(500).end();
    });
    tokens.route(/^GET \/token/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":12345}');
    });
  });

  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
    await reg?.stop();
    await tokens?.stop();
  });

  describe.each([
    'bad/config:history-object',
    'bad/config:history-number',
    'bad/config:history-null-entry',
    'bad/config:history-wrong-field',
    'bad/config:diff-ids-text',
    'bad/config:diff-ids-short',
    'bad/config:diff-ids-upper',
    'bad/index:platform-null',
    'bad/index:architecture-number',
  ])('when %s is served', (image) => {
    it('denies with REGISTRY_CONTENT_INVALID, never a TypeError or INTERNAL_ERROR', async () => {
      const a = await review(image);
      expect(a.allowed, a.message).toBe(false);
      expect(a.codes).toContain('REGISTRY_CONTENT_INVALID');
      expect(a.codes).not.toContain('INTERNAL_ERROR');
      expect(a.message).toMatch(/malformed (image config|index)/);
      if (image.includes('diff-ids'))
        expect(a.message).toMatch(/rootfs\.diff_ids\[0\] is ".*", wanted a layer digest \(sha256: and 64/);
    });
  });

  describe('when the token answer has a number for its token', () => {
    it('denies with REGISTRY_CONTENT_INVALID (content, not an outage onError may excuse)', async () => {
      const a = await review('bad/token:1', tokens.host);
      expect(a.allowed, a.message).toBe(false);
      expect(a.codes).toContain('REGISTRY_CONTENT_INVALID');
    });
  });

  describe('when the same 5 GiB image is well-formed', () => {
    it('is denied by the checks themselves (the control case: size and signature ran)', async () => {
      const a = await review('bad/fine:1');
      expect(a.allowed).toBe(false);
      expect(a.codes, a.message).not.toContain('REGISTRY_CONTENT_INVALID');
      expect(a.codes).toEqual(expect.arrayContaining(['SIZE_EXCEEDED', 'NO_SIGNATURES']));
    });
  });
});

describe('platform spellings a node normalises (property 5; real server, size policy, onError: allow)', () => {
  let reg: HostileRegistry;
  let setup: Setup;
  let server: TestServer;

  const entry = (repo: string, layerBytes: number, platform: Desc['platform']): Desc => {
    const cfg = reg.blob(
      JSON.stringify({ os: platform!.os, architecture: platform!.architecture }),
      OCI_CONFIG,
    );
    const layer = { ...reg.blob(`layer ${repo} ${layerBytes}`), size: layerBytes };
    const d = reg.manifest(repo, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [layer] });
    return { ...d, platform };
  };
  const index = (repo: string, tag: string, entries: object[]): void => {
    reg.manifest(repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }, { tag });
  };
  const decide = async (image: string): Promise<{ allowed: boolean; message: string }> => {
    const reply = await server.post('/validate', podReview([`${reg.host}/${image}`], { namespace: 'team' }));
    const body = reply.json as { response: { allowed: boolean; status?: { message?: string } } };
    return { allowed: body.response.allowed, message: body.response.status?.message ?? '' };
  };

  beforeAll(async () => {
    reg = await startHostileRegistry();
    const policy = policyYaml('small', {
      mode: 'enforce',
      onError: 'allow',
      images: [{ glob: '**' }],
      size: { maxCompressed: '1Gi' },
    });
    setup = await buildEngine({ policy: [await writePolicyFile(policy)], insecureRegistry: [reg.host] });
    server = await startServer({ engine: setup.engine });
    const small = entry('multi/app', 1024, { os: 'linux', architecture: 'amd64' });
    for (const [tag, platform] of [
      ['x86_64', { os: 'linux', architecture: 'x86_64' }],
      ['x86-64', { os: 'linux', architecture: 'x86-64' }],
      ['upper', { os: 'Linux', architecture: 'AMD64' }],
      ['v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }],
    ] as const) {
      index('multi/app', tag, [entry('multi/app', 5 * GiB, platform), small]);
    }
    // BuildKit's own attestation entry (unknown/unknown) is not run by any node: not checked
    index('multi/app', 'buildkit', [
      small,
      entry('multi/app', 5 * GiB, { os: 'unknown', architecture: 'unknown' }),
    ]);
    // an "attestation" annotation on a linux/amd64 entry does not hide it
    const disguised = entry('multi/app', 5 * GiB, { os: 'linux', architecture: 'amd64' });
    index('multi/app', 'disguised', [
      { ...disguised, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      small,
    ]);
    // an index inside the index: a node descends into it
    const inner = reg.manifest('multi/app', {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [entry('multi/app', 5 * GiB, { os: 'linux', architecture: 'amd64' })],
    });
    index('multi/app', 'nested', [inner, small]);
    // the index says amd64 (what the node picks), the config says arm64 (what the image is)
    const lying = entry('multi/app', 1024, { os: 'linux', architecture: 'arm64' });
    index('multi/app', 'lying', [small, { ...lying, platform: { os: 'linux', architecture: 'amd64' } }]);
  });

  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
    await reg?.stop();
  });

  describe.each(['x86_64', 'x86-64', 'upper', 'v3', 'disguised'])(
    'when a 5 GiB entry spelt %s is listed before a small linux/amd64 one',
    (tag) => {
      it('checks it as linux/amd64 and denies: SIZE_EXCEEDED', async () => {
        const a = await decide(`multi/app:${tag}`);
        expect(a.allowed, a.message).toBe(false);
        expect(a.message).toMatch(/SIZE_EXCEEDED/);
      });
    },
  );

  describe('when the 5 GiB entry is a BuildKit attestation (unknown/unknown)', () => {
    it('is not a platform a node runs: allowed', async () => {
      const a = await decide('multi/app:buildkit');
      expect(a.allowed, a.message).toBe(true);
    });
  });

  describe.each(['nested', 'lying'])('when the index is %s', (tag) => {
    it('denies with PLATFORM_AMBIGUOUS whatever onError says', async () => {
      const a = await decide(`multi/app:${tag}`);
      expect(a.allowed, a.message).toBe(false);
      expect(a.message).toMatch(/PLATFORM_AMBIGUOUS/);
    });
  });
});
