/**
 * Event names (issue 20, property 7): `<object>.imagegate-<digest>` must be a valid DNS subdomain for
 * any object name; cutting a long name at 200 characters used to leave a `-` or `.` before the dot.
 */
import { describe, expect, it } from 'vitest';
import { eventName } from '../../../src/kube/events.js';

/** RFC 1123 subdomain, as the API server validates metadata.name. */
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DIGEST = '0123456789abcdef';

describe('eventName', () => {
  it.each([
    ['a short name', 'api'],
    ['character 200 is "-"', `${'a'.repeat(199)}-${'b'.repeat(40)}`],
    ['character 200 is "."', `${'a'.repeat(199)}.${'b'.repeat(40)}`],
    ['characters 198–200 are "-.-"', `${'a'.repeat(197)}-.-${'b'.repeat(40)}`],
    ['a 253-character name', `${'a'.repeat(100)}.${'b'.repeat(152)}`],
  ])('is a valid DNS subdomain when %s', (_what, name) => {
    const result = eventName(name, DIGEST);
    expect(result).toMatch(SUBDOMAIN);
    expect(result.endsWith(`.imagegate-${DIGEST}`)).toBe(true);
  });

  it('keeps a short name as it is', () => {
    expect(eventName('api', DIGEST)).toBe(`api.imagegate-${DIGEST}`);
  });
});
