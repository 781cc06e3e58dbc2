/** ReferrersApiHosts: what one host's answers teach, how long, and who waits for the probe. */
import { describe, expect, it } from 'vitest';
import { ReferrersApiHosts, type ApiAnswer } from '../../../src/registry/referrers.js';
import type { Descriptor } from '../../../src/registry/types.js';

const ART: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:a',
  size: 1,
};
const signal = (): AbortSignal => AbortSignal.timeout(5_000);

/** Counts calls; each answer is released by hand, so tests decide what is in flight together. */
function host(answer: ApiAnswer) {
  const calls = { api: 0, tag: 0 };
  const releases: Array<() => void> = [];
  const api = (): Promise<ApiAnswer> => {
    calls.api++;
    return new Promise((r) => releases.push(() => r(answer)));
  };
  const tag = async (): Promise<Descriptor[]> => {
    calls.tag++;
    return [ART];
  };
  const releaseAll = (): void => {
    for (const r of releases.splice(0)) r();
  };
  return { calls, api, tag, releaseAll };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('ReferrersApiHosts', () => {
  describe('when the host answers 404 (no referrers API)', () => {
    it('lets concurrent first lookups wait for one probe, then all read the tag', async () => {
      const hosts = new ReferrersApiHosts();
      const h = host({ kind: 'absent' });
      const all = Promise.all(
        Array.from({ length: 5 }, () => hosts.lookup('r.test', signal(), h.api, h.tag)),
      );
      await flush();
      expect(h.calls.api).toBe(1);
      h.releaseAll();
      expect(await all).toEqual(Array.from({ length: 5 }, () => [ART]));
      expect(h.calls).toEqual({ api: 1, tag: 5 });
      expect(hosts.known('r.test')).toBe(false);
    });

    it('forgets it after the TTL (injectable clock)', async () => {
      let now = 0;
      const hosts = new ReferrersApiHosts({ ttlMs: 1_000, now: () => now });
      const h = host({ kind: 'absent' });
      const first = hosts.lookup('r.test', signal(), h.api, h.tag);
      h.releaseAll();
      await first;
      now = 999;
      expect(hosts.known('r.test')).toBe(false);
      now = 1_001;
      expect(hosts.known('r.test')).toBeUndefined();
    });
  });

  describe('when the host answers with an index', () => {
    it('remembers that it has the API; waiters then ask the API themselves, never the tag', async () => {
      const hosts = new ReferrersApiHosts();
      const h = host({ kind: 'found', descriptors: [ART] });
      const all = Promise.all(
        Array.from({ length: 3 }, () => hosts.lookup('r.test', signal(), h.api, h.tag)),
      );
      await flush();
      expect(h.calls.api).toBe(1);
      h.releaseAll();
      await flush();
      expect(h.calls.api).toBe(3);
      h.releaseAll();
      expect(await all).toEqual([[ART], [ART], [ART]]);
      expect(h.calls.tag).toBe(0);
      expect(hosts.known('r.test')).toBe(true);
    });
  });

  describe('when the answer teaches nothing', () => {
    it('reads the tag for a 200 that is not an index, and remembers nothing', async () => {
      const hosts = new ReferrersApiHosts();
      const h = host({ kind: 'unsure' });
      const one = hosts.lookup('r.test', signal(), h.api, h.tag);
      h.releaseAll();
      expect(await one).toEqual([ART]);
      expect(hosts.known('r.test')).toBeUndefined();
    });

    it('stops a waiter whose signal aborts, without failing the probe', async () => {
      const hosts = new ReferrersApiHosts();
      const h = host({ kind: 'absent' });
      const probe = hosts.lookup('r.test', signal(), h.api, h.tag);
      const controller = new AbortController();
      const waiter = hosts.lookup('r.test', controller.signal, h.api, h.tag);
      controller.abort();
      await expect(waiter).rejects.toThrowWithCode('TIMEOUT');
      h.releaseAll();
      expect(await probe).toEqual([ART]);
    });
  });
});
