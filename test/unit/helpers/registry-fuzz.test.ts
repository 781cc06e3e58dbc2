/**
 * The registry fuzzer's own parts (test/helpers/registry-fuzz): cases are reproducible, the
 * known-open classes leave out what they say, and the oracle flags what it must (else the fuzz run
 * would pass whatever imagegate answers).
 */
import { describe, expect, it } from 'vitest';
import type { AuditImage } from '../../../src/audit/types.js';
import { KNOWN_OPEN_CLASSES, knownOpen } from '../../helpers/registry-fuzz/known-open.js';
import { judge } from '../../helpers/registry-fuzz/oracle.js';
import { scenarios, wellFormed } from '../../helpers/registry-fuzz/run.js';
import { authRefuses, type ImageScenario } from '../../helpers/registry-fuzz/scenario.js';
import { buildWorld } from '../../helpers/registry-fuzz/world.js';

const sign = (b: Buffer): Buffer => b.subarray(0, 8);
const world = (s: ImageScenario) =>
  buildWorld(s, { id: 'c1', host: '127.0.0.1:5000', key: sign, otherKey: sign });
const audited = (
  result: string,
  checks: Array<{ code: string; passed?: boolean; indeterminate?: boolean }> = [],
): AuditImage => ({
  image: 'x',
  policies: [
    {
      policy: 'p',
      mode: 'enforce',
      result,
      checks: checks.map((c) => ({
        check: 'signature',
        passed: c.passed ?? false,
        code: c.code,
        message: 'm',
        durationMs: 1,
        ...(c.indeterminate === true ? { indeterminate: true } : {}),
      })),
    },
  ],
});
const none = new Set<never>();

