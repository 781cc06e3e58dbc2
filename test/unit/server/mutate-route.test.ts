import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../../src/audit/writer.js';
import type { Engine } from '../../../src/engine.js';
import type { CompiledPolicy } from '../../../src/policy/compile.js';
import { buildApp } from '../../../src/server/app.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { lineSink } from '../../helpers/server.js';

describe('POST /mutate', () => {
  describe('when the handler fails and an enforcing policy has onError: deny', () => {
    const audit = lineSink();
    const engine: Engine = {
      policies: () => [{ name: 'strict', mode: 'enforce', onError: 'deny' } as CompiledPolicy],
      settings: { unmatched: 'allow' },
    };
    const app = buildApp({
      engine,
      audit: createAuditWriter(audit),
      metrics: createMetrics(),
      logger: pino({ level: 'silent' }),
      readiness: () => ({ ready: true }),
      mutate: () => Promise.reject(new Error('boom')),
    });
    beforeAll(() => app.ready());
    afterAll(() => app.close());

    it('allows with a warning: only the validating webhook denies', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/mutate?timeout=5s',
        payload: podReview(['registry.example.com/app:1'], { uid: 'm-1' }),
      });
      expect(res.statusCode).toBe(200);
      const response = res.json<{ response: Record<string, unknown> }>().response;
      expect(response).toMatchObject({ uid: 'm-1', allowed: true });
      expect(response.status).toBeUndefined();
      expect(response.warnings).toEqual([expect.stringContaining('boom')]);
      expect(audit.lines.at(-1)).toMatchObject({ uid: 'm-1', decision: 'allowed' });
    });

    it('still denies the same failure on /validate', async () => {
      const failing = buildApp({
        engine: { ...engine, registry: () => Promise.reject(new Error('boom')) },
        audit: createAuditWriter(lineSink()),
        metrics: createMetrics(),
        logger: pino({ level: 'silent' }),
        readiness: () => ({ ready: true }),
      });
      const res = await failing.inject({
        method: 'POST',
        url: '/validate?timeout=5s',
        payload: podReview(['registry.example.com/app:1']),
      });
      expect(res.json<{ response: { allowed: boolean } }>().response.allowed).toBe(false);
      await failing.close();
    });
  });
});
