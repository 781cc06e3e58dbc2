/**
 * Connections remembers what the options say about each host spelling (allowlist verdict, label,
 * origin) to keep URL parses off every request; hosts come from pod specs, so that memory is bounded
 * and must never turn a refusal into a pass.
 */
import { describe, expect, it } from 'vitest';
import { Connections } from '../../../src/registry/connections.js';

describe('per-host facts of the registry connections', () => {
  it('keep refusing metadata addresses and unlisted hosts after 3,000 distinct allowed spellings', async () => {
    const c = new Connections({ allow: ['*.corp.example'] }, {});
    for (let i = 0; i < 3000; i++) c.assertAllowed(`r${i}.corp.example`, 'test');
    for (const refused of ['169.254.169.254', 'x.attacker.example', '[fd00:ec2::254]']) {
      expect(() => c.assertAllowed(refused, 'test')).toThrow(/REGISTRY_NOT_ALLOWED|not in the allowlist/);
      // asked again (the second time would come from the remembered facts)
      expect(() => c.assertAllowed(refused, 'test')).toThrow();
    }
    expect(c.metricLabel('r2999.corp.example')).toBe('r2999.corp.example');
    expect(c.origin('r5.corp.example')).toBe('https://r5.corp.example');
    await c.close();
  });

  it('refuse a metadata address without an allowlist every time, and never remember it as allowed', async () => {
    const c = new Connections({}, {});
    for (let i = 0; i < 1500; i++) c.assertAllowed(`h${i}.example`, 'test');
    for (let k = 0; k < 3; k++) {
      let code: unknown;
      try {
        c.assertAllowed('169.254.169.254', 'test');
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(code).toBe('REGISTRY_NOT_ALLOWED');
    }
    await c.close();
  });
});
