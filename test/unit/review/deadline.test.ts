import { describe, expect, it } from 'vitest';
import { budgetFor, MAX_TIMEOUT_MS, parseTimeout } from '../../../src/review/deadline.js';

describe('parseTimeout', () => {
  describe('when the API server sends a Go duration', () => {
    it.each([
      ['10s', 10_000],
      ['1.5s', 1_500],
      ['500ms', 500],
      ['1m', 30_000],
      ['30s', 30_000],
    ])('reads %s as %d ms (capped at the 30 s maximum)', (value, ms) => {
      expect(parseTimeout(value)).toBe(ms);
    });
  });

  describe('when the value is absent or malformed', () => {
    it.each([undefined, '', '10', 's', '-1s', '0s', '1h', '10 s', ['10s'], 10])('ignores %j', (value) => {
      expect(parseTimeout(value)).toBeUndefined();
    });
  });

  it('never exceeds the maximum', () => {
    expect(parseTimeout('99999999s')).toBe(MAX_TIMEOUT_MS);
  });
});

describe('budgetFor', () => {
  it('keeps a margin of 10% for long timeouts', () => {
    expect(budgetFor(10_000)).toBe(9_000);
    expect(budgetFor(30_000)).toBe(27_000);
  });
  it('keeps at least 500 ms for short timeouts', () => {
    expect(budgetFor(2_000)).toBe(1_500);
    expect(budgetFor(1_000)).toBe(500);
  });
  it('never drops below 100 ms', () => {
    expect(budgetFor(300)).toBe(100);
  });
});
