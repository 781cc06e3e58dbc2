import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../../src/registry/auth.js';
import {
  addressClass,
  assertRealmAllowed,
  assertRedirectAllowed,
  guardedLookup,
  isRefusedHostClass,
  type LookupFunction,
} from '../../../src/registry/targets.js';

const host = (url: string): string => new URL(url).hostname;

describe('isRefusedHostClass', () => {
  // The image hosts a pod may not send imagegate to unless the operator names them (the integration
  // test dials only the unspecified addresses, which stay on this machine).
  it.each([
    '169.254.169.254',
    '[fd00:ec2::254]',
    '100.100.100.200',
    '[fe80::1]',
    '[::ffff:169.254.169.254]',
    '0.0.0.0',
    '[::]',
  ])('refuses %s', (h) => {
    expect(isRefusedHostClass(addressClass(host(`https://${h}/`)))).toBe(true);
  });

  it.each(['127.0.0.1', '[::1]', 'localhost', 'registry.example.com', '10.1.2.3'])(
    'does not refuse %s',
    (h) => {
      expect(isRefusedHostClass(addressClass(host(`https://${h}/`)))).toBe(false);
    },
  );
});

describe('addressClass', () => {
  it.each([
    ['https://127.0.0.1/', 'loopback'],
    ['https://127.1/', 'loopback'],
    ['https://0x7f.1/', 'loopback'],
    ['https://localhost/', 'loopback'],
    ['https://localhost./', 'loopback'],
    ['https://LOCALHOST./', 'loopback'],
    ['https://registry.localhost./', 'loopback'],
    ['https://[fd00:ec2::254]/', 'metadata'],
    ['https://[fd00:ec2:0::254]/', 'metadata'],
    ['https://100.100.100.200/', 'metadata'],
    ['https://[::ffff:100.100.100.200]/', 'metadata'],
    ['https://[fd00:ec2::253]/', undefined],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://169.254.169.254/', 'link-local'],
    ['https://[::ffff:169.254.169.254]/', 'link-local'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://[::]/', 'unspecified'],
    ['https://registry.example.com/', undefined],
    ['https://10.0.0.1/', undefined],
  ])('%s is %s', (url, cls) => {
    expect(addressClass(host(url))).toBe(cls);
  });
});

describe('assertRealmAllowed', () => {
  const registry = new URL('https://registry.example.com');
  const check = (
    realm: string,
    options: Parameters<typeof assertRealmAllowed>[3] = {},
    basic = false,
  ): void => assertRealmAllowed(new URL(realm), registry, 'registry.example.com', options, basic, 'token');

  it('refuses `localhost.` and the AWS IPv6 metadata address as realms', () => {
    for (const realm of [
      'https://localhost./token',
      'http://localhost.:5001/token',
      'https://[fd00:ec2::254]/t',
    ]) {
      expect(() => check(realm), realm).toThrowError(
        expect.objectContaining({ code: 'AUTH_TARGET_REFUSED', indeterminate: false }),
      );
    }
  });

  it('refuses link-local and loopback realms of a registry that is not there', () => {
    expect(() => check('https://169.254.169.254/token')).toThrowError(
      expect.objectContaining({ code: 'AUTH_TARGET_REFUSED', indeterminate: false }),
    );
    expect(() => check('https://127.0.0.1:5000/token')).toThrowError(/loopback/);
  });

  it('with an allowlist, accepts the registry, its mirrors, allowed registries and allowAuth hosts only', () => {
    const options = {
      allow: ['registry.example.com', 'other.example.com'],
      allowAuth: ['auth.example.com'],
      registries: { 'registry.example.com': { mirrors: ['mirror.example.com'] } },
    };
    for (const ok of ['registry.example.com', 'mirror.example.com', 'other.example.com', 'auth.example.com'])
      expect(() => check(`https://${ok}/token`, options)).not.toThrow();
    expect(() => check('https://evil.example.net/token', options)).toThrowError(/allowAuth/);
    expect(() => check('https://evil.example.net/token')).not.toThrow(); // no allowlist, no restriction
  });

  it('knows Docker Hub keeps its token service on auth.docker.io', () => {
    expect(() =>
      assertRealmAllowed(
        new URL('https://auth.docker.io/token'),
        new URL('https://registry-1.docker.io'),
        'docker.io',
        { allow: ['docker.io'] },
        false,
        'token',
      ),
    ).not.toThrow();
  });

  it('never sends credentials over plain HTTP to another host', () => {
    expect(() => check('http://tokens.example.net/token', {}, true)).toThrowError(/plain HTTP/);
    expect(() => check('http://tokens.example.net/token', {}, false)).not.toThrow();
  });
});

describe('assertRedirectAllowed', () => {
  it('refuses a redirect to the metadata address, allows the registry host and ordinary hosts', () => {
    const registry = new URL('https://registry.example.com');
    expect(() => assertRedirectAllowed(new URL('https://169.254.169.254/x'), registry, 'blob')).toThrowError(
      expect.objectContaining({ code: 'REDIRECT_REFUSED' }),
    );
    expect(() => assertRedirectAllowed(new URL('https://cdn.example.net/x'), registry, 'blob')).not.toThrow();
    const local = new URL('http://127.0.0.1:5000');
    expect(() => assertRedirectAllowed(new URL('http://127.0.0.1:6000/x'), local, 'blob')).not.toThrow();
  });
});

describe('parseChallenge on registry-controlled text', () => {
  it('reads escapes and commas inside quotes', () => {
    expect(parseChallenge('Bearer realm="https://a/t?x=1,2",service="r\\"s" , scope=repo:pull')).toEqual({
      scheme: 'bearer',
      realm: 'https://a/t?x=1,2',
      service: 'r"s',
      scope: 'repo:pull',
    });
  });

  it('skips junk without an equals sign and refuses over-long headers', () => {
    expect(parseChallenge(`Bearer ${'a'.repeat(8000)}, realm="https://r"`)).toEqual({
      scheme: 'bearer',
      realm: 'https://r',
    });
    expect(parseChallenge(`Bearer realm="${'a'.repeat(10_000)}"`)).toBeUndefined();
  });
});

describe('guardedLookup', () => {
  const fake =
    (answer: Array<{ address: string; family: number }>): LookupFunction =>
    (_host, _options, callback) =>
      callback(null, answer);
  const run = (lookup: LookupFunction, host: string): Promise<unknown> =>
    new Promise((resolve, reject) =>
      lookup(host, { all: true }, (err, address) => (err !== null ? reject(err) : resolve(address))),
    );

  it('refuses a name that resolves to the metadata address unless the operator named it', async () => {
    const answer = [{ address: '169.254.169.254', family: 4 }];
    await expect(
      run(
        guardedLookup(() => false, fake(answer)),
        'rebind.example',
      ),
    ).rejects.toThrow(/169\.254\.169\.254, a link-local address/);
    await expect(
      run(
        guardedLookup(() => true, fake(answer)),
        'named.example',
      ),
    ).resolves.toEqual(answer);
  });

  it('lets ordinary and loopback answers through', async () => {
    const answer = [
      { address: '127.0.0.1', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ];
    await expect(
      run(
        guardedLookup(() => false, fake(answer)),
        'localhost',
      ),
    ).resolves.toEqual(answer);
  });
});
