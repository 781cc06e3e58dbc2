import { describe, expect, it } from 'vitest';
import {
  CloudCredentials,
  CloudTokenCache,
  credentialChain,
  Keyring,
  type CloudToken,
  type CloudTokenSource,
  type Credential,
} from '../../../src/registry/credentials/index.js';

const HOUR = 3600_000;

/** A token source whose answers the test releases one by one; counts every fetch it is asked for. */
class ScriptedSource implements CloudTokenSource {
  readonly name = 'test-cloud';
  fetches = 0;
  aborted = 0;
  #pending: Array<{ resolve: (t: CloudToken) => void; reject: (e: Error) => void }> = [];
  /** Answer at once with this (a function of the fetch count), unless undefined: then wait for `release`. */
  auto: ((n: number) => CloudToken | Error) | undefined;

  constructor(
    readonly clock: { now: number },
    readonly pattern = /\.cloud\.test$/,
  ) {}

  matches(registry: string): boolean {
    return this.pattern.test(registry);
  }
  identity(): string {
    return 'role test-role';
  }
  remedy(): string {
    return 'bind test-role to the service account';
  }
  fetch(_registry: string, signal: AbortSignal): Promise<CloudToken> {
    this.fetches++;
    const answer = this.auto?.(this.fetches);
    if (answer instanceof Error) return Promise.reject(answer);
    if (answer !== undefined) return Promise.resolve(answer);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.#pending.push(waiter);
      signal.addEventListener('abort', () => {
        this.aborted++;
        this.#pending = this.#pending.filter((w) => w !== waiter);
        reject(new Error('aborted'));
      });
    });
  }
  release(password: string, lifetimeMs = 12 * HOUR): void {
    this.#pending.shift()?.resolve(token(password, this.clock.now + lifetimeMs));
  }
  fail(message: string): void {
    this.#pending.shift()?.reject(new Error(message));
  }
  get waiting(): number {
    return this.#pending.length;
  }
}

function token(password: string, expiresAt: number): CloudToken {
  return { credential: { kind: 'basic', username: 'AWS', password }, expiresAt };
}

function rig(options: { maxEntries?: number } = {}): {
  clock: { now: number };
  source: ScriptedSource;
  cache: CloudTokenCache;
  fetched: string[];
} {
  const clock = { now: 1_000_000 };
  const fetched: string[] = [];
  const cache = new CloudTokenCache({
    now: () => clock.now,
    hooks: { onFetch: (provider, result) => fetched.push(`${provider}:${result}`) },
    ...options,
  });
  return { clock, source: new ScriptedSource(clock), cache, fetched };
}

