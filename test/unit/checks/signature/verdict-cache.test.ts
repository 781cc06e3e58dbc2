import { describe, expect, it } from 'vitest';
import {
  compileSignatureVerifier,
  VerdictCache,
  type SignatureVerdict,
} from '../../../../src/checks/signature/index.js';
import type { TrustedRootStore } from '../../../../src/checks/signature/trusted-roots.js';
import type { SignatureSpec } from '../../../../src/checks/signature/schema.js';
import { checkCompilers } from '../../../../src/checks/kinds.js';
import { evaluateImages } from '../../../../src/evaluate/evaluate.js';
import { OutcomeReuse } from '../../../../src/evaluate/reused-outcomes.js';
import { compilePolicies } from '../../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../../src/policy/load.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { MemoryRegistry } from '../../../helpers/memory-registry.js';
import { signal } from '../../../helpers/signature-setup.js';
import { keyPair, simpleSigningPayload } from '../../../helpers/test-sigstore.js';
import { ociImageManifest } from '../../../helpers/oci-manifest.js';

const verdict = (passed: boolean, digest = 'sha256:aa'): SignatureVerdict => ({
  passed,
  code: passed ? 'OK' : 'NO_SIGNATURES',
  message: digest,
  signatures: [],
  attestations: [],
  digests: [{ digest, found: 0, verified: [], rejections: [] }],
});

describe('VerdictCache', () => {
  describe('when verdicts pass', () => {
    it('returns them until the TTL ends, without the per-digest details', () => {
      let now = 0;
      const cache = new VerdictCache({ ttlMs: 1000, now: () => now });
      cache.set('k', verdict(true));
      expect(cache.get('k')).toMatchObject({ passed: true, digests: [] });
      now = 1000;
      expect(cache.get('k')).toBeUndefined();
      expect(cache.size).toBe(0);
    });
  });

  describe("when a verdict rests on a key service's key", () => {
    const signedWith = (keyFreshUntil: number | undefined): SignatureVerdict => ({
      ...verdict(true),
      signatures: [
        {
          kind: 'signature',
          authority: 'kms',
          digest: 'sha256:aa',
          source: 'tag',
          format: 'cosign-legacy',
          signer: { keyId: 'SHA256:x' },
          tlogEntries: 0,
          ...(keyFreshUntil !== undefined ? { keyFreshUntil } : {}),
        },
      ],
    });

    it('keeps it no longer than the key is fresh, even when its TTL is longer', () => {
      let now = 0;
      const cache = new VerdictCache({ ttlMs: 5 * 60_000, now: () => now });
      cache.set('k', signedWith(60_000));
      const stored = cache.get('k')!;
      now = 59_999;
      expect(cache.holds(stored)).toBe(true);
      now = 60_000;
      expect(cache.get('k')).toBeUndefined();
      expect(cache.holds(stored)).toBe(false);
    });

    it('does not keep it at all when the key was already past its freshness (stale keys of an outage)', () => {
      const cache = new VerdictCache({ ttlMs: 5 * 60_000, now: () => 10_000 });
      cache.set('k', signedWith(10_000));
      expect(cache.get('k')).toBeUndefined();
      cache.set('k', signedWith(undefined)); // a pem or Secret key: the TTL alone
      expect(cache.get('k')).toBeDefined();
    });
  });

  describe('when asked whether it still holds a verdict (reused findings rest on this)', () => {
    it('holds the stored object until the TTL ends, eviction or clear, and nothing else', () => {
      let now = 0;
      const cache = new VerdictCache({ ttlMs: 1000, maxEntries: 1, now: () => now });
      const fresh = verdict(true);
      cache.set('k', fresh);
      const stored = cache.get('k')!;
      expect(cache.holds(stored)).toBe(true);
      expect(cache.holds(fresh)).toBe(false); // a fresh verification's own object is not what is stored
      expect(cache.holds({ ...stored })).toBe(false);
      now = 1000;
      expect(cache.holds(stored)).toBe(false);

      cache.set('k', verdict(true));
      const second = cache.get('k')!;
      cache.set('other', verdict(true)); // maxEntries 1: evicts k
      expect(cache.holds(second)).toBe(false);
      const third = cache.get('other')!;
      cache.clear();
      expect(cache.holds(third)).toBe(false);
    });
  });

  describe('when verdicts fail', () => {
    it('never stores them', () => {
      const cache = new VerdictCache();
      cache.set('k', verdict(false));
      expect(cache.get('k')).toBeUndefined();
    });
  });

  describe('when inserting twice its maximum', () => {
    it('keeps at most maxEntries, the most recently used', () => {
      const cache = new VerdictCache({ maxEntries: 100 });
      for (let i = 0; i < 200; i++) {
        cache.set(`k${i}`, verdict(true));
        if (i >= 1) cache.get('k0');
      }
      expect(cache.size).toBe(100);
      expect(cache.get('k0')).toBeDefined();
      expect(cache.get('k1')).toBeUndefined();
      expect(cache.get('k199')).toBeDefined();
    });
  });

  describe('when the same key is verified concurrently', () => {
    it('runs the verification once', async () => {
      const cache = new VerdictCache();
      let runs = 0;
      const run = async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 10));
        return verdict(true);
      };
      const all = await Promise.all(Array.from({ length: 50 }, () => cache.verify('k', signal(), run)));
      expect(all.every((v) => v.passed)).toBe(true);
      expect(runs).toBe(1);
      await cache.verify('k', signal(), run);
      expect(runs).toBe(1);
    });
  });
});

