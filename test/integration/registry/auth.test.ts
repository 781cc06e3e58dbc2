import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { Keyring } from '../../../src/registry/credentials/index.js';
import { parseReference } from '../../../src/registry/reference.js';
import { fetchToken, htpasswdLine, startTokenServer, type TokenServer } from '../../helpers/auth-servers.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';

const signal = (): AbortSignal => AbortSignal.timeout(10_000);
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('registry auth', () => {
  describe('with basic auth (htpasswd)', () => {
    let reg: TestRegistry;
    let img: BuiltImage;
    beforeAll(async () => {
      reg = await startRegistry({ htpasswd: htpasswdLine('alice', 's3cret') });
      img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'x' } }] });
      await pushImage(reg.url, 'private/app', 'v1', img, { authorization: basic('alice', 's3cret') });
    });
    afterAll(() => reg?.stop());

    it('reads the image with the configured credentials', async () => {
      const client = createRegistry({
        registries: { [reg.host]: { insecure: true } },
        credentials: new Keyring([[reg.host, { kind: 'basic', username: 'alice', password: 's3cret' }]]),
      });
      const resolved = await client.access().resolve(parseReference(`${reg.host}/private/app:v1`), signal());
      expect(resolved.digest).toBe(img.manifest.digest);
      await client.close();
    });

    it('uses per-request pull-secret credentials', async () => {
      const client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
      const creds = new Keyring([
        [`${reg.host}/private`, { kind: 'basic', username: 'alice', password: 's3cret' }],
      ]);
      const resolved = await client
        .access({ credentials: creds })
        .resolve(parseReference(`${reg.host}/private/app:v1`), signal());
      expect(resolved.digest).toBe(img.manifest.digest);
      await client.close();
    });

    it('fails with UNAUTHORIZED (a completed finding, not left to onError) without or with wrong credentials', async () => {
      const ref = parseReference(`${reg.host}/private/app:v1`);
      const anon = createRegistry({ registries: { [reg.host]: { insecure: true } } });
      await expect(anon.access().resolve(ref, signal())).rejects.toThrowWithCode('UNAUTHORIZED', {
        indeterminate: false,
        message: expect.stringContaining('give imagegate credentials for this registry'),
      });
      const wrong = createRegistry({
        registries: { [reg.host]: { insecure: true } },
        credentials: new Keyring([[reg.host, { kind: 'basic', username: 'alice', password: 'nope' }]]),
      });
      await expect(wrong.access().resolve(ref, signal())).rejects.toThrowWithCode('UNAUTHORIZED');
      await Promise.all([anon.close(), wrong.close()]);
    });
  });

  describe('with bearer tokens', () => {
    let dir: string;
    let tokens: TokenServer;
    let reg: TestRegistry;
    let proxy: FaultProxy;
    let img: BuiltImage;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'imagegate-token-'));
      tokens = await startTokenServer({
        dir,
        users: { bob: 'hunter2' },
        refreshTokens: { 'refresh-abc': 'bob' },
      });
      reg = await startRegistry({ token: tokens });
      proxy = await startFaultProxy(reg.url);
      img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'tok' } }] });
      const token = await fetchToken(tokens, 'team/app', 'bob', 'hunter2');
      await pushImage(reg.url, 'team/app', 'v1', img, { authorization: `Bearer ${token}` });
    });
    afterAll(async () => {
      await proxy?.stop();
      await reg?.stop();
      await tokens?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('follows the challenge to the realm and reuses the token until it expires', async () => {
      const client = createRegistry({
        registries: { [proxy.host]: { insecure: true } },
        credentials: new Keyring([[proxy.host, { kind: 'basic', username: 'bob', password: 'hunter2' }]]),
      });
      tokens.requests.length = 0;
      const ref = parseReference(`${proxy.host}/team/app:v1`);
      const resolved = await client.access().resolve(ref, signal());
      expect(resolved.digest).toBe(img.manifest.digest);
      await resolved.platforms(['linux/amd64'], signal());
      expect(tokens.requests).toEqual([{ scope: 'repository:team/app:pull', account: 'bob' }]);
      // a new access reuses the token and, knowing the challenge, sends it at once (no 401 round trip)
      proxy.clear();
      await client.access().getBlob(ref, img.layers[0]!, 1 << 20, signal());
      expect(tokens.requests).toHaveLength(1);
      expect(proxy.log).toEqual([`GET /v2/team/app/blobs/${img.layers[0]!.digest}`]);
      await client.close();
    });

    it('fetches a new token once the old one expired', async () => {
      tokens.expiresIn = 1;
      let now = Date.now();
      const client = createRegistry({
        registries: { [proxy.host]: { insecure: true } },
        now: () => now,
        credentials: new Keyring([[proxy.host, { kind: 'basic', username: 'bob', password: 'hunter2' }]]),
      });
      tokens.requests.length = 0;
      const ref = parseReference(`${proxy.host}/team/app:v1`);
      await client.access().getManifest(ref, img.manifest.digest, signal());
      await client.access().getBlob(ref, img.layers[0]!, 1 << 20, signal());
      expect(tokens.requests).toHaveLength(1); // still valid: reused
      now += 1100; // past the token's 1 s lifetime
      await client.access().getBlob(ref, img.config, 1 << 20, signal());
      expect(tokens.requests).toHaveLength(2);
      tokens.expiresIn = 300;
      await client.close();
    });

    it('exchanges a Docker identitytoken (OAuth2 refresh token) for an access token', async () => {
      const client = createRegistry({
        registries: { [proxy.host]: { insecure: true } },
        credentials: new Keyring([[proxy.host, { kind: 'identityToken', token: 'refresh-abc' }]]),
      });
      tokens.requests.length = 0;
      const resolved = await client.access().resolve(parseReference(`${proxy.host}/team/app:v1`), signal());
      expect(resolved.digest).toBe(img.manifest.digest);
      expect(tokens.requests).toEqual([{ scope: 'repository:team/app:pull', account: 'bob' }]);
      await client.close();
    });

    it('fails with UNAUTHORIZED when the token server refuses the credentials', async () => {
      const client = createRegistry({
        registries: { [proxy.host]: { insecure: true } },
        credentials: new Keyring([[proxy.host, { kind: 'basic', username: 'bob', password: 'wrong' }]]),
      });
      await expect(
        client.access().resolve(parseReference(`${proxy.host}/team/app:v1`), signal()),
      ).rejects.toThrowWithCode('UNAUTHORIZED', { indeterminate: false });
      await client.close();
    });
  });
});
