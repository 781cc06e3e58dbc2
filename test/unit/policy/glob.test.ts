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

describe('compileGlob with another spelling of the registry', () => {
  describe('when the policy names a loopback registry', () => {
    const match = compileGlob('127.0.0.1:5000/**');
    it.each([
      'localhost:5000/app',
      'LOCALHOST.:5000/app',
      '127.1:5000/app',
      '127.000.000.001:5000/app',
      '0x7f.0.0.1:5000/app',
      '[::1]:5000/app',
      '[::ffff:127.0.0.1]:5000/app',
      '[0:0:0:0:0:0:0:1]:5000/app',
    ])('governs %s', (subject) => {
      expect(match(subject)).toBe(true);
    });
    it('does not govern another port or another loopback address', () => {
      expect(match('localhost:5001/app')).toBe(false);
      expect(match('127.0.0.2:5000/app')).toBe(false);
    });
  });

  describe('when the glob itself is spelled another way', () => {
    it.each([
      ['Registry.Example.com/**', 'registry.example.com/app'],
      ['registry.example.com:443/**', 'registry.example.com/app'],
      ['registry.example.com./**', 'registry.example.com/app'],
      ['registry.example.com/**', 'Registry.Example.com.:443/app'],
      ['localhost:5000/**', '127.0.0.1:5000/app'],
      ['index.docker.io/library/*', 'docker.io/library/nginx'],
    ])('%s governs %s', (glob, subject) => {
      expect(compileGlob(glob)(subject)).toBe(true);
    });
  });
});

describe('compileGlob cost', () => {
  describe('when a dozen ** meet a deep name that does not match', () => {
    it('answers (the automaton never backtracks)', () => {
      const glob = `registry.example.com/${Array.from({ length: 12 }, () => '**').join('/a')}/z`;
      const deep = `registry.example.com/${Array.from({ length: 120 }, () => 'a').join('/')}/y`;
      expect(compileGlob(glob)(deep)).toBe(false);
      expect(compileGlob(glob)(deep.replace(/y$/, 'z'))).toBe(true);
      const inSegment = `registry.example.com/${'a**'.repeat(12)}z`;
      expect(compileGlob(inSegment)(`registry.example.com/${'a'.repeat(4000)}`)).toBe(false);
    });
  });
});

/** The regular-expression translation this matcher replaced, as the reference for its meaning. */
function referenceRegExp(glob: string): RegExp {
  const esc = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const segments = glob.split('/');
  const re = segments
    .map((segment, i) => {
      const last = i === segments.length - 1;
      if (segment === '**') return last ? '.*' : '(?:[^/]+/)*';
      const body = segment
        .split('**')
        .map((part) => part.split('*').map(esc).join('[^/]*'))
        .join('.*');
      return last ? body : `${body}/`;
    })
    .join('');
  return new RegExp(`^${re}$`);
}

describe('compileGlob meaning', () => {
  it('agrees with the former regular-expression translation on every small case', () => {
    const globs = [
      'h.io/**',
      'h.io/*',
      'h.io/**/b',
      'h.io/a*/**',
      'h.io/a**b',
      '**',
      '**/b',
      'h.io/**/**/b',
      'h.io/a/*b*',
    ];
    const alphabet = ['a', 'b', '/', 'ab'];
    const subjects: string[] = [''];
    for (let depth = 0; depth < 4; depth++) {
      for (const s of [...subjects]) for (const c of alphabet) subjects.push(s + c);
    }
    let compared = 0;
    for (const glob of globs) {
      const mine = compileGlob(glob);
      const ref = referenceRegExp(glob);
      for (const tail of subjects) {
        const subject = `h.io/${tail}`;
        expect([glob, subject, mine(subject)]).toEqual([glob, subject, ref.test(subject)]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
