/**
 * A request's URL is built from the origin parsed once and the path as it is, unless the path is one
 * the WHATWG parser would change: whichever way, the request goes exactly where `new URL` would send
 * it (a dot segment, even percent-encoded, must never reach the registry unresolved).
 */
import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../../src/registry/request-url.js';

const FIELDS = ['origin', 'host', 'hostname', 'port', 'protocol', 'pathname', 'search', 'href'] as const;
const BASES = [
  'http://127.0.0.1:5000',
  'https://registry.example',
  'https://[::1]:8443',
  'https://r.example:443',
];
const DIGEST = `sha256:${'a'.repeat(64)}`;
const PATHS = [
  `/v2/library/app/manifests/${DIGEST}`,
  `/v2/a/b/blobs/${DIGEST}`,
  '/v2/app/manifests/sha256-abc.sig',
  '/v2/A_B-c.d/manifests/v1.0-rc_1',
  `/v2/a/referrers/${DIGEST}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson`,
  // what the parser changes: dot segments (also percent-encoded), escaped characters, empty query
  '/v2/a/../b/manifests/x',
  '/v2/./a',
  '/v2/a/..',
  '/v2/%2e%2e/b',
  '/v2/a/.%2e/b',
  '/v2/a/%2E./b',
  '/v2/a\\..\\b',
  '/v2/a?',
  '/v2/a b',
  '/v2/a"b<c>',
  "/v2/a?x='y",
  '/v2/a?x=y#fragment',
  '/v2/é',
  '/v2//a',
  '/v2/a?b?c',
  '/v2/a/.../b',
  '/v2/a@b:c~d',
];

describe('requestUrl', () => {
  it('gives every field exactly as new URL(origin + path) does', () => {
    for (const b of BASES) {
      const base = new URL(b);
      for (const path of PATHS) {
        const built = requestUrl(base, path);
        const parsed = new URL(base.origin + path);
        for (const field of FIELDS)
          expect(`${path} ${field}: ${built[field]}`).toBe(`${path} ${field}: ${parsed[field]}`);
      }
    }
  });

  it('parses nothing for a reference path (the common case)', () => {
    const built = requestUrl(new URL('http://127.0.0.1:5000'), `/v2/app/manifests/${DIGEST}`);
    expect(built).not.toBeInstanceOf(URL);
    expect(requestUrl(new URL('http://127.0.0.1:5000'), '/v2/%2e%2e/b')).toBeInstanceOf(URL);
  });
});
