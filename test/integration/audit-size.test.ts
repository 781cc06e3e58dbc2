/**
 * Issue 12 #2 (audit side): one pod naming thousands of distinct images still writes exactly one
 * audit line per decision, of bounded size, listing the first images and counting the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_MAX_IMAGES } from '../../src/audit/bound.js';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const POLICY = policyYaml('pinned', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/**' }],
  requireDigest: true,
});

describe('the audit line of a pod with 3,000 distinct images', () => {
  let setup: Setup;
  let server: TestServer;
  beforeAll(async () => {
    setup = await buildEngine({ policy: [await writePolicyFile(POLICY)] });
    server = await startServer({ engine: setup.engine, bodyLimit: 8 * 1024 * 1024 });
  });
  afterAll(async () => {
    await server?.close();
    await setup?.registry.close();
  });

  it('is one line under 64 KiB that lists the first images and counts the rest', async () => {
    const images = Array.from({ length: 3000 }, (_, i) => `registry.example.com/team/app-${i}:1`);
    const before = server.counts().audit;
    const reply = await server.post('/validate', podReview(images));
    expect((reply.json as { response: { allowed: boolean } }).response.allowed).toBe(false);
    expect(server.counts().audit).toBe(before + 1);
    const record = server.audit.at(-1)!;
    expect(record.images).toHaveLength(AUDIT_MAX_IMAGES);
    expect(record.images[0]!.image).toBe('registry.example.com/team/app-0:1');
    expect(record.imagesOmitted).toBe(3000 - AUDIT_MAX_IMAGES);
    expect(JSON.stringify(record).length).toBeLessThan(64 * 1024);
  });
});
