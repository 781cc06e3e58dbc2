import { describe, expect, it } from 'vitest';
import { formatReference, parseReference } from '../../../src/registry/reference.js';

describe('parseReference', () => {
  describe('when the reference is short', () => {
    it('normalises Docker Hub names like a container runtime', () => {
      expect(formatReference(parseReference('nginx'))).toBe('docker.io/library/nginx:latest');
      expect(formatReference(parseReference('bitnami/redis:7'))).toBe('docker.io/bitnami/redis:7');
      expect(formatReference(parseReference('index.docker.io/library/nginx'))).toBe(
        'docker.io/library/nginx:latest',
      );
    });
  });

  describe('when the registry has a port or is IPv6', () => {
    it('keeps the port and does not read it as a tag', () => {
      const ref = parseReference('127.0.0.1:5000/app');
      expect(ref).toMatchObject({ registry: '127.0.0.1:5000', repository: 'app', tag: 'latest' });
      expect(parseReference('[::1]:5000/team/app:v1')).toMatchObject({
        registry: '[::1]:5000',
        repository: 'team/app',
        tag: 'v1',
      });
      expect(parseReference('localhost/app')).toMatchObject({ registry: 'localhost', repository: 'app' });
    });
  });

  describe('when a digest is given', () => {
    it('keeps tag and digest and adds no default tag', () => {
      const d = `sha256:${'a'.repeat(64)}`;
      expect(parseReference(`ghcr.io/x/y@${d}`)).toEqual({
        registry: 'ghcr.io',
        repository: 'x/y',
        digest: d,
        original: `ghcr.io/x/y@${d}`,
      });
      expect(parseReference(`ghcr.io/x/y:1.0@${d}`)).toMatchObject({ tag: '1.0', digest: d });
    });
  });

  describe('when the reference is invalid', () => {
    it.each([
      ['', /empty/],
      ['UPPER/case', /lowercase/],
      ['nginx@sha256:xyz', /digest/],
      ['nginx:bad tag', /whitespace/],
      ['a//b', /path component/],
      ['nginx:-x', /tag/],
    ])('rejects %j with INVALID_REFERENCE', (input, why) => {
      expect(() => parseReference(input)).toThrowWithCode('INVALID_REFERENCE', why);
    });
  });
});
