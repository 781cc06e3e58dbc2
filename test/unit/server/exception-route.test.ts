import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../../src/audit/writer.js';
import type { Engine } from '../../../src/evaluate/engine.js';
import { compilePolicies } from '../../../src/policy/compile.js';
import { exceptionCounts } from '../../../src/policy/exception-store.js';
import { compileException, validateExceptionDocument } from '../../../src/policy/exceptions.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { buildApp } from '../../../src/server/app.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { lineSink } from '../../helpers/server.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const EXPIRES = '2026-12-09T12:00:00Z';

describe('POST /validate with an ImagePolicyException', () => {
  let now = NOW;
  const policies = compilePolicies(
    parsePolicyYaml(
      'apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: pinned }\nspec:\n  images: [{ glob: "registry.example.com/**" }]\n  requireDigest: true\n',
      'p.yaml',
    ),
    {},
  );
  const exception = compileException(
    validateExceptionDocument(
      {
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'ImagePolicyException',
        metadata: { name: 'hotfix', namespace: 'team-a' },
        spec: {
          policies: ['pinned'],
          images: [{ glob: '**' }],
          reason: 'rollback in progress',
          expires: EXPIRES,
        },
      },
      'e.yaml',
      { now: NOW, maxDurationMs: 30 * 86_400_000 },
    ),
  );
  const engine: Engine = {
    policies: () => policies,
    settings: {},
    exceptions: () => [exception],
    now: () => now,
  };
  const audit = lineSink();
  const metrics = createMetrics();
  metrics.exceptionCounts.source = () => exceptionCounts([exception], now, (n) => n === 'pinned');
  const app = buildApp({
    engine,
    audit: createAuditWriter(audit),
    metrics,
    logger: pino({ level: 'silent' }),
    readiness: () => ({ ready: true }),
  });
  beforeAll(() => app.ready());
  afterAll(() => app.close());
  const validate = async (namespace: string, uid: string) =>
    (
      await app.inject({
        method: 'POST',
        url: '/validate?timeout=5s',
        payload: podReview(['registry.example.com/app:1'], { namespace, uid }),
      })
    ).json<{
      response: { allowed: boolean; warnings?: string[]; auditAnnotations?: Record<string, string> };
    }>().response;

  it('allows in its namespace with a warning, records exemptedBy and counts it', async () => {
    const r = await validate('team-a', 'x-1');
    expect(r.allowed).toBe(true);
    expect(r.warnings).toEqual([
      expect.stringContaining('[exception team-a/hotfix, expires 2026-12-09T12:00:00Z]'),
    ]);
    expect(r.warnings![0]).toContain('rollback in progress');
    expect(r.auditAnnotations).toMatchObject({ decision: 'allowed', exceptions: 'team-a/hotfix' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const record = audit.lines.find((l) => l.uid === 'x-1') as { images: { policies: unknown[] }[] };
    expect(record.images[0]!.policies[0]).toMatchObject({
      result: 'exempted',
      checks: [
        {
          check: 'digest',
          passed: false,
          code: 'DIGEST_REQUIRED',
          exemptedBy: { exception: 'team-a/hotfix' },
        },
      ],
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('imagegate_exemptions_total{policy="pinned",exception="team-a/hotfix"} 1');
    expect(text).toContain(
      'imagegate_policy_decisions_total{policy="pinned",result="exempted",mode="enforce"} 1',
    );
    expect(text).toContain('imagegate_exceptions{phase="Active"} 1');
    expect(text).toContain('imagegate_exceptions_expiring_soon 1');
  });

  it('denies in another namespace', async () => {
    expect((await validate('team-b', 'x-2')).allowed).toBe(false);
  });

  it('denies from its expiry on, by the engine clock, and the gauges follow', async () => {
    now = Date.parse(EXPIRES) - 1000;
    expect((await validate('team-a', 'x-3')).allowed).toBe(true);
    now = Date.parse(EXPIRES);
    const r = await validate('team-a', 'x-4');
    expect(r.allowed).toBe(false);
    const text = await metrics.registry.metrics();
    expect(text).toContain('imagegate_exceptions{phase="Expired"} 1');
    expect(text).toContain('imagegate_exceptions_expiring_soon 0');
  });
});
