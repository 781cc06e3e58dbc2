/**
 * CEL cost (issue 20, property 3): the load-time estimate counts `in`, `contains()`, nested loops and
 * literal collections, so a condition whose literals alone exceed the step budget is refused; the
 * runtime step meter bounds every evaluation, the passing ones too (a condition over the budget is
 * CONDITION_COST_EXCEEDED, a finding, never allowed). Asserted on codes and step counts.
 */
import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STEP_BUDGET, estimateCost } from '../../../../src/checks/attestations/cel-cost.js';
import {
  compileCondition,
  RERUN_STEP_LIMIT,
  type ConditionInput,
} from '../../../../src/checks/attestations/cel.js';

const WHERE = 'policy "p" attestations[0].condition';
const image = { reference: 'r.test/app@sha256:ab', digest: 'sha256:ab', platform: 'linux/amd64' };
const input = (predicate: unknown): ConditionInput => ({ predicate, statement: { predicate }, image });
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `pkg-${i}`);
const literal = (n: number): string => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
// The estimate is a pure function of the parsed AST.
const env = new Environment().registerVariable('predicate', 'dyn');
function parseAst(source: string): unknown {
  return env.parse(source).ast;
}

describe('CEL cost', () => {
  describe('estimateCost', () => {
    it('counts `in` over an input list: a loop with `in` grows with n², a loop alone with n', () => {
      const withIn = parseAst('predicate.a.all(x, x in predicate.b)');
      const plain = parseAst('predicate.a.all(x, x != "")');
      expect(estimateCost(withIn, 1000) / estimateCost(withIn, 100)).toBeGreaterThan(50);
      expect(estimateCost(plain, 1000) / estimateCost(plain, 100)).toBeLessThan(11);
    });

    it('counts the characters contains() reads and the elements of literal lists', () => {
      const short = estimateCost(parseAst('"ab".contains("a")'), 1);
      const long = estimateCost(parseAst(`"${'a'.repeat(2000)}".contains("a")`), 1);
      expect(long - short).toBeGreaterThanOrEqual(1998);
      const nested = estimateCost(parseAst(`${literal(100)}.all(x, ${literal(100)}.all(y, x != y))`), 1);
      expect(nested).toBeGreaterThan(100 * 100);
    });

    it('multiplies nested loops', () => {
      const one = estimateCost(parseAst('predicate.a.all(x, x != 1)'), 1000);
      const two = estimateCost(parseAst('predicate.a.all(x, predicate.a.all(y, x != y))'), 1000);
      expect(two / one).toBeGreaterThan(500);
    });
  });

  describe('at load', () => {
    it('refuses a condition whose literal loops alone exceed the step budget (POLICY_INVALID)', () => {
      const lit = literal(300);
      const source = `${lit}.all(x, ${lit}.all(y, ${lit}.all(z, x + y + z >= 0)))`;
      expect(() => compileCondition(source, WHERE)).toThrowWithCode(
        'POLICY_INVALID',
        /condition too costly: its literals alone cost an estimated \d+ steps.*over the budget of 500000/,
      );
    });

    it('accepts ordinary conditions', () => {
      expect(() =>
        compileCondition('predicate.packages.all(p, !(p.name in ["log4j-core", "xz-utils"]))', WHERE),
      ).not.toThrow();
    });
  });

  describe('when evaluating', () => {
    it('stops `a.all(x, x in b)` on two 60,000-element lists at the step budget: CONDITION_COST_EXCEEDED, not true', () => {
      const cond = compileCondition('predicate.a.all(x, x in predicate.b)', WHERE);
      const list = names(60_000);
      expect(cond.evaluate(input({ a: list, b: list }))).toMatchObject({
        ok: false,
        code: 'CONDITION_COST_EXCEEDED',
        message: expect.stringContaining(`${DEFAULT_STEP_BUDGET} steps`),
      });
      // The same condition on small lists is simply true.
      expect(cond.evaluate(input({ a: names(100), b: names(100) }))).toEqual({
        ok: true,
        value: true,
        seen: [],
      });
    });

    it('charges contains() the length of the string it scans', () => {
      const cond = compileCondition('predicate.words.all(w, !predicate.text.contains(w))', WHERE);
      const r = cond.evaluate(input({ words: names(5_000), text: 'y'.repeat(1_000_000) }));
      expect(r).toMatchObject({ ok: false, code: 'CONDITION_COST_EXCEEDED' });
    });

    it('bounds a passing condition over literal lists only (no input read at all)', () => {
      const lit = literal(150);
      const cond = compileCondition(`${lit}.all(x, ${lit}.all(y, x + y >= 0))`, WHERE);
      expect(cond.evaluate(input({}))).toEqual({ ok: true, value: true, seen: [] });
      expect(cond.evaluate(input({}), undefined, 50_000)).toMatchObject({
        ok: false,
        code: 'CONDITION_COST_EXCEEDED',
      });
    });

    it('lets a linear scan of a 40,000-package SBOM pass under the default budget', () => {
      const cond = compileCondition('predicate.packages.all(p, p.name != "log4j-core")', WHERE);
      const packages = names(40_000).map((name) => ({ name }));
      expect(cond.evaluate(input({ packages }))).toEqual({ ok: true, value: true, seen: [] });
    });

    it('charges == and `in` the nested size of what they compare: 1000×1000 lists in a loop stop at the budget', () => {
      const square = (n: number): number[][] =>
        Array.from({ length: n }, () => Array.from({ length: n }, (_, j) => j));
      const equal = compileCondition('predicate.c.all(x, predicate.a == predicate.b)', WHERE);
      const member = compileCondition('predicate.c.all(x, predicate.a[0] in predicate.b)', WHERE);
      const big = { a: square(1000), b: square(1000), c: names(1000) };
      // charged by the top-level length (1000 per operand) this was 6 s of CPU, and true
      expect(equal.evaluate(input(big))).toMatchObject({ ok: false, code: 'CONDITION_COST_EXCEEDED' });
      expect(member.evaluate(input(big))).toMatchObject({ ok: false, code: 'CONDITION_COST_EXCEEDED' });
      const small = { a: square(10), b: square(10), c: names(10) };
      expect(equal.evaluate(input(small))).toEqual({ ok: true, value: true, seen: [] });
      expect(member.evaluate(input(small))).toEqual({ ok: true, value: true, seen: [] });
      // nor is `k in map` a hash lookup in the library: 10,000 of them in a 10,000-key map took 9.5 s
      const keys = names(10_000);
      const lookup = compileCondition('predicate.keys.all(k, k in predicate.map)', WHERE);
      const map = Object.fromEntries(keys.map((k) => [k, 1]));
      expect(lookup.evaluate(input({ keys, map }))).toMatchObject({
        ok: false,
        code: 'CONDITION_COST_EXCEEDED',
      });
      const few = names(100);
      expect(lookup.evaluate(input({ keys: few, map: Object.fromEntries(few.map((k) => [k, 1])) }))).toEqual({
        ok: true,
        value: true,
        seen: [],
      });
    });

    it(`re-runs a false condition for the values it read only up to ${RERUN_STEP_LIMIT} steps`, () => {
      const cond = compileCondition('!predicate.packages.exists(p, p.name == "log4j-core")', WHERE);
      const withLog4j = (n: number) => ({
        packages: [...names(n).map((name) => ({ name })), { name: 'log4j-core' }],
      });
      const short = cond.evaluate(input(withLog4j(10)));
      expect(short).toMatchObject({ ok: true, value: false });
      expect(short.ok && short.seen.length).toBeGreaterThan(0);
      expect(cond.evaluate(input(withLog4j(20_000)))).toEqual({ ok: true, value: false, seen: [] });
    });
  });
});
