import { describe, expect, it } from 'vitest';
import { parseInterval } from '../../../src/cli/interval.js';

describe('parseInterval', () => {
  it('accepts Go-style h, m and s terms, alone, fractional or in sequence', () => {
    const cases: [string, number][] = [
      ['30m', 1_800_000],
      ['1h', 3_600_000],
      ['1h30m', 5_400_000],
      ['1.5h', 5_400_000],
      ['90s', 90_000],
      ['1m30s', 90_000],
      ['2h0m0s', 7_200_000],
    ];
    expect(cases.map(([text]) => parseInterval('background-audit', text))).toEqual(cases.map(([, ms]) => ms));
  });

  it('refuses other spellings and units with USAGE, naming the flag', () => {
    for (const bad of ['', '30', '1d', '1ms', '1h 30m', '-5m', 'm30']) {
      expect(() => parseInterval('background-audit', bad)).toThrowWithCode('USAGE');
    }
    expect(() => parseInterval('background-audit', '1d')).toThrow(
      '--background-audit must be a duration like 1h or 30m (got "1d")',
    );
  });

  it('refuses anything under one minute', () => {
    expect(() => parseInterval('background-audit', '59s')).toThrow(
      '--background-audit must be at least 1m (got "59s")',
    );
    expect(parseInterval('background-audit', '60s')).toBe(60_000);
  });
});
