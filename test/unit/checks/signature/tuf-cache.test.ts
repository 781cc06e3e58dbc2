import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoots } from '../../../../src/checks/signature/trusted-roots.js';
import {
  fetchPublicGood,
  TUF_FRESH_MS,
  TUF_RETRY_AFTER_MS,
  TUF_TIMEOUT_MS,
  type TufFetchOptions,
} from '../../../../src/checks/signature/tuf-cache.js';
import { tempDir } from '../../../helpers/signature-setup.js';
import { createTestInstance } from '../../../helpers/test-sigstore.js';

/**
 * The TUF boundary as the network would answer: `online` says whether the repository is reachable,
 * `cached` whether a copy is on disk. Records every call with its options.
 */
function tufBoundary(root: TrustedRoot, world: { online: boolean; cached: boolean }) {
  const calls: TufFetchOptions[] = [];
  const fetcher = async (o: TufFetchOptions): Promise<TrustedRoot> => {
    calls.push(o);
    if (o.forceCache ? world.cached : world.online) return root;
    throw new Error(o.forceCache ? 'no cached metadata' : 'getaddrinfo ENOTFOUND tuf-repo-cdn.sigstore.dev');
  };
  return { calls, fetcher };
}

describe('fetchPublicGood', () => {
  let root: TrustedRoot;
  const T0 = Date.parse('2026-12-01T12:00:00Z');

  beforeAll(async () => {
    const instance = await createTestInstance(tempDir());
    root = TrustedRoot.fromJSON(JSON.parse(readFileSync(instance.trustedRootPath, 'utf8')));
  });

  const dir = () => mkdtemp(join(tmpdir(), 'imagegate-tuf-'));

  describe('when TUF was never contacted and is reachable', () => {
    it('asks online once, with a short timeout and no retries, and says so', async () => {
      const cache = await dir();
      const tuf = tufBoundary(root, { online: true, cached: false });
      const got = await fetchPublicGood(tuf.fetcher, cache, { now: T0 });
      expect(tuf.calls).toEqual([
        { cachePath: cache, forceCache: false, timeout: TUF_TIMEOUT_MS, retry: false },
      ]);
      expect(got.note).toBe(`Sigstore TUF, refreshed online (cache ${cache})`);
    });
  });

  describe('when it was refreshed less than an hour ago', () => {
    it('uses the cache without touching the network', async () => {
      const cache = await dir();
      const world = { online: true, cached: true };
      await fetchPublicGood(tufBoundary(root, world).fetcher, cache, { now: T0 });
      const tuf = tufBoundary(root, world);
      const got = await fetchPublicGood(tuf.fetcher, cache, { now: T0 + TUF_FRESH_MS - 60_000 });
      expect(tuf.calls.map((c) => c.forceCache)).toEqual([true]);
      expect(got.note).toMatch(/^TUF cache at .* \(refreshed 59 min ago; TUF not contacted\)$/);
    });
    it('still goes online for a server refresh (force)', async () => {
      const cache = await dir();
      const world = { online: true, cached: true };
      await fetchPublicGood(tufBoundary(root, world).fetcher, cache, { now: T0 });
      const tuf = tufBoundary(root, world);
      await fetchPublicGood(tuf.fetcher, cache, { now: T0 + 1000, force: true });
      expect(tuf.calls.map((c) => c.forceCache)).toEqual([false]);
    });
  });

  describe('when TUF is unreachable (offline CI)', () => {
    it('falls back to the cache and says why; the next run within ten minutes does not retry', async () => {
      const cache = await dir();
      const world = { online: false, cached: true };
      const first = tufBoundary(root, world);
      const a = await fetchPublicGood(first.fetcher, cache, { now: T0 });
      expect(first.calls.map((c) => c.forceCache)).toEqual([false, true]);
      expect(a.note).toContain('TUF unreachable: getaddrinfo ENOTFOUND');

      const second = tufBoundary(root, world);
      const b = await fetchPublicGood(second.fetcher, cache, { now: T0 + 30_000 });
      expect(second.calls.map((c) => c.forceCache)).toEqual([true]);
      expect(b.note).toContain('TUF unreachable 30 s ago');

      const later = tufBoundary(root, world);
      await fetchPublicGood(later.fetcher, cache, { now: T0 + TUF_RETRY_AFTER_MS + 1 });
      expect(later.calls.map((c) => c.forceCache)).toEqual([false, true]);
    });
    it('says there is no root when nothing is cached either', async () => {
      const cache = await dir();
      const tuf = tufBoundary(root, { online: false, cached: false });
      await expect(fetchPublicGood(tuf.fetcher, cache, { now: T0 })).rejects.toThrow(
        /unreachable and no cached root: getaddrinfo ENOTFOUND/,
      );
    });
  });

  describe('through loadTrustedRoots', () => {
    it('reports which copy of public-good is used in its status', async () => {
      const cache = await dir();
      const world = { online: false, cached: true };
      const store = await loadTrustedRoots({ tufCacheDir: cache, tuf: tufBoundary(root, world).fetcher });
      expect(store.status()).toEqual([
        {
          name: 'public-good',
          available: true,
          source: 'tuf',
          note: expect.stringContaining(`TUF cache at ${cache} (TUF unreachable`),
        },
      ]);
    });
  });
});
