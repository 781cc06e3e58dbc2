/**
 * A response's single headers are read from undici's raw headers (exchange.ts) without the object of
 * all of them: the answer must be the object's, whatever the case, repetition or look-alike names.
 */
import { describe, expect, it } from 'vitest';
import { header } from '../../../src/registry/http.js';
import { rawHeader, toHeaders } from '../../../src/registry/response.js';

const raw = (...pairs: string[]): Buffer[] => pairs.map((p) => Buffer.from(p, 'latin1'));

describe('rawHeader', () => {
  const headers = raw(
    'Content-Type',
    'application/vnd.oci.image.manifest.v1+json',
    'Docker-Content-Digest',
    'sha256:' + 'a'.repeat(64),
    'content-length',
    '1234',
    'WWW-Authenticate',
    'Bearer realm="https://auth.example/token"',
    'www-authenticate',
    'Basic realm="second"',
    'Content-Lengtx',
    '99', // same length as content-length, one byte off
    'X-Latin1',
    'caf\xe9',
  );
  const object = toHeaders(headers);

  it.each([
    'content-type',
    'docker-content-digest',
    'content-length',
    'www-authenticate',
    'x-latin1',
    'location',
    'content-lengtx',
    'content-lengt',
  ])('answers %s as the object of all headers does (first value of a repeated one)', (name) => {
    expect(rawHeader(headers, name)).toBe(header({ headers: object }, name));
  });

  it('answers the first of repeated values, and undefined without headers', () => {
    expect(rawHeader(headers, 'www-authenticate')).toBe('Bearer realm="https://auth.example/token"');
    expect(object['www-authenticate']).toEqual([
      'Bearer realm="https://auth.example/token"',
      'Basic realm="second"',
    ]);
    expect(rawHeader(undefined, 'content-type')).toBeUndefined();
  });

  it('keeps a header named __proto__ as a header', () => {
    const odd = toHeaders(raw('__proto__', 'x', 'constructor', 'y'));
    expect(odd['__proto__']).toBe('x');
    expect(odd['constructor']).toBe('y');
    expect(rawHeader(raw('Constructor', 'y'), 'constructor')).toBe('y');
  });
});
