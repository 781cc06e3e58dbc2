/** Small pure parts of the image build: path globs, image names, purls. */
import { describe, expect, it } from 'vitest';
import { parseName } from '../../../scripts/image/build.js';
import { DEBIAN_PACKAGES, DROP_EVERYWHERE, KEEP_EVERYWHERE } from '../../../scripts/image/definition.js';
import { anyGlob, compilePathGlob } from '../../../scripts/image/glob.js';
import { debPurl, npmPurl } from '../../../scripts/image/sbom.js';

describe('compilePathGlob', () => {
  it('matches a directory and everything below it with dir/**', () => {
    const m = compilePathGlob('usr/share/doc/**');
    expect([m('usr/share/doc'), m('usr/share/doc/libc6/copyright'), m('usr/share/docs')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('keeps * within one segment', () => {
    const m = compilePathGlob('usr/share/doc/*/copyright');
    expect([m('usr/share/doc/libc6/copyright'), m('usr/share/doc/a/b/copyright')]).toEqual([true, false]);
  });

  it('drops documentation but keeps every package copyright', () => {
    const drop = anyGlob(DROP_EVERYWHERE);
    const keep = anyGlob(KEEP_EVERYWHERE);
    const kept = (p: string) => keep(p) || !drop(p);
    expect(kept('usr/share/doc/libc6/copyright')).toBe(true);
    expect(kept('usr/share/doc/libc6/changelog.Debian.gz')).toBe(false);
    expect(kept('usr/share/man/man8/update-ca-certificates.8.gz')).toBe(false);
    expect(kept('lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
  });
});

describe('the definition', () => {
  it('has no shell or package manager among its Debian packages', () => {
    const names = DEBIAN_PACKAGES.map((p) => p.name);
    for (const forbidden of ['bash', 'dash', 'busybox', 'dpkg', 'apt', 'coreutils'])
      expect(names).not.toContain(forbidden);
  });
});

describe('parseName', () => {
  it('splits HOST/REPO:TAG and defaults the tag', () => {
    expect(parseName('127.0.0.1:5000/imagegate:test', '0.1.0')).toEqual({
      name: '127.0.0.1:5000/imagegate',
      tag: 'test',
    });
    expect(parseName('ghcr.io/imagegate/imagegate', '0.1.0')).toEqual({
      name: 'ghcr.io/imagegate/imagegate',
      tag: '0.1.0',
    });
  });

  it('refuses digests and malformed names', () => {
    expect(() => parseName('ghcr.io/x@sha256:abc', '1')).toThrow(/not a digest/);
    expect(() => parseName('Not A Name', '1')).toThrow(/is not HOST\/REPO/);
  });
});

describe('purls', () => {
  it('percent-encodes npm scopes and Debian version characters', () => {
    expect(npmPurl('@sigstore/core', '3.2.0')).toBe('pkg:npm/%40sigstore/core@3.2.0');
    expect(debPurl({ name: 'libc6', version: '2.36-9+deb12u14', architecture: 'amd64' })).toBe(
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12',
    );
  });
});
