import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../../src/audit/writer.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { compileSizeCheck } from '../../../src/checks/size.js';
import type { Engine } from '../../../src/evaluate/engine.js';
import { RegistryError } from '../../../src/errors.js';
import { compilePolicies } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import type { RegistryAccess } from '../../../src/registry/types.js';
import { buildApp } from '../../../src/server/app.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { lineSink } from '../../helpers/server.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const STRICT = policyYaml('strict', {
  mode: 'enforce',
  onError: 'deny',
  images: [{ glob: 'registry.example.com/**' }],
  size: { maxCompressed: '1Gi' },
});

/** Every registry call fails the way an unreachable registry does (a coded, indeterminate error). */
const unreachable: RegistryAccess = {
  resolve: () =>
    Promise.reject(
      new RegistryError('REGISTRY_UNAVAILABLE', 'registry.example.com: connection refused', {
        indeterminate: true,
      }),
    ),
  getManifest: () => Promise.reject(new Error('not reached: resolve fails first')),
  getBlob: () => Promise.reject(new Error('not reached: resolve fails first')),
  getReferrers: () => Promise.reject(new Error('not reached: resolve fails first')),
};

describe('POST /mutate', () => {
  const engine: Engine = {
    policies: () =>
      compilePolicies(parsePolicyYaml(STRICT, 'strict.yaml'), {
        size: (spec, ctx) => compileSizeCheck(spec, ctx.policyName),
      }),
    settings: { unmatched: 'allow' },
    registry: () => Promise.resolve(unreachable),
  };
  const audit = lineSink();
  /** The app on this engine, writing to `audit`, with `/mutate` as given. */
  const appWith = (mutate: Parameters<typeof buildApp>[0]['mutate']) =>
    buildApp({
      engine,
      audit: createAuditWriter(audit),
      metrics: createMetrics(),
      logger: pino({ level: 'silent' }),
      readiness: () => ({ ready: true }),
      mutate,
    });
  const app = appWith(true);
  beforeAll(() => app.ready());
  afterAll(() => app.close());
  const post = (url: string, uid: string) =>
    app.inject({ method: 'POST', url, payload: podReview(['registry.example.com/app:1'], { uid }) });
  const recordOf = (uid: string) => audit.lines.find((l) => l.uid === uid) as AuditRecord | undefined;

  describe('when the handler fails and an enforcing policy has onError: deny', () => {
    const failing = appWith(() => Promise.reject(new Error('boom')));
    afterAll(() => failing.close());

    it('allows with a warning: only the validating webhook denies', async () => {
      const res = await failing.inject({
        method: 'POST',
        url: '/mutate?timeout=5s',
        payload: podReview(['registry.example.com/app:1'], { uid: 'm-1' }),
      });
      expect(res.statusCode).toBe(200);
      const response = res.json<{ response: Record<string, unknown> }>().response;
      expect(response).toMatchObject({ uid: 'm-1', allowed: true });
      expect(response.status).toBeUndefined();
      expect(response.warnings).toEqual([expect.stringContaining('boom')]);
      expect(recordOf('m-1')).toMatchObject({
        decision: 'allowed',
        skipped: expect.stringContaining('boom'),
      });
    });
  });

  describe('when the registry is unreachable and the policy has onError: deny', () => {
    it('leaves the image unpinned and allows, with a warning naming the code', async () => {
      const res = await post('/mutate?timeout=5s', 'm-2');
      const response = res.json<{ response: Record<string, unknown> }>().response;
      expect(response).toMatchObject({ uid: 'm-2', allowed: true, auditAnnotations: { pinned: '0' } });
      expect(response.patch).toBeUndefined();
      expect(response.warnings).toEqual([
        expect.stringMatching(
          /^imagegate: registry\.example\.com\/app:1 was not pinned .*\(REGISTRY_UNAVAILABLE\)/,
        ),
      ]);
    });

    it('still denies the same failure on /validate, with the registry code in message and record', async () => {
      const res = await post('/validate?timeout=5s', 'v-2');
      const response = res.json<{
        response: { allowed: boolean; status?: { message: string } };
      }>().response;
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('REGISTRY_UNAVAILABLE');
      expect(response.status?.message).not.toContain('could not evaluate this request');
      const record = recordOf('v-2');
      expect(record).toMatchObject({ decision: 'denied' });
      expect(record?.skipped).toBeUndefined();
      expect(record?.images[0]?.policies[0]?.checks).toEqual([
        expect.objectContaining({ check: 'resolve', code: 'REGISTRY_UNAVAILABLE', indeterminate: true }),
      ]);
    });
  });
});
