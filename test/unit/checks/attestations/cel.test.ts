/**
 * CEL conditions: compiled at policy load (syntax and type errors name the field and position),
 * evaluated with a read budget over attacker-supplied JSON, reporting the values they read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCondition, type ConditionInput } from '../../../../src/checks/attestations/cel.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';

const WHERE = 'policy "p" attestations[0].condition';
const image = { reference: 'r.test/app@sha256:ab', digest: 'sha256:ab', platform: 'linux/amd64' };
const input = (predicate: unknown): ConditionInput => ({
  predicate,
  statement: { predicateType: 'x', subject: [{ digest: { sha256: 'ab' } }], predicate },
  image,
});
const predicate = (name: string): unknown =>
  JSON.parse(readFileSync(fixturePath('sigstore-bundles', 'predicates', name), 'utf8'));

describe('compileCondition', () => {
  describe('when the expression does not parse', () => {
    it('throws POLICY_INVALID naming the field, line and column', () => {
      expect(() => compileCondition('predicate.x ==', WHERE)).toThrowWithCode('POLICY_INVALID', {
        message: `${WHERE}: CEL syntax error at line 1, column 15: Unexpected token: EOF`,
      });
    });
  });

  describe('when the expression does not type-check', () => {
    it('rejects unknown variables and bad overloads with their position', () => {
      expect(() => compileCondition('pkg.name == "x"', WHERE)).toThrow(
        `${WHERE}: CEL type error at line 1, column 1: Unknown variable: pkg`,
      );
      expect(() => compileCondition('has(predicate.x) &&\n  predicate.y + 1 == "q"', WHERE)).toThrow(
        /CEL type error at line 2, column \d+: no such overload/,
      );
    });

    it('rejects a non-boolean result type', () => {
      expect(() => compileCondition('size(image.reference)', WHERE)).toThrowWithCode('POLICY_INVALID', {
        message: `${WHERE}: condition has type int; it must be bool`,
      });
    });
  });

  describe('when evaluating', () => {
    const noLog4j = compileCondition(
      '!predicate.packages.exists(p, p.name == "log4j-core" && p.versionInfo.startsWith("2.14"))',
      WHERE,
    );

    it('is true for a clean SBOM (values are only collected for a denial) and false with the values read last for a forbidden package', () => {
      expect(noLog4j.evaluate(input({ packages: [{ name: 'zlib', versionInfo: '1.3' }] }))).toEqual({
        ok: true,
        value: true,
        seen: [],
      });
      const r = noLog4j.evaluate(
        input({
          packages: [
            { name: 'zlib', versionInfo: '1.3' },
            { name: 'log4j-core', versionInfo: '2.14.1' },
          ],
        }),
      );
      expect(r).toMatchObject({ ok: true, value: false });
      expect(r.ok && r.seen.slice(-2)).toEqual([
        'predicate.packages[1].name="log4j-core"',
        'predicate.packages[1].versionInfo="2.14.1"',
      ]);
    });

    it('reports a missing field as CONDITION_ERROR, not as false', () => {
      expect(noLog4j.evaluate(input({ components: [] }))).toEqual({
        ok: false,
        code: 'CONDITION_ERROR',
        message: 'evaluation failed: No such key: packages',
      });
    });

    it('stops a quadratic scan at the read budget with CONDITION_COST_EXCEEDED', () => {
      const nested = compileCondition(
        'predicate.packages.all(p, predicate.packages.exists(q, q.name == p.name))',
        WHERE,
      );
      const packages = Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}` }));
      expect(nested.evaluate(input({ packages }), 100_000)).toMatchObject({
        ok: false,
        code: 'CONDITION_COST_EXCEEDED',
      });
      // The same scan within budget completes.
      expect(nested.evaluate(input({ packages: packages.slice(0, 50) }), 100_000)).toMatchObject({
        ok: true,
        value: true,
      });
    });

    it('bounds the length of values it reports', () => {
      const c = compileCondition('predicate.note == "x"', WHERE);
      const r = c.evaluate(input({ note: 'y'.repeat(10_000) }));
      expect(r.ok && r.seen[0]!.length).toBeLessThan(120);
    });

    it('keeps the start and the end of a long value it reports', () => {
      const c = compileCondition('predicate.ref == "refs/heads/main"', WHERE);
      const ref = `refs/heads/${'feature-'.repeat(40)}not-main`;
      const r = c.evaluate(input({ ref }));
      expect(r.ok && r.seen).toEqual([
        `predicate.ref=${JSON.stringify(ref).slice(0, 24)}…${JSON.stringify(ref).slice(-56)}`,
      ]);
      expect(r.ok && r.seen[0]).toMatch(/^predicate\.ref="refs\/heads\/feature-.*….*-not-main"$/);
    });

    it('sees image, statement and now', () => {
      const c = compileCondition(
        'image.platform == "linux/amd64" && statement.subject.exists(s, "sha256:" + s.digest.sha256 == image.digest) && now > timestamp("2020-01-01T00:00:00Z")',
        WHERE,
      );
      expect(c.evaluate(input({}))).toMatchObject({ ok: true, value: true });
    });
  });
});

describe.skipIf(!HAVE_FIXTURES)('conditions over real predicates', () => {
  it.each([
    [
      'SPDX 2.x (cosign bom): document fields',
      'predicate.spdxVersion.startsWith("SPDX-2.") && predicate.dataLicense == "CC0-1.0"',
      'cosign-bom-go-mod.spdx.json',
    ],
    [
      'CycloneDX (cosign bom): components',
      'predicate.bomFormat == "CycloneDX" && predicate.components.size() == 0',
      'cosign-bom-go-mod.cyclonedx.json',
    ],
  ])('%s', (_what, condition, fixture) => {
    const c = compileCondition(condition, WHERE);
    expect(c.evaluate(input(predicate(fixture)))).toMatchObject({ ok: true, value: true });
  });

  it('cosign vuln: a scan older than 7 days is false and says when it finished', () => {
    const c = compileCondition(
      'timestamp(predicate.metadata.scanFinishedOn) > now - duration("168h")',
      WHERE,
    );
    const r = c.evaluate(input(predicate('cosign-vuln-predicate.json')));
    expect(r).toMatchObject({ ok: true, value: false });
    expect(r.ok && r.seen).toContain('predicate.metadata.scanFinishedOn="2022-04-12T00:10:00Z"');
  });
});