const password = (c: Credential): string => (c.kind === 'basic' ? c.password : c.token);
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CloudTokenCache', () => {
  it('shares one fetch among 200 concurrent reviews and serves the token from memory after', async () => {
    const { source, cache, fetched } = rig();
    const all = Array.from({ length: 200 }, () => cache.get(source, 'a.cloud.test'));
    await flush();
    source.release('t1');
    expect((await Promise.all(all)).map(password)).toEqual(Array(200).fill('t1'));
    expect(password(await cache.get(source, 'a.cloud.test'))).toBe('t1');
    expect(source.fetches).toBe(1);
    expect(fetched).toEqual(['test-cloud:ok']);
  });

  it('keeps one token per registry: another registry of the same provider is fetched for itself', async () => {
    const { source, cache } = rig();
    source.auto = (n) => token(`t${n}`, Date.now() + HOUR);
    expect(password(await cache.get(source, 'a.cloud.test'))).toBe('t1');
    expect(password(await cache.get(source, 'b.cloud.test'))).toBe('t2');
    expect(source.fetches).toBe(2);
  });

  describe('when a token nears its expiry', () => {
    it('refreshes it in the background while reviews go on with the current one', async () => {
      const { clock, source, cache } = rig();
      source.auto = (n) => token(`t${n}`, clock.now + 12 * HOUR);
      await cache.get(source, 'a.cloud.test');
      clock.now += 12 * HOUR - 4 * 60_000; // inside the 5-minute refresh window
      source.auto = undefined;
      const during = await Promise.all(Array.from({ length: 50 }, () => cache.get(source, 'a.cloud.test')));
      expect(during.map(password)).toEqual(Array(50).fill('t1'));
      expect(source.fetches).toBe(2); // one background refresh for all 50
      source.release('t2');
      await flush();
      expect(password(await cache.get(source, 'a.cloud.test'))).toBe('t2');
      expect(source.fetches).toBe(2);
    });

    it('over a day of reviews every minute, fetches about once per validity period', async () => {
      const { clock, source, cache } = rig();
      source.auto = () => token('t', clock.now + 12 * HOUR);
      for (let minute = 0; minute < 24 * 60; minute++) {
        await Promise.all(Array.from({ length: 5 }, () => cache.get(source, 'a.cloud.test')));
        clock.now += 60_000;
      }
      expect(source.fetches).toBeGreaterThanOrEqual(2);
      expect(source.fetches).toBeLessThanOrEqual(3);
    });
  });

  describe('when the provider fails', () => {
    it('serves the last token while it is still valid (stale-on-error), then CREDENTIALS_UNAVAILABLE', async () => {
      const { clock, source, cache, fetched } = rig();
      source.auto = (n) => (n === 1 ? token('t1', clock.now + HOUR) : new Error('metadata server down'));
      await cache.get(source, 'a.cloud.test');
      clock.now += HOUR - 4 * 60_000;
      expect(password(await cache.get(source, 'a.cloud.test'))).toBe('t1'); // starts the refresh, which fails
      await flush();
      expect(password(await cache.get(source, 'a.cloud.test'))).toBe('t1');
      clock.now += 4 * 60_000 - 20_000; // past expiry minus its last 30 s: no longer handed out
      await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        indeterminate: true,
      });
      expect(fetched.filter((f) => f.endsWith(':error')).length).toBeGreaterThanOrEqual(1);
    });

    it('names the provider, the identity tried, the cause and the fix', async () => {
      const { source, cache } = rig();
      source.auto = () => new Error('AccessDenied: not authorized to perform sts:AssumeRoleWithWebIdentity');
      await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringMatching(
          /^test-cloud could not get a token for a\.cloud\.test as role test-role: AccessDenied.*Fix: bind test-role/,
        ) as unknown,
      });
    });

    it('backs off: reviews during the backoff do not call the provider, and the backoff doubles', async () => {
      const { clock, source, cache } = rig();
      source.auto = () => new Error('down');
      await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      for (let i = 0; i < 100; i++)
        await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
          message: expect.stringMatching(/down \(next attempt in 1 s\)/) as unknown,
        });
      expect(source.fetches).toBe(1);
      clock.now += 1000;
      await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      expect(source.fetches).toBe(2);
      clock.now += 1000; // the second backoff is 2 s
      await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      expect(source.fetches).toBe(2);
      clock.now += 1000;
      source.auto = () => token('back', clock.now + HOUR);
      expect(password(await cache.get(source, 'a.cloud.test'))).toBe('back');
      expect(source.fetches).toBe(3);
    });
  });

  describe("when a review's deadline passes during a fetch", () => {
    it('that review gets CREDENTIALS_UNAVAILABLE at once; the others still get the token', async () => {
      const { source, cache, fetched } = rig();
      const short = new AbortController();
      const hurried = cache.get(source, 'a.cloud.test', short.signal);
      const patient = cache.get(source, 'a.cloud.test', new AbortController().signal);
      await flush();
      short.abort();
      await expect(hurried).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', {
        message: expect.stringMatching(/deadline was reached/) as unknown,
      });
      source.release('t1');
      expect(password(await patient)).toBe('t1');
      expect(source.fetches).toBe(1);
      expect(fetched).toEqual(['test-cloud:ok']);
    });

    it('a fetch every waiter gave up on is aborted and counts as no failure (no backoff)', async () => {
      const { source, cache, fetched } = rig();
      const only = new AbortController();
      const p = cache.get(source, 'a.cloud.test', only.signal);
      await flush();
      only.abort();
      await expect(p).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
      await flush();
      expect(source.aborted).toBe(1);
      expect(fetched).toEqual([]);
      const next = cache.get(source, 'a.cloud.test'); // no backoff: a new fetch starts
      await flush();
      source.release('t2');
      expect(password(await next)).toBe('t2');
    });
  });

  it('holds at most maxEntries registries (a pod naming many hosts cannot grow it)', async () => {
    const { source, cache } = rig({ maxEntries: 4 });
    source.auto = (n) => token(`t${n}`, Date.now() + HOUR);
    for (let i = 0; i < 20; i++) await cache.get(source, `r${i}.cloud.test`);
    expect(cache.status([source])[0]?.tokens).toBe(4);
    await cache.get(source, 'r0.cloud.test');
    expect(source.fetches).toBe(21); // r0 was evicted
  });

  it('reports per provider: usable tokens, the oldest age, and a failure newer than any success', async () => {
    const { clock, source, cache } = rig();
    expect(cache.status([source])).toEqual([
      {
        provider: 'test-cloud',
        identity: 'role test-role',
        tokens: 0,
        oldestTokenAgeSeconds: undefined,
        lastError: undefined,
        fix: undefined,
      },
    ]);
    source.auto = () => new Error('no route to metadata server');
    await expect(cache.get(source, 'a.cloud.test')).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE');
    expect(cache.status([source])[0]).toMatchObject({
      tokens: 0,
      lastError: 'a.cloud.test: no route to metadata server',
      fix: 'bind test-role to the service account',
    });
    source.auto = () => token('t', clock.now + HOUR);
    await cache.get(source, 'b.cloud.test');
    clock.now += 90_000;
    expect(cache.status([source])[0]).toMatchObject({
      tokens: 1,
      oldestTokenAgeSeconds: 90,
      lastError: undefined,
    });
  });
});

