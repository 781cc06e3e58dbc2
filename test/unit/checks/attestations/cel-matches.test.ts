import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../../../src/checks/attestations/cel.js';
import { toRe2Matches } from '../../../../src/checks/attestations/cel-matches.js';

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

  describe('where compiled patterns live', () => {
    /** toRe2Matches on a condition as the CEL library parses it. */
    function matcherOf(source: string) {
      const out = toRe2Matches(source, new Environment().registerVariable('x', 'string').parse(source).ast);
      if (!('matcher' in out)) throw new Error(out.problem);
      return out.matcher;
    }

    it('each condition holds only its own literal patterns, compiled at load', () => {
      const a = matcherOf('x.matches("^a")');
      const b = matcherOf('x.matches("^b")');
      expect([...a.literals.keys()]).toEqual(['^a']);
      expect([...b.literals.keys()]).toEqual(['^b']);
      expect(a.matches('abc', '^a')).toBe(true);
      expect(b.matches('abc', '^a')).toBe(true); // an unknown pattern is compiled for the call
      expect([...b.literals.keys()]).toEqual(['^b']);
    });

    it('patterns from the input are never kept: 2,000 distinct ones leave the condition as it was', () => {
      const matcher = matcherOf('x.matches("^a")');
      for (let i = 0; i < 2_000; i++) expect(matcher.matches(`v${i}`, `^v${i}$`)).toBe(true);
      expect(matcher.literals.size).toBe(1);
    });

    it('two compilations of one condition (two engines) answer alike and independently', () => {
      const source = 'matches(predicate.ref, predicate.re) && predicate.ref.matches("^refs/")';
      const one = compileCondition(source, 'engine one');
      const two = compileCondition(source, 'engine two');
      const input = (ref: string, re: string) => ({ predicate: { ref, re }, statement: {}, image });
      expect(one.evaluate(input('refs/heads/main', 'main$'))).toMatchObject({ ok: true, value: true });
      expect(two.evaluate(input('refs/tags/v1', 'main$'))).toMatchObject({ ok: true, value: false });
      expect(one.evaluate(input('refs/tags/v1', 'v1$'))).toMatchObject({ ok: true, value: true });
    });
  });
});
