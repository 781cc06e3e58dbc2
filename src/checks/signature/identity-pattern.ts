/**
 * Identity patterns (`subjectRegExp`, `issuerRegExp`): written by a policy author, run on text an
 * attacker chooses (anyone can get a Fulcio certificate for a chosen e-mail or URI). They are
 * compiled with RE2 semantics by re2js, a JavaScript port of RE2 that matches in time linear in
 * the input, so `(a+)+$` against a crafted SAN costs what `a+$` does. The price is RE2's syntax:
 * no backreferences and no lookaround; such patterns are refused at load with the engine's
 * message. This is the only module that imports re2js.
 */
import { RE2JS } from 're2js';
import { errorMessage } from '../../errors.js';

export interface IdentityPattern {
  /** `/^(?:x)$/`: what denial messages show as "wanted". */
  readonly describe: string;
  test(value: string): boolean;
}

/** Longest value tested: a SAN or issuer longer than this never matches (and costs nothing). */
export const MAX_IDENTITY_LENGTH = 8192;

/**
 * Anchored: the whole value must match (`https://github.com/acme/.*` is no prefix test). Throws an
 * Error whose message says why a pattern is refused (callers add the field).
 */
export function compileIdentityPattern(source: string): IdentityPattern {
  const anchored = `^(?:${source})$`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(anchored);
  } catch (err) {
    throw new Error(
      `not a valid regular expression in RE2 syntax (${errorMessage(err)}); identity patterns run in linear time on attacker-chosen text, so backreferences and lookaround are not available`,
    );
  }
  return {
    describe: `/${anchored}/`,
    test: (value) => value.length <= MAX_IDENTITY_LENGTH && re.matches(value),
  };
}
