/**
 * The load-time glob check and the matcher agree (property tests over both): a glob the matcher
 * matches against some normalised reference is never refused as "can never match", and a glob the
 * check accepts has a reference the matcher matches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, globHasVersion } from '../../../src/policy/glob.js';
import { checkImageGlob } from '../../../src/policy/glob-check.js';
import { exampleMatch } from '../../../src/policy/glob-feasible.js';
import { formatReference, parseReference, repositoryName } from '../../../src/registry/reference.js';

const HOSTS = [
  'registry.example.com',
  '127.0.0.1:5055',
  'localhost:5000',
  'ghcr.io',
  'docker.io',
  'Registry.Example.COM:443',
  'sub.domain.io:8443',
  '[2001:db8::1]:5000',
];
const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/);
const reference = fc
  .record({
    host: fc.constantFrom(...HOSTS),
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,8}$/), { nil: undefined }),
    digest: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined }),
  })
  .map(({ host, path, tag, digest }) =>
    parseReference(
      `${host}/${path.join('/')}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@sha256:${digest}` : ''}`,
    ),
  );

/** The subject a glob is matched against (policy/compile.ts). */
const subjectFor = (glob: string, ref: ReturnType<typeof parseReference>): string =>
  globHasVersion(glob) ? formatReference(ref) : repositoryName(ref);

/** `text` with some of its runs replaced by `*` or `**`. */
function wildcarded(text: string, cuts: { at: number; len: number; star: '*' | '**' }[]): string {
  let out = text;
  for (const { at, len, star } of cuts) {
    const from = at % (out.length + 1);
    out = `${out.slice(0, from)}${star}${out.slice(from + len)}`;
  }
  return out;
}
const cuts = fc.array(
  fc.record({ at: fc.nat(200), len: fc.nat(12), star: fc.constantFrom<'*' | '**'>('*', '**') }),
  { minLength: 1, maxLength: 3 },
);

describe('the glob check and the matcher', () => {
  it('accepts "**demo**", which matches 127.0.0.1:5055/team/demo-app', () => {
    expect(compileGlob('**demo**')('127.0.0.1:5055/team/demo-app')).toBe(true);
    expect(checkImageGlob('**demo**')).toBeUndefined();
  });

  it('never refuses a glob the matcher matches against a normalised reference', () => {
    fc.assert(
      fc.property(reference, cuts, fc.boolean(), (ref, c, full) => {
        const glob = wildcarded(full ? formatReference(ref) : repositoryName(ref), c);
        fc.pre(compileGlob(glob)(subjectFor(glob, ref)));
        expect(checkImageGlob(glob)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a glob only when the matcher matches a reference it finds for it', () => {
    const globChar = fc.constantFrom(...'ab.-_:/@*Z'.split(''), '**', 'io/', 'sha256:');
    fc.assert(
      fc.property(fc.array(globChar, { minLength: 1, maxLength: 14 }), (parts) => {
        const glob = parts.join('');
        const example = exampleMatch(glob);
        if (checkImageGlob(glob) === undefined) {
          expect(example).toBeDefined();
          expect(compileGlob(glob)(example!)).toBe(true);
        } else {
          // Refused: the search found nothing, or the glob's literal registry host is not one.
          const host = glob.slice(0, Math.max(glob.indexOf('/'), 0));
          if (example !== undefined) expect(host !== '' && !host.includes('*')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses what no reference can match, and names why', () => {
    for (const glob of ['nginx*', 'library/**', 'docker.io/nginx', 'registry.example.com/App']) {
      expect(exampleMatch(glob)).toBeUndefined();
      expect(checkImageGlob(glob)).toContain('can never match');
    }
  });
});
