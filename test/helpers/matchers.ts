/**
 * Custom matchers, registered for every project through `setupFiles` in vitest.config.ts.
 *
 * `toThrowWithCode(code, details?)` asserts that an error with that `code` (an ImagegateError, or
 * any Error carrying `code`) is thrown:
 *   expect(() => parse('x')).toThrowWithCode('INVALID_REFERENCE');
 *   await expect(fetchIt()).rejects.toThrowWithCode('TIMEOUT', { indeterminate: true });
 *   await expect(fetchIt()).toThrowWithCode('TIMEOUT'); // a promise: awaits its rejection
 * `details` is a RegExp for the message or an object the error must contain (like toMatchObject).
 */
import { expect } from 'vitest';

type Details = RegExp | Record<string, unknown>;

interface CodeMatchers<R = unknown> {
  toThrowWithCode(code: string, details?: Details): R;
}

declare module 'vitest' {
  // The type parameter must match vitest's own declaration (`Assertion<T = any>`).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends CodeMatchers<T> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends CodeMatchers {}
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

type Outcome = { threw: true; error: unknown } | { threw: false; value: unknown };

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code !== undefined ? ` [${String(code)}]` : ''}: ${error.message}`;
  }
  return `non-Error ${JSON.stringify(error)}`;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export function codeMatcher(
  equals: (a: unknown, b: unknown) => boolean,
  isNot: boolean,
  outcome: Outcome,
  code: string,
  details: Details | undefined,
): MatcherResult {
  const not = isNot ? 'not ' : '';
  if (!outcome.threw) {
    return {
      pass: false,
      message: () => `expected an error with code ${code} to be thrown, but nothing was thrown`,
    };
  }
  const { error } = outcome;
  const actual = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  let pass = error instanceof Error && actual === code;
  let wanted = `code ${code}`;
  if (pass && details instanceof RegExp) {
    pass = details.test((error as Error).message);
    wanted += ` and a message matching ${String(details)}`;
  } else if (pass && details !== undefined) {
    pass = equals(error, expect.objectContaining(details));
    wanted += ` and ${JSON.stringify(details)}`;
  }
  return { pass, message: () => `expected ${not}an error with ${wanted}, got ${describeError(error)}` };
}

expect.extend({
  toThrowWithCode(received: unknown, code: string, details?: Details) {
    const done = (outcome: Outcome): MatcherResult =>
      codeMatcher((a, b) => this.equals(a, b), this.isNot, outcome, code, details);
    // `.rejects` hands over the rejection reason itself
    if (this.promise === 'rejects') return done({ threw: true, error: received });
    const settle = (p: PromiseLike<unknown>): Promise<MatcherResult> =>
      Promise.resolve(p).then(
        (value) => done({ threw: false, value }),
        (error: unknown) => done({ threw: true, error }),
      );
    if (isThenable(received)) return settle(received);
    if (typeof received !== 'function') {
      throw new TypeError('toThrowWithCode expects a function, a promise, or .rejects');
    }
    let result: unknown;
    try {
      result = (received as () => unknown)();
    } catch (error) {
      return done({ threw: true, error });
    }
    return isThenable(result) ? settle(result) : done({ threw: false, value: result });
  },
});
