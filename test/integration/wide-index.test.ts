/**
 * Issue 20, property 3 (no synchronous step over ~50 ms for input inside the budgets), through the
 * real HTTPS server and a real registry: an image index of 10,000 entries (2 MB, inside the 4 MiB
 * manifest limit) is refused by maxManifestsPerIndex as soon as it is parsed, before the schema check,
 * the attestation filter or the platform match walks its entries, and the refusal is a completed
 * finding: denied in enforce mode although the policy says `onError: allow`. The event-loop figures
 * (before and after) are in bench/event-loop.ts and docs/benchmarks.md, not asserted here.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { policyYaml } from '../helpers/policy-documents.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { useRegistry } from '../helpers/use-registry.js';
import { pushImage } from '../helpers/signed-images.js';
import { reviewAnswer, type ReviewAnswer } from '../helpers/review-answer.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('an image index of 10,000 entries (real registry, real server, onError: allow)', () => {
  const reg = useRegistry();
  let setup: Setup;
  let server: TestServer;

  /** Pushes an index of `n` entries, all naming one real image under `n` platforms; returns its digest. */
  const pushWideIndex = async (repo: string, tag: string, n: number): Promise<string> => {
    const seeder = new RegistrySeeder(reg);
    const image = await pushImage(seeder, repo, `${tag}-entry`);
    const manifests = Array.from({ length: n }, (_, i) => ({
      mediaType: OCI_MANIFEST,
      digest: image.digest,
      size: image.size,
      platform: { os: 'linux', architecture: i === 0 ? 'amd64' : `arch${i}` },
    }));
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    const digest = await seeder.putManifest(repo, bytes, tag);
    expect(digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    return digest;
  };

  const review = (image: string): Promise<ReviewAnswer> => reviewAnswer(server, `${reg.host}/${image}`);

  beforeAll(async () => {
    await pushWideIndex('wide/app', '1', 10_000);
    await pushWideIndex('narrow/app', '1', 8);
    const size = { maxCompressed: '1Gi' };
    const policy = policyYaml('wide', {
      mode: 'enforce',
      images: [{ glob: `${reg.host}/**` }],
      onError: 'allow',
      size,
    });
    setup = await buildEngine({ policy: [await writePolicyFile(policy)], insecureRegistry: [reg.host] });
    server = await startServer({ engine: setup.engine });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
  });

  it('denies it with BUDGET_INDEX_MANIFESTS, naming the count and the limit', async () => {
    const answer = await review('wide/app:1');
    expect(answer.allowed).toBe(false);
    expect(answer.codes).toEqual(['BUDGET_INDEX_MANIFESTS']);
    expect(answer.message).toMatch(
      /the index lists 10000 manifests, more than the 1024 imagegate reads in one index \(maxManifestsPerIndex\)/,
    );
  });

  it('answers a review of the same index again with the same finding (nothing cached half-read)', async () => {
    const answers = await Promise.all([review('wide/app:1'), review('wide/app:1')]);
    expect(answers.map((a) => [a.allowed, a.codes])).toEqual([
      [false, ['BUDGET_INDEX_MANIFESTS']],
      [false, ['BUDGET_INDEX_MANIFESTS']],
    ]);
  });

  it('still checks an index within the budget (the same image under 8 platforms passes)', async () => {
    const answer = await review('narrow/app:1');
    expect(answer).toMatchObject({ allowed: true });
    expect(answer.codes).not.toContain('BUDGET_INDEX_MANIFESTS');
  });
});
