import { describe, expect, it } from 'vitest';
import { canonicalHost, policyHost } from '../../../src/shared/host.js';
import { normaliseRegistryHost } from '../../../src/shared/docker-hub.js';
import { parseReference } from '../../../src/registry/reference.js';

/** Spellings of one registry endpoint, each with the canonical host it folds into. */
const SPELLINGS: [string, string][] = [
  ['Registry.Example.COM', 'registry.example.com'],
  ['registry.example.com.', 'registry.example.com'],
  ['registry.example.com:443', 'registry.example.com'],
  ['Registry.Example.com.:0443', 'registry.example.com'],
  ['registry.example.com:5000', 'registry.example.com:5000'],
  ['127.1:5000', '127.0.0.1:5000'],
  ['127.0.1:5000', '127.0.0.1:5000'],
  ['127.000.000.001:5000', '127.0.0.1:5000'],
  ['0177.0.0.1:5000', '127.0.0.1:5000'],
  ['0x7f.0.0.1:5000', '127.0.0.1:5000'],
  ['2130706433:5000', '127.0.0.1:5000'],
  ['[::ffff:127.0.0.1]:5000', '127.0.0.1:5000'],
  ['[::FFFF:7f00:1]:5000', '127.0.0.1:5000'],
  ['[0:0:0:0:0:0:0:1]:5000', '[::1]:5000'],
  ['index.docker.io', 'docker.io'],
  ['registry-1.docker.io:443', 'docker.io'],
];

describe('canonicalHost', () => {
  it.each(SPELLINGS)('folds %s into %s: the same endpoint', (input, want) => {
    expect(canonicalHost(input)).toBe(want);
  });

  it.each(['host:65536', 'host:99999', 'registry.1', 'user@host', 'a/b', ''])(
    'refuses %j: it cannot be an endpoint',
    (input) => {
      expect(canonicalHost(input)).toBeUndefined();
    },
  );
});

describe('policyHost', () => {
  it('folds the loopback names into 127.0.0.1 and keeps the port', () => {
    for (const h of ['localhost:5000', 'LocalHost.:5000', '[::1]:5000', '[0::1]:5000', '127.1:5000']) {
      expect(policyHost(h)).toBe('127.0.0.1:5000');
    }
    expect(policyHost('localhost')).toBe('127.0.0.1');
  });
  it('keeps other loopback addresses and other ports distinct', () => {
    expect(policyHost('127.0.0.2:5000')).toBe('127.0.0.2:5000');
    expect(policyHost('localhost:5001')).toBe('127.0.0.1:5001');
    expect(policyHost('localhost.example.com')).toBe('localhost.example.com');
  });
});

describe('parseReference', () => {
  it.each([
    ...SPELLINGS.map(([host, canonical]) => [`${host}/app`, canonical]),
    ['Registry.Example.com.:443/team/app:1', 'registry.example.com'],
    ['index.docker.io:443/library/nginx', 'docker.io'],
  ])('stores %s under its canonical host %s', (input, registry) => {
    expect(parseReference(input).registry).toBe(registry);
  });

  it('refuses a port out of range with INVALID_REFERENCE', () => {
    expect(() => parseReference('registry.example.com:70000/app')).toThrow(
      expect.objectContaining({ code: 'INVALID_REFERENCE' }),
    );
  });
});

describe('registry options and credentials', () => {
  it('named with another spelling than the pod, apply to the canonical reference all the same', async () => {
    const { Keyring } = await import('../../../src/registry/credentials/keyring.js');
    const { isRegistryAllowed } = await import('../../../src/registry/options.js');
    const store = new Keyring([
      ['Registry.Example.com:443', { kind: 'basic', username: 'u', password: 'p' }],
    ]);
    const ref = parseReference('registry.example.com./team/app');
    expect(store.lookup(ref.registry, ref.repository)).toMatchObject({ username: 'u' });
    expect(isRegistryAllowed(['registry.example.com:443'], ref.registry)).toBe(true);
    expect(isRegistryAllowed(['127.1:5000'], parseReference('127.0.0.1:5000/x').registry)).toBe(true);
    expect(isRegistryAllowed(['registry.example.com'], 'registry.example.com.evil.io')).toBe(false);
  });
});

describe('registry flags and files', () => {
  it('refuses --insecure-registry and --allow-registry with a port above 65535: USAGE', async () => {
    const { mergeRegistryFlags } = await import('../../../src/registry/options.js');
    expect(() => mergeRegistryFlags({}, ['registry.example.com:70000'], [])).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('65535') }),
    );
    expect(() => mergeRegistryFlags({}, [], ['registry.example.com:99999'])).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(mergeRegistryFlags({}, ['127.1:65535'], []).registries).toEqual({
      '127.0.0.1:65535': { insecure: true },
    });
  });
});

describe('normaliseRegistryHost', () => {
  it('asked more hosts than it remembers, answers each the same as the first time', () => {
    const hosts = Array.from({ length: 2500 }, (_, i) => `Reg${i}.Example.COM.:443`);
    const first = hosts.map((h) => normaliseRegistryHost(h));
    expect(first[7]).toBe('reg7.example.com');
    expect(hosts.map((h) => normaliseRegistryHost(h))).toEqual(first);
    expect(normaliseRegistryHost('INDEX.docker.io')).toBe('docker.io');
    expect(normaliseRegistryHost('INDEX.docker.io')).toBe('docker.io');
  });
});
