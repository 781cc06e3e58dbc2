/**
 * Images no policy governs, over the real HTTPS webhook: denied where an enforcing policy applies
 * (the default), exemptions by spec.exclude and spec.namespaces allowed and recorded, other
 * namespaces untouched, and --unmatched overriding the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const POLICY = policyYaml('prod-pinned', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/prod/**' }],
  exclude: [{ glob: 'registry.example.com/prod/sandbox/**' }],
  namespaces: { include: ['prod-*'], exclude: ['prod-legacy'] },
  requireDigest: true,
});
const DIGEST = `sha256:${'ab'.repeat(32)}`;

type Response = { allowed: boolean; status?: { message?: string }; warnings?: string[] };

async function webhook(unmatched?: 'allow' | 'audit' | 'deny') {
  const setup = await buildEngine({
    policy: [await writePolicyFile(POLICY)],
    ...(unmatched !== undefined ? { unmatched } : {}),
  });
  const server = await startServer({ engine: setup.engine });
  const review = async (image: string, namespace: string) => {
    const reply = await server.post('/validate', podReview([image], { namespace }));
    return {
      response: (reply.json as { response: Response }).response,
      image: server.audit.at(-1)!.images[0]!,
    };
  };
  return { setup, server, review };
}

describe('images no policy governs, by default', () => {
  let setup: Setup;
  let server: TestServer;
  let review: Awaited<ReturnType<typeof webhook>>['review'];
  beforeAll(async () => ({ setup, server, review } = await webhook()));
  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
  });

  describe('when an enforcing policy applies in the namespace', () => {
    it('denies the image, naming the policy that enforces there', async () => {
      const { response, image } = await review('quay.io/other/tool:1', 'prod-a');
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain(
        'no ImagePolicy governs this image, and ImagePolicy "prod-pinned" enforces in namespace "prod-a"',
      );
      expect(image).toMatchObject({ unmatched: 'deny', policies: [] });
    });
    it('still admits what the policy governs and passes', async () => {
      const { response } = await review(`registry.example.com/prod/app@${DIGEST}`, 'prod-a');
      expect(response.allowed).toBe(true);
    });
  });

  describe('when the policy excludes the image (spec.exclude)', () => {
    it('allows it as an exemption and records which policy exempted it', async () => {
      const { response, image } = await review('registry.example.com/prod/sandbox/x:1', 'prod-a');
      expect(response.allowed).toBe(true);
      expect(image).toMatchObject({
        unmatched: 'allow',
        exempt: 'exempted by ImagePolicy "prod-pinned" (spec.exclude)',
      });
    });
  });

  describe('when the policy excludes the namespace (spec.namespaces)', () => {
    it('allows what it would govern, as an exemption', async () => {
      const { response, image } = await review('registry.example.com/prod/app:1', 'prod-legacy');
      expect(response.allowed).toBe(true);
      expect(image.exempt).toBe(
        'exempted by ImagePolicy "prod-pinned" (spec.namespaces leaves out namespace "prod-legacy")',
      );
    });
  });

  describe('when no policy selects the namespace', () => {
    it('is not affected', async () => {
      const { response, image } = await review('quay.io/other/tool:1', 'dev');
      expect(response.allowed).toBe(true);
      expect(response.warnings ?? []).toEqual([]);
      expect(image).toMatchObject({ unmatched: 'allow' });
      expect(image.exempt).toBeUndefined();
    });
  });
});

describe('images no policy governs, with --unmatched audit', () => {
  let setup: Setup;
  let server: TestServer;
  let review: Awaited<ReturnType<typeof webhook>>['review'];
  beforeAll(async () => ({ setup, server, review } = await webhook('audit')));
  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
  });

  it('overrides the rule: allowed with a warning where a policy enforces', async () => {
    const { response, image } = await review('quay.io/other/tool:1', 'prod-a');
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      'imagegate: [audit] quay.io/other/tool:1 would be denied: no ImagePolicy governs this image',
    ]);
    expect(image).toMatchObject({ unmatched: 'audit' });
  });
});
