import { beforeAll, describe, expect, it } from 'vitest';
import { compileSignatureVerifier, type TrustedRootStore } from '../../../../src/checks/signature/index.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { HAVE_FIXTURES } from '../../../helpers/fixtures.js';
import { LEGACY_CASES, seedCase, type Seeder } from '../../../fixtures/legacy-cases.js';
import { MemoryRegistry } from '../../../helpers/memory-registry.js';
import { fixtureRoots, signal } from '../../../helpers/signature-setup.js';

describe.skipIf(!HAVE_FIXTURES)('verifying third-party cosign legacy signatures (in memory)', () => {
  let roots: TrustedRootStore;
  beforeAll(async () => {
    roots = await fixtureRoots();
  });

  for (const [i, c] of LEGACY_CASES.entries()) {
    it(`${c.name} → ${c.expect}`, async () => {
      const reg = new MemoryRegistry();
      const seeder: Seeder = {
        putBlob: async (_repo, bytes) => void reg.putBlob(bytes),
        putManifest: async (repo, bytes, tag) => reg.putManifest(repo, bytes, tag),
      };
      const repo = `registry.test/case${i}`;
      const digest = await seedCase(seeder, repo, c);
      const verifier = compileSignatureVerifier(c.spec(), 'test', { trustedRoots: roots });
      const verdict = await verifier.verify(reg, parseReference(`${repo}@${digest}`), digest, signal());
      expect(verdict.code, verdict.message).toBe(c.expect);
      expect(verdict.passed).toBe(c.expect === 'OK');
      for (const s of c.messageHas ?? []) expect(verdict.message).toContain(s);
    });
  }
});
