import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../../src/audit/writer.js';
import type { Engine } from '../../../src/evaluate/engine.js';
import { buildApp } from '../../../src/server/app.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { lineSink } from '../../helpers/server.js';

/** A review whose envelope is fine (it has a uid) but whose object imagegate cannot use. */
function unusable(uid: string) {
  const review = podReview(['registry.example.com/app:1'], { uid });
  (review.request.object as { spec: unknown }).spec = { containers: 'not a list' };
  return review;
}

describe('POST /mutate with a body it cannot use', () => {
  const engine: Engine = { policies: () => [], settings: {}, registry: undefined as never };
  const log = lineSink();
  const app = buildApp({
    engine,
    audit: createAuditWriter(lineSink()),
    metrics: createMetrics(),
    logger: pino({ level: 'warn' }, log),
    readiness: () => ({ ready: true }),
    mutate: true,
  });
  beforeAll(() => app.ready());
  afterAll(() => app.close());

  describe('when the object inside a well-formed review is unusable', () => {
    it('answers 200: allowed, no patch, a warning, the uid echoed, and logs why', async () => {
      const res = await app.inject({ method: 'POST', url: '/mutate', payload: unusable('m-bad-1') });
      expect(res.statusCode).toBe(200);
      const response = res.json<{ response: Record<string, unknown> }>().response;
      expect(response).toMatchObject({ uid: 'm-bad-1', allowed: true });
      expect(response.patch).toBeUndefined();
      expect(response.warnings).toEqual([
        expect.stringMatching(/^imagegate: images not pinned: the request could not be used/),
      ]);
      expect(log.lines.at(-1)).toMatchObject({ msg: expect.stringContaining('mutate: request not usable') });
    });
    it('while /validate still answers 400 for the same body', async () => {
      const res = await app.inject({ method: 'POST', url: '/validate', payload: unusable('v-bad-1') });
      expect(res.statusCode).toBe(400);
    });
  });

  describe.each([
    ['not JSON', 'application/json', '{"apiVersion":'],
    ['not JSON at all', 'application/json', 'hello'],
    ['sent as text/plain', 'text/plain', JSON.stringify(podReview(['x:1']))],
    ['a JSON array', 'application/json', '[]'],
  ])('when the body is %s', (_what, contentType, payload) => {
    it('answers 200 allowed without a patch, never an HTTP error', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/mutate',
        payload,
        headers: { 'content-type': contentType },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json<{ response: Record<string, unknown> }>().response).toMatchObject({ allowed: true });
    });
  });
});