describe('CloudCredentials in the chain', () => {
  const clock = { now: Date.now() };
  const source = new ScriptedSource(clock);
  source.auto = (n) => token(`cloud${n}`, Date.now() + HOUR);

  it('answers only for the hosts its pattern matches, and only allowed ones', async () => {
    const cloud = new CloudCredentials([source], new CloudTokenCache(), (r) => r !== 'denied.cloud.test');
    expect(await cloud.credentialsFor({ registry: 'ghcr.io', repository: 'x' })).toBeUndefined();
    expect(await cloud.credentialsFor({ registry: 'denied.cloud.test', repository: 'x' })).toBeUndefined();
    expect(await cloud.credentialsFor({ registry: 'A.Cloud.Test', repository: 'x' })).toMatchObject({
      username: 'AWS',
    });
  });

  it('comes after pull secrets, configured credentials and the Docker config', async () => {
    const cloud = new CloudCredentials([source], new CloudTokenCache());
    const chain = credentialChain({
      registryConfig: new Keyring([['config.cloud.test', { kind: 'basic', username: 'cfg', password: 'p' }]]),
      dockerConfig: new Keyring([['docker.cloud.test', { kind: 'basic', username: 'dock', password: 'p' }]]),
      cloud,
    });
    const user = async (registry: string): Promise<string | undefined> => {
      const c = await chain.credentialsFor({ registry, repository: 'x' });
      return c?.kind === 'basic' ? c.username : undefined;
    };
    expect(await user('config.cloud.test')).toBe('cfg');
    expect(await user('docker.cloud.test')).toBe('dock');
    expect(await user('other.cloud.test')).toBe('AWS');
  });

  it('never falls back to anonymous when the matching provider fails', async () => {
    const failing = new ScriptedSource(clock);
    failing.auto = () => new Error('no identity');
    const chain = credentialChain({ cloud: new CloudCredentials([failing], new CloudTokenCache()) });
    await expect(chain.credentialsFor({ registry: 'a.cloud.test', repository: 'x' })).rejects.toThrowWithCode(
      'CREDENTIALS_UNAVAILABLE',
    );
  });
});
