import { describe, expect, it } from 'vitest';
import { compileGlob, compileNameGlob, globHasVersion } from '../../../src/policy/glob.js';

describe('compileGlob', () => {
  describe('when the glob ends in /*', () => {
    const match = compileGlob('registry.example.com/*');

    it('matches one repository segment under that registry', () => {
      expect(match('registry.example.com/app')).toBe(true);
    });
    it('does not match a look-alike registry (anchored at the host)', () => {
      expect(match('registry.example.com.evil.io/x')).toBe(false);
      expect(match('evil.io/registry.example.com/x')).toBe(false);
      expect(match('xregistry.example.com/app')).toBe(false);
    });
    it('does not match deeper paths or the bare registry', () => {
      expect(match('registry.example.com/team/app')).toBe(false);
      expect(match('registry.example.com')).toBe(false);
    });
  });

  describe('when the glob ends in /**', () => {
    const match = compileGlob('registry.example.com/team/**');

    it('matches any depth below the prefix', () => {
      expect(match('registry.example.com/team/app')).toBe(true);
      expect(match('registry.example.com/team/a/b/c')).toBe(true);
    });
    it('does not match a sibling whose name starts the same', () => {
      expect(match('registry.example.com/teamx/app')).toBe(false);
      expect(match('registry.example.com/team')).toBe(false);
    });
  });

  describe('when ** is a middle segment', () => {
    const match = compileGlob('ghcr.io/**/tools');

    it('matches zero or more segments in between', () => {
      expect(match('ghcr.io/tools')).toBe(true);
      expect(match('ghcr.io/org/tools')).toBe(true);
      expect(match('ghcr.io/org/sub/tools')).toBe(true);
    });
    it('still anchors the last segment', () => {
      expect(match('ghcr.io/org/tools-extra')).toBe(false);
    });
  });

  describe('when * is inside a segment', () => {
    const match = compileGlob('docker.io/library/redis*');

    it('matches within that segment only', () => {
      expect(match('docker.io/library/redis')).toBe(true);
      expect(match('docker.io/library/redis-stack')).toBe(true);
      expect(match('docker.io/library/redis/x')).toBe(false);
    });
  });

  describe('when the glob contains regular-expression characters', () => {
    it('treats them literally', () => {
      expect(compileGlob('a.b/c+d')('a.b/c+d')).toBe(true);
      expect(compileGlob('a.b/c+d')('axb/ccd')).toBe(false);
      expect(compileGlob('127.0.0.1:5000/(x)')('127.0.0.1:5000/(x)')).toBe(true);
    });
  });

  describe('when the glob is a lone **', () => {
    it('matches everything', () => {
      expect(compileGlob('**')('docker.io/library/nginx')).toBe(true);
    });
  });
});

describe('globHasVersion', () => {
  it('is true when the last segment names a tag or digest', () => {
    expect(globHasVersion('registry.example.com/app:1.*')).toBe(true);
    expect(globHasVersion(`registry.example.com/app@sha256:${'a'.repeat(64)}`)).toBe(true);
  });
  it('is false for a registry port alone', () => {
    expect(globHasVersion('127.0.0.1:5000/app')).toBe(false);
    expect(globHasVersion('127.0.0.1:5000/**')).toBe(false);
  });
});

describe('compileNameGlob', () => {
  it('matches namespace names with * as any run of characters, anchored', () => {
    const match = compileNameGlob('prod-*');
    expect(match('prod-eu')).toBe(true);
    expect(match('prod-')).toBe(true);
    expect(match('preprod-eu')).toBe(false);
    expect(compileNameGlob('kube-system')('kube-system-2')).toBe(false);
  });
});