describe('registry fuzzer', () => {
  describe('scenarios', () => {
    it('gives case i the same scenario whatever the run size', () => {
      const open = knownOpen();
      expect(scenarios(7, 40, open)[31]).toEqual(scenarios(7, 200, open)[31]);
      expect(scenarios(7, 40, open)).not.toEqual(scenarios(8, 40, open));
    });

    it('leaves out no class: every known-open class is closed, slow request bodies included', () => {
      const open = knownOpen();
      expect([...open]).toEqual(Object.keys(KNOWN_OPEN_CLASSES));
      expect(open.size).toBe(0);
      const all = scenarios(11, 3000, open);
      expect(all.some((s) => s.slowBodies.connections > 0)).toBe(true);
      expect(all.some((s) => s.slowBodies.fill && s.slowBodies.bytes > 1024 * 1024)).toBe(true);
    });

    it('generates the classes switched on (registry JSON, refusals, big tokens and predicates, spellings)', () => {
      const all = scenarios(11, 3000, knownOpen());
      const registryJson = ['index', 'manifest', 'config', 'referrers', 'sig', 'att'];
      const bigToken = (s: ImageScenario) =>
        s.auth.kind === 'bearer' && s.auth.answer.kind === 'token' && s.auth.answer.bytes > 64 * 1024;
      expect(all.some((s) => s.mutations.some((m) => registryJson.includes(m.doc)))).toBe(true);
      expect(all.some((s) => s.mutations.length > 0 && s.onError === 'allow')).toBe(true);
      expect(all.some((s) => authRefuses(s.auth) && s.onError === 'allow')).toBe(true);
      expect(all.some(bigToken)).toBe(true);
      expect(all.some((s) => s.pad.predicate > 12 * 1024 * 1024)).toBe(true);
      expect(all.some((s) => s.att.repeat > 4)).toBe(true);
      expect(all.some((s) => s.index?.others.includes('linux/x86_64'))).toBe(true);
    });

    it('never changes a scenario while rendering it: case i is the same after any cases before it', () => {
      // a mutation descending into the value an earlier one set (seed 20261207 case 1302's shape)
      // once wrote into fast-check's shared `[12345]`: case 17707's config read `diff_ids: ["x"]`
      // after 17,707 cases, `[12345]` alone (docs/security.md, "Last documented run")
      const shared = [12345];
      const s: ImageScenario = {
        ...wellFormed(false),
        mutations: [
          { doc: 'config', path: ['history'], value: { kind: 'json', json: shared } },
          { doc: 'config', path: ['history', 0], value: { kind: 'json', json: 'x' } },
        ],
      };
      const before = structuredClone(s);
      const first = world(s);
      expect(shared).toEqual([12345]);
      expect(s).toEqual(before);
      expect(world(s).topDigest).toBe(first.topDigest);
      const later: ImageScenario = {
        ...wellFormed(false),
        mutations: [{ doc: 'config', path: ['rootfs', 'diff_ids'], value: { kind: 'json', json: shared } }],
      };
      expect(world(later).topDigest).toBe(world(structuredClone(later)).topDigest);
    });

    it('refuses an unknown class name', () => {
      expect(() => knownOpen('nope')).toThrow(/unknown known-open class nope/);
      // a closed class is no longer a name to leave out
      expect(() => knownOpen('slow-request-bodies')).toThrow(/unknown known-open class slow-request-bodies/);
    });
  });

  describe('the oracle', () => {
    it('accepts a pass of well-formed content and flags a well-formed image denied for its content', () => {
      const w = world(wellFormed(false));
      expect(judge(w, audited('pass'), none)).toEqual([]);
      expect(judge(w, audited('fail', [{ code: 'SIGNATURE_INVALID' }]), none)).toMatchObject([
        { property: 'well-formed-content-admitted' },
      ]);
      expect(judge(w, audited('fail', [{ code: 'TIMEOUT', indeterminate: true }]), none)).toEqual([]);
    });

    it('flags a pass once a malformed document it rests on was delivered, not before', () => {
      const w = world({
        ...wellFormed(false),
        mutations: [{ doc: 'manifest', path: ['layers', 0, 'size'], value: { kind: 'json', json: '1000' } }],
      });
      expect(w.mutated.has('manifest')).toBe(true);
      expect(judge(w, audited('pass'), none)).toEqual([]);
      w.delivered.add('manifest');
      expect(judge(w, audited('pass'), none)).toMatchObject([
        { property: 'never-admitted-unchecked', detail: expect.stringContaining('malformed manifest') },
      ]);
    });

    it('takes a config whose diff_ids[0] is not a sha256 digest as malformed: a pass is flagged, the denial imagegate gives is not', () => {
      const w = world({
        ...wellFormed(false),
        onError: 'allow',
        mutations: [
          { doc: 'config', path: ['rootfs', 'diff_ids', 0], value: { kind: 'json', json: 'sha256:xyz' } },
        ],
      });
      expect(w.mutated.has('config')).toBe(true);
      w.delivered.add('config');
      expect(judge(w, audited('pass'), none)).toMatchObject([
        { property: 'never-admitted-unchecked', detail: expect.stringContaining('malformed config') },
      ]);
      // what imagegate answers since diff_ids are checked (parseConfig): a content finding, never
      // an outage onError: allow could admit
      expect(judge(w, audited('fail', [{ code: 'REGISTRY_CONTENT_INVALID' }]), none)).toEqual([]);
      expect(judge(w, audited('error-allowed', [{ code: 'REGISTRY_CONTENT_INVALID' }]), none)).toMatchObject([
        { property: 'onError-only-for-availability' },
      ]);
      const generated = scenarios(11, 3000, knownOpen()).flatMap((s) => s.mutations);
      expect(generated.some((m) => m.doc === 'config' && m.path.join('.') === 'rootfs.diff_ids.0')).toBe(
        true,
      );
    });

    it('flags onError: allow admitting anything but an outage, and INTERNAL_ERROR', () => {
      const w = world({ ...wellFormed(false), sig: { kind: 'wrong-key', junk: 0 } });
      expect(judge(w, audited('error-allowed', [{ code: 'TIMEOUT', indeterminate: true }]), none)).toEqual(
        [],
      );
      expect(
        judge(w, audited('error-allowed', [{ code: 'UNAUTHORIZED', indeterminate: true }]), none),
      ).toMatchObject([{ property: 'onError-only-for-availability' }]);
      expect(
        judge(w, audited('fail', [{ code: 'INTERNAL_ERROR', indeterminate: true }]), none),
      ).toMatchObject([{ property: 'no-unexpected-exception' }]);
      expect(judge(w, audited('pass'), none)).toMatchObject([
        { property: 'never-admitted-unchecked', detail: expect.stringContaining('signature wrong-key') },
      ]);
    });
  });
});
