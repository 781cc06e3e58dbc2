import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicySources } from '../../../src/policy/load.js';
import {
  compileException,
  DEFAULT_MAX_EXCEPTION_MS,
  exceptionState,
  validateExceptionDocument,
} from '../../../src/policy/exceptions.js';
import {
  clusterExceptionHandler,
  exceptionCounts,
  ExceptionStore,
} from '../../../src/policy/exception-store.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const LIMITS = { now: NOW, maxDurationMs: DEFAULT_MAX_EXCEPTION_MS };
const IN_3_DAYS = '2026-12-10T12:00:00Z';

function doc(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicyException',
    metadata: { name: 'hotfix', namespace: 'team-a', ...metadata },
    spec,
  };
}

const WILDCARD = { policies: ['strict'], images: [{ glob: '**' }] };
const VALID = { ...WILDCARD, reason: 'vendor image, unsigned until Q1', expires: IN_3_DAYS };

describe('validateExceptionDocument', () => {
  describe('a wildcard exception', () => {
    it('still needs a reason', () => {
      expect(() =>
        validateExceptionDocument(doc({ ...WILDCARD, expires: IN_3_DAYS }), 'e.yaml', LIMITS),
      ).toThrowWithCode('POLICY_INVALID');
      expect(() =>
        validateExceptionDocument(doc({ ...WILDCARD, expires: IN_3_DAYS, reason: '   ' }), 'e.yaml', LIMITS),
      ).toThrow(/spec\.reason/);
    });

    it('still needs an expiry', () => {
      expect(() => validateExceptionDocument(doc({ ...WILDCARD, reason: 'why' }), 'e.yaml', LIMITS)).toThrow(
        /spec\.expires: .*found missing/,
      );
    });

    it('loads with both', () => {
      expect(validateExceptionDocument(doc(VALID), 'e.yaml', LIMITS).spec.images).toEqual([{ glob: '**' }]);
    });
  });

  it('refuses an expiry further ahead than --max-exception-duration, naming the flag', () => {
    expect(() =>
      validateExceptionDocument(doc({ ...VALID, expires: '2027-02-01T00:00:00Z' }), 'e.yaml', LIMITS),
    ).toThrow(/spec\.expires: .* at most 30d \(--max-exception-duration\)/);
    expect(() =>
      validateExceptionDocument(doc({ ...VALID, expires: '2026-12-09T12:00:01Z' }), 'e.yaml', {
        now: NOW,
        maxDurationMs: 2 * 86_400_000,
      }),
    ).toThrowWithCode('POLICY_INVALID');
  });

  it('refuses a time that is not RFC 3339 with a zone', () => {
    expect(() =>
      validateExceptionDocument(doc({ ...VALID, expires: '2026-12-10' }), 'e.yaml', LIMITS),
    ).toThrow(/spec\.expires/);
  });

  it('applies the policies’ glob checks to spec.images', () => {
    expect(() =>
      validateExceptionDocument(doc({ ...VALID, images: [{ glob: 'nginx*' }] }), 'e.yaml', LIMITS),
    ).toThrow(/spec\.images\[0\]\.glob: "nginx\*" can never match/);
  });

  it('needs a namespace: an exception applies only in its own', () => {
    const d = doc(VALID);
    delete (d.metadata as { namespace?: string }).namespace;
    expect(() => validateExceptionDocument(d, 'e.yaml', LIMITS)).toThrow(/metadata\.namespace/);
  });

  it('refuses an unknown check name', () => {
    expect(() =>
      validateExceptionDocument(doc({ ...VALID, checks: ['signatures'] }), 'e.yaml', LIMITS),
    ).toThrow(/spec\.checks\[0\]: must be one of signature, size, base, attestations, digest/);
  });
});

describe('exceptionState', () => {
  const e = compileException(validateExceptionDocument(doc(VALID), 'e.yaml', LIMITS));
  it('is Active before expiry, Expired from the second it expires', () => {
    expect(exceptionState(e, Date.parse(IN_3_DAYS) - 1, () => true).phase).toBe('Active');
    expect(exceptionState(e, Date.parse(IN_3_DAYS), () => true).phase).toBe('Expired');
  });
  it('is Invalid while a policy it names is not in force, naming it', () => {
    expect(exceptionState(e, NOW, () => false)).toEqual({
      phase: 'Invalid',
      message: expect.stringContaining('not in force: strict') as string,
    });
  });
});

