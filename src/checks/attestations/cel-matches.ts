/**
 * CEL's `matches()` with RE2 semantics, as the CEL specification defines it. The CEL library runs
 * `matches()` on JavaScript's backtracking engine, and a condition's input is the attacker's
 * attestation: `x.matches("(a+)+$")` on 31 crafted characters took about 170 s here. The library
 * does not let a standard function be replaced, so conditions are rewritten at load: every call
 * of `matches` (receiver or global form) becomes `re2Matches`, registered here on re2js (linear
 * time in the input, like the identity patterns). Literal patterns are compiled at load, so a
 * pattern RE2 cannot run (backreferences, lookaround) is a policy error, not a runtime one.
 */
import { RE2JS } from 're2js';
import { errorMessage } from '../../errors.js';

export const RE2_MATCHES = 're2Matches';
/** Longest pattern compiled at evaluation (a pattern may come from the input). */
const MAX_PATTERN_LENGTH = 1024;

/**
 * One condition's `matches()`: its literal patterns compiled once, at load, and held by the
 * compiled condition (cel.ts), so nothing is shared between conditions, policies or engines. A
 * pattern that comes from the input is compiled at each call (RE2 compiles in time linear in the
 * pattern, at most MAX_PATTERN_LENGTH characters); caching it would let an attacker's patterns fill
 * memory.
 */
export class Re2Matcher {
  constructor(readonly literals: ReadonlyMap<string, RE2JS>) {}

  /** Unanchored search, as CEL's `matches` (RE2 PartialMatch). */
  matches(value: string, pattern: string): boolean {
    let re = this.literals.get(pattern);
    if (re === undefined) {
      if (pattern.length > MAX_PATTERN_LENGTH)
        throw new Error(`matches(): pattern longer than ${MAX_PATTERN_LENGTH} characters`);
      re = RE2JS.compile(pattern);
    }
    return re.matcher(value).find();
  }
}

interface Node {
  op?: unknown;
  args?: unknown;
  start?: unknown;
  end?: unknown;
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && 'op' in v;

/**
 * Where each `matches` name starts in `source`, and the literal patterns it is called with. `call`
 * nodes start at the name; for `rcall` the name follows the receiver and a dot.
 */
function findMatches(source: string, ast: unknown): { names: number[]; literals: string[] } {
  const names: number[] = [];
  const literals: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isNode(v)) return;
    const args = Array.isArray(v.args) ? (v.args as unknown[]) : [];
    if ((v.op === 'call' || v.op === 'rcall') && args[0] === 'matches') {
      const params = (v.op === 'call' ? args[1] : args[2]) as unknown[];
      const pattern = Array.isArray(params) ? params[params.length - 1] : undefined;
      if (isNode(pattern) && pattern.op === 'value' && typeof pattern.args === 'string')
        literals.push(pattern.args);
      if (v.op === 'call' && typeof v.start === 'number') names.push(v.start);
      const receiver = args[1];
      if (v.op === 'rcall' && isNode(receiver) && typeof receiver.end === 'number') {
        const m = /^\s*\.\s*/.exec(source.slice(receiver.end, receiver.end + 64));
        if (m !== null && source.startsWith('matches', receiver.end + m[0].length)) {
          names.push(receiver.end + m[0].length);
        }
      }
    }
    visit(v.args);
  };
  visit(ast);
  return { names, literals };
}

/**
 * The condition with every `matches` call renamed to `re2Matches` and its matcher (literal patterns
 * compiled), or the problem with one of its literal patterns. Only the call names at the positions
 * the parser reported are rewritten (never text inside string literals).
 */
export function toRe2Matches(
  source: string,
  ast: unknown,
): { source: string; matcher: Re2Matcher } | { problem: string } {
  const { names, literals } = findMatches(source, ast);
  const compiled = new Map<string, RE2JS>();
  for (const pattern of literals) {
    try {
      compiled.set(pattern, RE2JS.compile(pattern));
    } catch (err) {
      return {
        problem: `matches("${pattern.slice(0, 80)}"): not a valid regular expression in RE2 syntax (${errorMessage(err)}); CEL's matches() uses RE2 (linear time on attacker-chosen text): no backreferences or lookaround`,
      };
    }
  }
  let out = source;
  for (const at of [...new Set(names)].sort((a, b) => b - a)) {
    out = `${out.slice(0, at)}${RE2_MATCHES}${out.slice(at + 'matches'.length)}`;
  }
  return { source: out, matcher: new Re2Matcher(compiled) };
}
