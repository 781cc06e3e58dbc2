import { describe, expect, it } from 'vitest';
import {
  chainProviders,
  credentialsFromPullSecrets,
  normaliseCredentialKey,
  parseDockerConfig,
} from '../../../src/registry/credentials/index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('credentials', () => {
  describe('parseDockerConfig', () => {
    it('reads auth, username/password and identitytoken entries', () => {
      const store = parseDockerConfig(
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
            'ghcr.io': { username: 'gh', password: 'tok' },
            'acr.example.io': { identitytoken: 'refresh' },
            'empty.io': {},
          },
        }),
        'config.json',
      );
      expect(store.lookup('docker.io', 'library/nginx')).toEqual({
        kind: 'basic',
        username: 'hub',
        password: 'pw:with:colons',
      });
      expect(store.lookup('ghcr.io', 'x/y')).toMatchObject({ username: 'gh' });
      expect(store.lookup('acr.example.io', 'x')).toEqual({ kind: 'identityToken', token: 'refresh' });
      expect(store.lookup('empty.io', 'x')).toBeUndefined();
    });

    it('prefers the longest matching host/path key, like the kubelet', () => {
      const store = parseDockerConfig(
        JSON.stringify({
          auths: { 'reg.io': { auth: b64('all:1') }, 'reg.io/team': { auth: b64('team:2') } },
        }),
        'c',
      );
      expect(store.lookup('reg.io', 'team/app')).toMatchObject({ username: 'team' });
      expect(store.lookup('reg.io', 'teammate/app')).toMatchObject({ username: 'all' });
      expect(store.lookup('reg.io:5000', 'team/app')).toBeUndefined();
    });

    it('rejects bad JSON and bad auth with CONFIG_INVALID', () => {
      expect(() => parseDockerConfig('{', 'c')).toThrow(/c: not JSON/);
      expect(() =>
        parseDockerConfig(JSON.stringify({ auths: { x: { auth: b64('nocolon') } } }), 'c'),
      ).toThrow(/not base64 of user:password/);
    });
  });

  it('normalises Docker Hub keys', () => {
    expect(normaliseCredentialKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseCredentialKey('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseCredentialKey('Quay.IO/team/')).toBe('quay.io/team');
  });

  describe('credentialsFromPullSecrets', () => {
    it('reads dockerconfigjson and legacy dockercfg secrets and ignores other types', () => {
      const store = credentialsFromPullSecrets([
        { type: 'Opaque', data: { '.dockerconfigjson': b64('{}') } },
        {
          type: 'kubernetes.io/dockerconfigjson',
          metadata: { name: 'a' },
          data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'a.io': { auth: b64('a:1') } } })) },
        },
        {
          type: 'kubernetes.io/dockercfg',
          metadata: { name: 'b' },
          data: { '.dockercfg': b64(JSON.stringify({ 'b.io': { auth: b64('b:2') } })) },
        },
      ]);
      expect(store.lookup('a.io', 'x')).toMatchObject({ username: 'a' });
      expect(store.lookup('b.io', 'x')).toMatchObject({ username: 'b' });
    });
  });

  it('chains providers: per-request secrets before the static config', async () => {
    const pod = parseDockerConfig(JSON.stringify({ auths: { 'r.io': { auth: b64('pod:1') } } }), 'pod');
    const global = parseDockerConfig(
      JSON.stringify({ auths: { 'r.io': { auth: b64('global:1') }, 'g.io': { auth: b64('g:1') } } }),
      'global',
    );
    const chain = chainProviders([undefined, pod, global]);
    expect(await chain.credentialsFor({ registry: 'r.io', repository: 'x' })).toMatchObject({
      username: 'pod',
    });
    expect(await chain.credentialsFor({ registry: 'g.io', repository: 'x' })).toMatchObject({
      username: 'g',
    });
    expect(await chain.credentialsFor({ registry: 'n.io', repository: 'x' })).toBeUndefined();
  });
});
