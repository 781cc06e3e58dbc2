/**
 * Verifiers (verifier-cache.ts) are kept by the trusted root they were built over: built once per root,
 * key and tlog requirement, never shared between two stores (two engines) that loaded the same file,
 * bounded per root, and not kept at all without a root.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoots, type TrustedRootStore } from '../../../../src/checks/signature/trusted-roots.js';
import { keylessVerifier, keyVerifier } from '../../../../src/checks/signature/verifier-cache.js';
import { tempDir } from '../../../helpers/signature-setup.js';
import { createTestInstance } from '../../../helpers/test-sigstore.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;

describe('the verifiers of a trusted root', () => {
  let path: string;
  const store = (): Promise<TrustedRootStore> =>
    loadTrustedRoots({ files: [{ name: 'corp', path }], offline: true });
  beforeAll(async () => {
    path = (await createTestInstance(tempDir())).trustedRootPath;
  });

  it('are built once per root, key and tlog requirement', async () => {
    const root = (await store()).get('corp');
    expect(keylessVerifier(root, true)).toBe(keylessVerifier(root, true));
    expect(keylessVerifier(root, false)).not.toBe(keylessVerifier(root, true));
    expect(keyVerifier(root, key, 'k1', false)).toBe(keyVerifier(root, key, 'k1', false));
    expect(keyVerifier(root, key, 'k2', false)).not.toBe(keyVerifier(root, key, 'k1', false));
  });

  it('are not shared by two stores that loaded the same file (two engines)', async () => {
    const [mine, theirs] = [(await store()).get('corp'), (await store()).get('corp')];
    expect(keylessVerifier(mine, true)).not.toBe(keylessVerifier(theirs, true));
    expect(keyVerifier(mine, key, 'k', true)).not.toBe(keyVerifier(theirs, key, 'k', true));
  });

  it('stay bounded when keys keep changing (rotation), the least recently used going first', async () => {
    const root = (await store()).get('corp');
    const kept = keyVerifier(root, key, 'kept', false);
    for (let i = 0; i < 1000; i++) {
      keyVerifier(root, key, `rotated-${i}`, false);
      expect(keyVerifier(root, key, 'kept', false)).toBe(kept);
    }
    expect(root.verifiers.size).toBe(root.verifiers.maxEntries);
    expect(root.verifiers.size).toBeLessThan(1000);
  });

  it('are not kept without a root (tlog optional, root unavailable)', () => {
    expect(keyVerifier(undefined, key, 'k', false)).not.toBe(keyVerifier(undefined, key, 'k', false));
  });
});