describe('compileSignatureVerifier with a VerdictCache', () => {
  const repo = 'registry.imagegate.test/app';
  const roots = { has: () => true, ready: () => undefined } as unknown as TrustedRootStore;

  async function signedImage(reg: MemoryRegistry, k: ReturnType<typeof keyPair>): Promise<string> {
    const digest = reg.putManifest(repo, ociImageManifest({ digest: `sha256:${'0'.repeat(64)}`, size: 2 }));
    const payload = simpleSigningPayload(repo, digest);
    await pushLegacySignatures(
      {
        putBlob: async (_r, b) => void reg.putBlob(b),
        putManifest: async (r, b, t) => reg.putManifest(r, b, t),
      },
      repo,
      digest,
      [
        {
          payload,
          annotations: { 'dev.cosignproject.cosign/signature': k.sign(payload).toString('base64') },
        },
      ],
    );
    return digest;
  }

  function counting(reg: MemoryRegistry): { access: MemoryRegistry; calls: () => number } {
    let calls = 0;
    const access = new Proxy(reg, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { access, calls: () => calls };
  }

  it('verifies a signed digest once, then answers from the cache', async () => {
    const k = keyPair('ec-p256');
    const reg = new MemoryRegistry();
    const digest = await signedImage(reg, k);
    const { access, calls } = counting(reg);
    const spec: SignatureSpec = { authorities: [{ name: 'release', key: { pem: k.publicPem } }] };
    const cache = new VerdictCache();
    const v = compileSignatureVerifier(spec, 'p', { trustedRoots: roots, cache });
    const ref = parseReference(`${repo}@${digest}`);
    expect((await v.verify(access, ref, digest, signal())).code).toBe('OK');
    const first = calls();
    expect(first).toBeGreaterThan(0);
    expect((await v.verify(access, ref, digest, signal())).code).toBe('OK');
    expect(calls()).toBe(first);
    expect(cache.size).toBe(1);
  });

  it('gives a reusable finding once the cache holds the verdict; the evaluator then skips the check', async () => {
    const k = keyPair('ec-p256');
    const reg = new MemoryRegistry();
    const digest = await signedImage(reg, k);
    const { access, calls } = counting(reg);
    let now = 0;
    const cache = new VerdictCache({ ttlMs: 60_000, now: () => now });
    const set = compilePolicies(
      parsePolicyYaml(
        `apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: signed }
spec:
  images: [{ glob: "registry.imagegate.test/**" }]
  signature:
    authorities: [{ name: release, key: { pem: ${JSON.stringify(k.publicPem)} } }]
`,
        'p.yaml',
      ),
      checkCompilers({ trustedRoots: roots, cache }),
    );
    const settings = { unmatched: 'allow', reuse: new OutcomeReuse() } as const; // one engine's
    const review = () =>
      evaluateImages([`${repo}@${digest}`], set, settings, {
        namespace: 'team',
        signal: signal(),
        registry: access,
      });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await review();
      expect(v.allowed).toBe(true);
      counts.push(calls());
    }
    // 1st: verified (a fresh verdict: not reusable); 2nd: the cache's verdict (reusable); 3rd: reused
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(counts[0]!); // the manifest, read again by the check's run
    expect(counts[2]).toBe(counts[1]);
    now = 60_000; // the verdict expired: verified again, from the registry
    expect((await review()).allowed).toBe(true);
    expect(calls()).toBeGreaterThan(counts[2]!);
  });

  it('does not share entries between different authorities and never caches a denial', async () => {
    const k = keyPair('ec-p256');
    const other = keyPair('ec-p256');
    const reg = new MemoryRegistry();
    const digest = await signedImage(reg, k);
    const cache = new VerdictCache();
    const ref = parseReference(`${repo}@${digest}`);
    const good = compileSignatureVerifier({ authorities: [{ key: { pem: k.publicPem } }] }, 'p', {
      trustedRoots: roots,
      cache,
    });
    const wrong = compileSignatureVerifier({ authorities: [{ key: { pem: other.publicPem } }] }, 'p', {
      trustedRoots: roots,
      cache,
    });
    expect((await good.verify(reg, ref, digest, signal())).passed).toBe(true);
    expect((await wrong.verify(reg, ref, digest, signal())).passed).toBe(false);
    expect(cache.size).toBe(1);
  });
  describe('when an index is signed only through its platform manifests', () => {
    it('verifies the index digest on its own once, then answers from the cache with no lookups', async () => {
      const k = keyPair('ec-p256');
      const reg = new MemoryRegistry();
      const platform = await signedImage(reg, k);
      const index = reg.putManifest(
        repo,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: platform,
              size: 1,
              platform: { os: 'linux', architecture: 'amd64' },
            },
          ],
        }),
      );
      const { access, calls } = counting(reg);
      const cache = new VerdictCache();
      const v = compileSignatureVerifier({ authorities: [{ key: { pem: k.publicPem } }] }, 'p', {
        trustedRoots: roots,
        cache,
      });
      const ref = parseReference(`${repo}@${index}`);
      const own = v.verifyOwn(access, ref, index, signal());
      expect((await own)?.passed).toBe(false);
      const verdict = await v.verify(access, ref, index, signal(), [platform], own);
      expect(verdict.code, verdict.message).toBe('OK');
      const first = calls();
      // Known now: nothing to start early for this digest, and the platform verdict is cached.
      expect(v.verifyOwn(access, ref, index, signal())).toBeUndefined();
      expect((await v.verify(access, ref, index, signal(), [platform])).code).toBe('OK');
      expect(calls()).toBe(first);
      expect(cache.size).toBe(1);
    });
  });
});
