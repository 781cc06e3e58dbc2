import { describe, expect, it } from 'vitest';
import { compileIdentityPattern } from '../../../../src/checks/signature/identity-pattern.js';
import { validatePolicyDocument } from '../../../../src/policy/validate.js';
import { authorityPolicy } from '../../../helpers/policy-documents.js';

describe('compileIdentityPattern', () => {
  describe('when the pattern would backtrack catastrophically in a backtracking engine', () => {
    it('answers a crafted SAN at once (RE2 semantics: linear in the input)', () => {
      const p = compileIdentityPattern('(a+)+$');
      // 5,000 a's then a mismatch: 2^5000 paths for a backtracking engine, one pass for RE2.
      expect(p.test(`${'a'.repeat(5000)}!`)).toBe(false);
      expect(p.test('a'.repeat(5000))).toBe(true);
    });
    it('answers nested quantifiers over alternations at once', () => {
      const p = compileIdentityPattern('(x+x+)+y');
      expect(p.test('x'.repeat(8000))).toBe(false);
    });
  });

  describe('when the pattern is a usual identity', () => {
    const p = compileIdentityPattern('https://github\\.com/acme/.+/\\.github/workflows/.+@refs/heads/main');
    it('is anchored at both ends', () => {
      expect(p.test('https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main')).toBe(true);
      expect(p.test('https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main2')).toBe(false);
      expect(p.test('xhttps://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main')).toBe(false);
    });
    it('says what it wanted', () => {
      expect(p.describe).toMatch(/^\/\^\(\?:https:.*\)\$\/$/);
    });
  });

  describe('when the pattern needs backtracking features', () => {
    it.each([
      ['a backreference', '(a)\\1'],
      ['a lookahead', '(?=a)a'],
      ['a lookbehind', '(?<=a)b'],
    ])('refuses %s, saying RE2 syntax is wanted', (_what, source) => {
      expect(() => compileIdentityPattern(source)).toThrow(/not a valid regular expression in RE2 syntax/);
    });
  });
});

describe('validatePolicyDocument', () => {
  describe('when a keyless subjectRegExp uses a backreference', () => {
    it('refuses the policy at load, naming the field', () => {
      const doc = authorityPolicy('sig', { keyless: { issuer: 'i', subjectRegExp: '(.+)@\\1' } });
      expect(() => validatePolicyDocument(doc, 'src')).toThrow(
        expect.objectContaining({
          code: 'POLICY_INVALID',
          message: expect.stringContaining('spec.signature.authorities[0].keyless.subjectRegExp'),
        }),
      );
    });
  });
});

describe('compileClaims (Fulcio certificate claims)', () => {
  it('matches claim patterns with RE2 semantics: a crafted claim value is judged at once', async () => {
    const { compileClaims } = await import('../../../../src/checks/signature/fulcio-claims.js');
    const [matcher] = compileClaims({ sourceRepositoryRefRegExp: '(a+)+$' }, 'k');
    expect(matcher!.test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(() => compileClaims({ sourceRepositoryRefRegExp: '(x)\\1' }, 'k')).toThrow(/RE2/);
  });
});