describe('clusterExceptionHandler', () => {
  const make = () => {
    const store = new ExceptionStore();
    let now = NOW;
    const warnings: string[] = [];
    const handler = clusterExceptionHandler(store, {
      now: () => now,
      maxDurationMs: DEFAULT_MAX_EXCEPTION_MS,
      policyExists: (name) => name === 'strict',
      logger: { warn: (_o: object, m: string) => void warnings.push(m) } as never,
    });
    return { store, handler, warnings, setNow: (t: number) => (now = t) };
  };

  it('gives each resource its phase, installs only the valid ones and asks to look again at the next expiry', () => {
    const { store, handler } = make();
    const verdict = handler([
      doc(VALID, { name: 'ok' }),
      doc({ ...VALID, policies: ['gone'] }, { name: 'names-missing' }),
      doc({ ...VALID, expires: '2026-12-01T00:00:00Z' }, { name: 'old' }),
      doc({ ...WILDCARD, expires: IN_3_DAYS }, { name: 'no-reason' }),
    ]);
    expect(verdict.states).toEqual([
      { name: 'team-a/ok', phase: 'Active', message: expect.any(String) as string },
      { name: 'team-a/names-missing', phase: 'Invalid', message: expect.stringContaining('gone') as string },
      { name: 'team-a/old', phase: 'Expired', message: expect.any(String) as string },
      {
        name: 'team-a/no-reason',
        phase: 'Invalid',
        message: expect.stringContaining('spec.reason') as string,
      },
    ]);
    expect(verdict.recheckAt).toBe(Date.parse(IN_3_DAYS));
    expect(store.all().map((e) => e.id)).toEqual(['team-a/ok', 'team-a/names-missing', 'team-a/old']);
    expect(exceptionCounts(store.all(), NOW, (n) => n === 'strict')).toEqual({
      Active: 1,
      Expired: 1,
      Invalid: 1,
      expiringSoon: 1,
    });
  });

  it('measures the expiry bound from when the spec was written, not from now (a restart changes nothing)', () => {
    const { handler } = make();
    const day = 86_400_000;
    const expires = new Date(NOW + 20 * day).toISOString();
    const written = (at: number) => ({
      creationTimestamp: new Date(at - day).toISOString(),
      managedFields: [
        { manager: 'kubectl', operation: 'Update', time: new Date(at).toISOString() },
        // imagegate's own status writes do not count
        {
          manager: 'imagegate',
          operation: 'Update',
          subresource: 'status',
          time: new Date(NOW).toISOString(),
        },
      ],
    });
    const verdict = handler([
      doc({ ...VALID, expires }, { name: 'written-40d-ago', ...written(NOW - 40 * day) }),
      doc({ ...VALID, expires }, { name: 'written-today', ...written(NOW - 1000) }),
    ]);
    expect(verdict.states?.map((st) => [st.name, st.phase])).toEqual([
      ['team-a/written-40d-ago', 'Invalid'],
      ['team-a/written-today', 'Active'],
    ]);
    expect(verdict.states?.[0]?.message).toContain('--max-exception-duration');
  });

  it('drops a deleted resource', () => {
    const { store, handler } = make();
    handler([doc(VALID)]);
    handler([]);
    expect(store.all()).toEqual([]);
  });
});

describe('loadPolicySources', () => {
  it('reads exceptions beside policies and refuses the same namespace/name twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ig-exc-'));
    const policy =
      'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: strict }\nspec:\n  images: [{ glob: "**" }]\n';
    const exc = `apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicyException\nmetadata: { name: hotfix, namespace: team-a }\nspec:\n  policies: [strict]\n  images: [{ glob: "**" }]\n  reason: why\n  expires: "${IN_3_DAYS}"\n`;
    await writeFile(join(dir, 'a.yaml'), `${policy}---\n${exc}`);
    const loaded = await loadPolicySources([dir], LIMITS);
    expect(loaded.policies.map((p) => p.metadata.name)).toEqual(['strict']);
    expect(loaded.exceptions.map((e) => e.metadata.name)).toEqual(['hotfix']);
    await writeFile(join(dir, 'b.yaml'), exc);
    await expect(loadPolicySources([dir], LIMITS)).rejects.toThrow(/"team-a\/hotfix" is already defined/);
  });
});
