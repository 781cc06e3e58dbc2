import { describe, expect, it } from 'vitest';
import { EvidenceCache } from '../../../../src/checks/attestations/index.js';
import type { AttestationEvidence } from '../../../../src/checks/attestations/types.js';
import type { VerifiedItem } from '../../../../src/checks/signature/index.js';

const item: VerifiedItem = {
  kind: 'attestation',
  authority: 'ci',
  digest: 'sha256:aa',
  source: 'referrer sha256:bb',
  format: 'sigstore-bundle',
  signer: {},
  tlogEntries: 1,
  predicateType: 'https://spdx.dev/Document',
};
const evidence = (verified: VerifiedItem[]): AttestationEvidence => ({
  top: {
    digest: 'sha256:aa',
    found: verified.length,
    verified,
    otherTypes: [],
    rejections: [],
    tooLarge: [],
  },
  platforms: [],
});

describe('EvidenceCache', () => {
  describe("when a statement was verified with a key service's key", () => {
    it('keeps the evidence no longer than the key is fresh', () => {
      let now = 0;
      const cache = new EvidenceCache({ ttlMs: 5 * 60_000, now: () => now });
      cache.set('k', { evidence: evidence([item, { ...item, keyFreshUntil: 30_000 }]), bytes: 10 });
      now = 29_999;
      expect(cache.get('k')).toBeDefined();
      now = 30_000;
      expect(cache.get('k')).toBeUndefined();
      cache.set('stale', { evidence: evidence([{ ...item, keyFreshUntil: 30_000 }]), bytes: 10 });
      expect(cache.get('stale')).toBeUndefined();
    });
  });

  describe('when the evidence holds verified statements', () => {
    it('returns it until the TTL ends', () => {
      let now = 0;
      const cache = new EvidenceCache({ ttlMs: 1000, now: () => now });
      cache.set('k', { evidence: evidence([item]), bytes: 10 });
      expect(cache.get('k')?.top.verified).toHaveLength(1);
      now = 1000;
      expect(cache.get('k')).toBeUndefined();
      expect(cache.bytes).toBe(0);
    });
  });

  describe('when nothing verified', () => {
    it('never stores it, so the next review looks again', () => {
      const cache = new EvidenceCache();
      cache.set('k', { evidence: evidence([]), bytes: 0 });
      expect(cache.size).toBe(0);
    });
  });

  describe('when payloads exceed the byte budget', () => {
    it('evicts the least recently used and refuses entries over a quarter of the budget', () => {
      const cache = new EvidenceCache({ maxBytes: 100 });
      cache.set('big', { evidence: evidence([item]), bytes: 26 });
      expect(cache.size).toBe(0);
      for (const k of ['a', 'b', 'c', 'd']) cache.set(k, { evidence: evidence([item]), bytes: 25 });
      cache.get('a');
      cache.set('e', { evidence: evidence([item]), bytes: 25 });
      expect(cache.get('b')).toBeUndefined();
      expect(cache.get('a')).toBeDefined();
      expect(cache.bytes).toBe(100);
    });
  });

  describe('when identical verifications run concurrently', () => {
    it('runs one and shares its result', async () => {
      const cache = new EvidenceCache();
      let runs = 0;
      const verify = async () => {
        runs += 1;
        await new Promise((r) => setTimeout(r, 5));
        return { evidence: evidence([item]), bytes: 1 };
      };
      const signal = AbortSignal.timeout(5000);
      const [a, b] = await Promise.all([
        cache.verify('k', signal, verify),
        cache.verify('k', signal, verify),
      ]);
      expect(runs).toBe(1);
      expect(a).toBe(b);
      await cache.verify('k', signal, verify);
      expect(runs).toBe(1);
    });
  });
});
