/**
 * The JSON fast path's predicate (json-body.ts): plain JSON.parse is used only for bodies in which no
 * key can spell `__proto__` or `constructor`; everything else goes through Fastify's secure parser.
 */
import { describe, expect, it } from 'vitest';
import { cannotSpellPoisonedKeys } from '../../../src/server/json-body.js';
import { podReview } from '../../helpers/admission-fixtures.js';

describe('cannotSpellPoisonedKeys', () => {
  it('lets an ordinary review take the fast path, underscores and all', () => {
    const review = JSON.stringify(podReview(['registry.example.com/team/app:1']));
    expect(cannotSpellPoisonedKeys(review)).toBe(true);
    expect(cannotSpellPoisonedKeys('{"env":[{"name":"MY__VAR","value":"x"}]}')).toBe(true);
  });

  it.each([
    ['a __proto__ key', '{"__proto__":{"polluted":true}}'],
    ['a constructor key', '{"constructor":{"prototype":{"polluted":true}}}'],
    ['a \\u escape that could spell one', '{"\\u005f_proto__":{}}'],
    ['any \\u escape at all', '{"name":"caf\\u00e9"}'],
    ['a byte order mark', '\ufeff{"kind":"AdmissionReview"}'],
  ])('sends %s to the secure parser', (_what, text) => {
    expect(cannotSpellPoisonedKeys(text)).toBe(false);
  });

  it('is sound: whatever it lets through parses to no own __proto__ or constructor key', () => {
    const hasPoison = (v: unknown): boolean =>
      typeof v === 'object' &&
      v !== null &&
      (Object.hasOwn(v, '__proto__') ||
        Object.hasOwn(v, 'constructor') ||
        Object.values(v).some((child) => hasPoison(child)));
    const candidates = [
      '{"__proto__":1}',
      '{"a":{"constructor":1}}',
      '{"\\u005f\\u005fproto\\u005f\\u005f":1}',
      '{"con\\u0073tructor":1}',
      '{"proto":{"__":1},"construct":"or"}',
      '{"a":"__proto__ in a value"}',
    ];
    for (const text of candidates) {
      if (cannotSpellPoisonedKeys(text)) expect(hasPoison(JSON.parse(text)), text).toBe(false);
      else expect(text).toMatch(/proto__|constructor|\\u/);
    }
  });
});
