import { describe, expect, it } from 'vitest';
import { parseChallenge, parseTokenResponse } from '../../../src/registry/auth.js';
import { SingleFlight } from '../../../src/registry/cache.js';
import { ByteLru, TtlCache } from '../../../src/shared/cache.js';
import { createRegistry } from '../../../src/registry/client.js';
import { parseLayoutReference } from '../../../src/registry/layout.js';
import { openImage } from '../../../src/registry/open.js';
import { isAttestation, matchesPlatform } from '../../../src/registry/resolve.js';

describe('parseChallenge', () => {
  it('reads bearer realm, service and a scope with commas', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.io/token",service="reg.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.io/token',
      service: 'reg.io',
      scope: 'repository:a/b:pull,push',
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      realm: 'Registry Realm',
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe('parseTokenResponse', () => {
  it('accepts token or access_token and reuses it until shortly before expiry', () => {
    expect(parseTokenResponse('{"token":"t","expires_in":300}')).toEqual({ token: 't', ttlMs: 290_000 });
    expect(parseTokenResponse('{"access_token":"a"}')).toEqual({ token: 'a', ttlMs: 54_000 });
    expect(parseTokenResponse('{"token":""}')).toBeUndefined();
    expect(parseTokenResponse('nope')).toBeUndefined();
  });
});

describe('ByteLru', () => {
  it('evicts least recently used entries past the byte bound and skips huge entries', () => {
    const lru = new ByteLru<string>(100);
    lru.set('a', 'a', 20);
    lru.set('b', 'b', 20);
    lru.get('a');
    lru.set('c', 'c', 20);
    lru.set('d', 'd', 20);
    lru.set('e', 'e', 25);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe('a');
    expect(lru.bytes).toBeLessThanOrEqual(100);
    lru.set('huge', 'h', 60);
    expect(lru.get('huge')).toBeUndefined();
  });

  it('expires an entry after its TTL (none by default) and frees its bytes', () => {
    let now = 0;
    const lru = new ByteLru<string>(100, () => now);
    lru.set('forever', 'f', 10);
    lru.set('brief', 'b', 10, 1000);
    lru.set('never', 'n', 10, 0);
    now = 999;
    expect(lru.get('brief')).toBe('b');
    now = 1000;
    expect([lru.get('brief'), lru.get('forever'), lru.get('never')]).toEqual([undefined, 'f', undefined]);
    expect([lru.size, lru.bytes]).toEqual([1, 10]);
    lru.clear();
    expect([lru.size, lru.bytes]).toEqual([0, 0]);
  });
});

describe('TtlCache', () => {
  it('expires entries after their TTL', () => {
    let now = 0;
    const c = new TtlCache<string>(10, () => now);
    c.set('k', 'v', 30_000);
    now = 29_999;
    expect(c.get('k')).toBe('v');
    now = 30_000;
    expect(c.get('k')).toBeUndefined();
  });

  it('evicts the oldest write by default, the least recently used with evict: use', () => {
    const byWrite = new TtlCache<number>(2, () => 0);
    const byUse = new TtlCache<number>(2, () => 0, { evict: 'use' });
    for (const c of [byWrite, byUse]) {
      c.set('a', 1, 1000);
      c.set('b', 2, 1000);
      c.get('a');
      c.set('c', 3, 1000);
    }
    expect([byWrite.get('a'), byWrite.get('b')]).toEqual([undefined, 2]);
    expect([byUse.get('a'), byUse.get('b')]).toEqual([1, undefined]);
  });
});

describe('SingleFlight', () => {
  it('shares one call between concurrent callers and forgets it afterwards', async () => {
    const sf = new SingleFlight();
    let calls = 0;
    const fn = async (): Promise<number> => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
      return 42;
    };
    const s = AbortSignal.timeout(1000);
    expect(await Promise.all([sf.do('k', s, fn), sf.do('k', s, fn), sf.do('k', s, fn)])).toEqual([
      42, 42, 42,
    ]);
    expect(calls).toBe(1);
    expect(sf.inFlight).toBe(0);
    await sf.do('k', s, fn);
    expect(calls).toBe(2);
  });

  it('aborts the shared call only when every caller gave up', async () => {
    const sf = new SingleFlight();
    let sharedSignal: AbortSignal | undefined;
    const fn = (signal: AbortSignal): Promise<never> => {
      sharedSignal = signal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = sf.do('k', a.signal, fn);
    const pb = sf.do('k', b.signal, fn);
    a.abort();
    await expect(pa).rejects.toThrowWithCode('TIMEOUT');
    expect(sharedSignal?.aborted).toBe(false);
    b.abort();
    await expect(pb).rejects.toThrowWithCode('TIMEOUT');
    expect(sharedSignal?.aborted).toBe(true);
    expect(sf.inFlight).toBe(0);
  });

  it('starts nothing for a caller that already gave up, and lets a later caller start afresh', async () => {
    const sf = new SingleFlight();
    let calls = 0;
    const fn = (): Promise<number> => Promise.resolve(++calls);
    const gone = AbortSignal.abort(new Error('gone'));
    await expect(sf.do('k', gone, fn)).rejects.toThrow('gone');
    expect(calls).toBe(0);
    expect(await sf.do('k', new AbortController().signal, fn)).toBe(1);
  });

  it("leaves no listener on a caller's signal once its fetch settled", async () => {
    const sf = new SingleFlight();
    const caller = new AbortController();
    let listeners = 0;
    const add = caller.signal.addEventListener.bind(caller.signal);
    const remove = caller.signal.removeEventListener.bind(caller.signal);
    caller.signal.addEventListener = (...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    };
    caller.signal.removeEventListener = (...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    };
    await sf.do('a', caller.signal, () => Promise.resolve(1));
    await expect(sf.do('b', caller.signal, () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(listeners).toBe(0);
  });
});

describe('parseLayoutReference', () => {
  it('reads path, tag and digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseLayoutReference('oci:./out:v1').reference).toMatchObject({ repository: './out', tag: 'v1' });
    expect(parseLayoutReference(`oci:/tmp/x@${d}`)).toMatchObject({
      path: '/tmp/x',
      reference: { digest: d },
    });
    expect(parseLayoutReference('oci:/tmp/x')).toMatchObject({ path: '/tmp/x' });
    expect(parseLayoutReference('oci:/tmp/x').reference.tag).toBeUndefined();
    expect(() => parseLayoutReference('oci:')).toThrow(/empty layout path/);
    expect(() => parseLayoutReference('oci:/x@sha256:zz')).toThrow(/not a digest/);
    expect(() => parseLayoutReference('docker://x')).toThrow(/oci:/);
  });
});

describe('platform selection', () => {
  it('matches older variants a node falls back to and recognises attestation entries by platform', () => {
    expect(matchesPlatform('linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    // an arm/v7 node runs arm/v6 images when no v7 is listed: that entry is one it could select
    expect(matchesPlatform('linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(true);
    expect(matchesPlatform('linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(false);
    expect(
      isAttestation({
        mediaType: 'x',
        digest: 'd',
        size: 1,
        platform: { os: 'unknown', architecture: 'unknown' },
      }),
    ).toBe(true);
    expect(
      isAttestation({
        mediaType: 'x',
        digest: 'd',
        size: 1,
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    ).toBe(false); // no platform: a node picks it by its config, so it is checked (BuildKit writes unknown/unknown)
    expect(
      isAttestation({
        mediaType: 'x',
        digest: 'd',
        size: 1,
        platform: { os: 'linux', architecture: 'amd64' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    ).toBe(false); // a node selects by platform, whatever the annotation says
  });
});

describe('openImage', () => {
  it('routes oci: references to the layout and others to the registry, fetching nothing', async () => {
    const registry = createRegistry({ allow: [] });
    const local = openImage('oci:/tmp/layout:v1', registry);
    expect(local.reference).toMatchObject({ registry: 'oci-layout', repository: '/tmp/layout', tag: 'v1' });
    const remote = openImage('ghcr.io/team/app:1', registry);
    expect(remote.reference).toMatchObject({ registry: 'ghcr.io', repository: 'team/app', tag: '1' });
    await expect(remote.access.resolve(remote.reference, AbortSignal.timeout(1000))).rejects.toThrowWithCode(
      'REGISTRY_NOT_ALLOWED',
    );
    expect(() => openImage('Bad Ref', registry)).toThrow(/invalid image reference/);
    await registry.close();
  });
});
