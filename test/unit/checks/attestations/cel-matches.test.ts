import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../../../src/checks/attestations/cel.js';

const image = {
  reference: 'registry.example.com/app:1',
  digest: `sha256:${'a'.repeat(64)}`,
  platform: 'linux/amd64',
};
const run = (condition: string, predicate: unknown) =>
  compileCondition(condition, 'test').evaluate({ predicate, statement: {}, image });

describe('CEL matches() in attestation conditions', () => {
  describe('when the pattern would backtrack catastrophically on JavaScript regular expressions', () => {
    it('answers a crafted value at once (RE2 semantics, linear time)', () => {
      // About 170 s for 31 characters on the CEL library's own matches(); here 50,000.
      expect(run('predicate.ref.matches("(a+)+$")', { ref: `${'a'.repeat(50_000)}!` })).toEqual({
        ok: true,
        value: false,
        seen: expect.any(Array),
      });
    });
    it('also when the pattern comes from the input, in the global form', () => {
      expect(
        run('matches(predicate.ref, predicate.re)', { ref: `${'x'.repeat(30_000)}y`, re: '(x+x+)+z' }),
      ).toMatchObject({
        ok: true,
        value: false,
      });
    });
  });

  describe('when the pattern is an ordinary one', () => {
    it.each([
      ['"refs/heads/main".matches("^refs/heads/")', true],
      ['"refs/heads/main".matches("heads")', true],
      ['"refs/heads/main".matches("^heads")', false],
      ['"a.matches(b)".matches("matches")', true],
    ])('%s is %s (CEL semantics: an unanchored search)', (condition, value) => {
      expect(run(condition, {})).toMatchObject({ ok: true, value });
    });
  });

  describe('when a literal pattern needs backtracking features', () => {
    it('refuses the condition at load, naming RE2', () => {
      expect(() =>
        compileCondition('predicate.x.matches("(a)\\\\1")', 'policy "p" attestations[0].condition'),
      ).toThrowWithCode('POLICY_INVALID');
      expect(() => compileCondition('predicate.x.matches("(?=a)")', 'w')).toThrow(/RE2/);
    });
  });
});
