import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isRegistryAllowed,
  loadRegistryConfig,
  mergeRegistryFlags,
  registryOptionsFrom,
} from '../../../src/registry/options.js';

describe('registry options', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-options-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  describe('loadRegistryConfig', () => {
    it('reads allowlist, timeouts, TLS, mirrors and credentials with paths relative to the file', async () => {
      await file('ca.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
      await file('pw', 'hunter2\n');
      await file(
        'docker.json',
        JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: 'dTpw' } } }),
      );
      const path = await file(
        'ok.yaml',
        [
          'allow: [ghcr.io, "registry.internal:5000", "*.example.com"]',
          'requestTimeout: 2500ms',
          'tagTtl: 10s',
          'dockerConfig: docker.json',
          'registries:',
          '  registry.internal:5000:',
          '    caFile: ca.pem',
          '    mirrors: [mirror.internal]',
          '    username: bot',
          '    passwordFile: pw',
          '  "127.0.0.1:5000":',
          '    insecure: true',
        ].join('\n'),
      );
      const opts = await loadRegistryConfig(path);
      expect(opts.allow).toEqual(['ghcr.io', 'registry.internal:5000', '*.example.com']);
      expect(opts.requestTimeoutMs).toBe(2500);
      expect(opts.tagTtlMs).toBe(10_000);
      expect(opts.registries?.['registry.internal:5000']).toMatchObject({ mirrors: ['mirror.internal'] });
      expect(opts.registries?.['registry.internal:5000']?.ca?.[0]).toContain('BEGIN CERTIFICATE');
      expect(opts.registries?.['127.0.0.1:5000']).toEqual({ insecure: true });
      expect(
        await opts.credentials?.credentialsFor({ registry: 'registry.internal:5000', repository: 'a/b' }),
      ).toEqual({
        kind: 'basic',
        username: 'bot',
        password: 'hunter2',
      });
      expect(
        await opts.credentials?.credentialsFor({ registry: 'docker.io', repository: 'library/nginx' }),
      ).toEqual({
        kind: 'basic',
        username: 'u',
        password: 'p',
      });
    });

    it('names the field and the problem for an invalid file', async () => {
      const path = await file(
        'bad.yaml',
        'allow: ["not a host!"]\nregistries:\n  x.io:\n    insecur: true\n',
      );
      await expect(loadRegistryConfig(path)).rejects.toThrowWithCode('CONFIG_INVALID', {
        message: expect.stringMatching(/bad\.yaml: .*\/allow\/0/),
      });
    });

    it('rejects YAML that does not parse and files that do not exist', async () => {
      await expect(loadRegistryConfig(await file('broken.yaml', 'allow: [\n'))).rejects.toThrowWithCode(
        'CONFIG_INVALID',
        { message: expect.stringContaining('not valid YAML') },
      );
      await expect(loadRegistryConfig(join(dir, 'nope.yaml'))).rejects.toThrowWithCode('CONFIG_INVALID');
    });

    it('rejects a password without a username', async () => {
      const path = await file('pw.yaml', 'registries:\n  x.io:\n    password: p\n');
      await expect(loadRegistryConfig(path)).rejects.toThrow(/password without username/);
    });
  });

  describe('registryOptionsFrom (--insecure-registry, --allow-registry)', () => {
    it('turns on plain HTTP and the allowlist from the flags', async () => {
      const opts = await registryOptionsFrom({
        insecure: ['127.0.0.1:5000'],
        allow: ['127.0.0.1:5000', 'ghcr.io'],
      });
      expect(opts.registries?.['127.0.0.1:5000']).toEqual({ insecure: true });
      expect(opts.allow).toEqual(['127.0.0.1:5000', 'ghcr.io']);
    });

    it('leaves the allowlist off when neither file nor flags give one', async () => {
      expect((await registryOptionsFrom({ insecure: ['[::1]:5000'] })).allow).toBeUndefined();
    });

    it('adds flags to the file', async () => {
      const path = await file(
        'merge.yaml',
        'allow: [ghcr.io]\nregistries:\n  reg.local:5000:\n    mirrors: [m.local]\n',
      );
      const opts = await registryOptionsFrom({
        configFile: path,
        insecure: ['reg.local:5000'],
        allow: ['quay.io'],
      });
      expect(opts.allow).toEqual(['ghcr.io', 'quay.io']);
      expect(opts.registries?.['reg.local:5000']).toEqual({ mirrors: ['m.local'], insecure: true });
    });

    it('rejects a flag that is not HOST[:PORT] with USAGE', () => {
      expect(() => mergeRegistryFlags({}, ['http://x:5000'], [])).toThrow(
        /--insecure-registry expects HOST\[:PORT\]/,
      );
      expect(() => mergeRegistryFlags({}, [], ['a b'])).toThrow(/--allow-registry/);
    });
  });

  describe('isRegistryAllowed', () => {
    it('matches exact hosts, ports and *.suffix wildcards; docker.io aliases', () => {
      const allow = ['ghcr.io', '127.0.0.1:5000', '*.example.com', 'index.docker.io'];
      expect(isRegistryAllowed(allow, 'ghcr.io')).toBe(true);
      expect(isRegistryAllowed(allow, '127.0.0.1:5000')).toBe(true);
      expect(isRegistryAllowed(allow, '127.0.0.1:5001')).toBe(false);
      expect(isRegistryAllowed(allow, 'a.example.com')).toBe(true);
      expect(isRegistryAllowed(allow, 'example.com')).toBe(false);
      expect(isRegistryAllowed(allow, 'evilexample.com')).toBe(false);
      expect(isRegistryAllowed(allow, 'docker.io')).toBe(true);
      expect(isRegistryAllowed(allow, 'kubernetes.default.svc')).toBe(false);
      expect(isRegistryAllowed(undefined, 'anything')).toBe(true);
    });
  });
});
