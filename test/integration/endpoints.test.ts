/**
 * The operational endpoints over the real HTTPS server: /healthz, /readyz (with degraded reasons) and
 * /metrics, whose counters move with reviews and bad requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('operational endpoints', () => {
  let server: TestServer;
  let ready = false;
  let degraded: string[] | undefined;

  beforeAll(async () => {
    const { engine } = await buildEngine();
    server = await startServer({
      engine,
      readiness: () =>
        ready
          ? { ready: true, ...(degraded !== undefined ? { degraded } : {}) }
          : { ready: false, reason: 'policies from files not loaded yet' },
    });
  });
  afterAll(() => server.close());

  describe('GET /healthz', () => {
    it('answers 200 while the process runs', async () => {
      const reply = await server.get('/healthz');
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ status: 'ok' });
    });
  });

  describe('GET /readyz', () => {
    it('answers 503 with the reason until policies are loaded, then 200', async () => {
      ready = false;
      const before = await server.get('/readyz');
      expect(before.status).toBe(503);
      expect(before.json).toEqual({ status: 'not ready', reason: 'policies from files not loaded yet' });
      ready = true;
      const after = await server.get('/readyz');
      expect(after.status).toBe(200);
      expect(after.json).toEqual({ status: 'ready' });
    });

    it('stays ready but says why when a trusted root is unavailable', async () => {
      ready = true;
      degraded = ['trusted root public-good unavailable: Sigstore TUF repository unreachable'];
      const reply = await server.get('/readyz');
      degraded = undefined;
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({
        status: 'ready',
        degraded: ['trusted root public-good unavailable: Sigstore TUF repository unreachable'],
      });
    });
  });

  describe('GET /metrics', () => {
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };

    it('exposes Prometheus text whose counters move with reviews and bad requests', async () => {
      const scrape = async (): Promise<string> => {
        const r = await server.get('/metrics');
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
        return r.text;
      };
      const allowed = 'imagegate_reviews_total{decision="allowed",operation="CREATE"}';
      const policy =
        'imagegate_policy_decisions_total{policy="imagegate-default",result="fail",mode="audit"}';
      const bad = 'imagegate_bad_requests_total{code="MISSING_UID"}';
      const duration = 'imagegate_review_duration_seconds_count{decision="allowed"}';
      const first = await scrape();
      for (const name of [
        'imagegate_reviews_total',
        'imagegate_policy_decisions_total',
        'imagegate_check_duration_seconds',
        'imagegate_registry_requests_total',
        'imagegate_bad_requests_total',
      ]) {
        expect(first).toContain(`# TYPE ${name} `);
      }
      await server.post('/validate', podReview(['nginx:1']));
      await server.post('/validate', podReview(['nginx:2']));
      const missingUid = podReview(['ghcr.io/org/app:1']);
      await server.post('/validate', { ...missingUid, request: { ...missingUid.request, uid: '' } });
      const second = await scrape();
      expect(value(second, allowed) - value(first, allowed)).toBe(2);
      expect(value(second, policy) - value(first, policy)).toBe(2);
      expect(value(second, duration) - value(first, duration)).toBe(2);
      expect(value(second, bad) - value(first, bad)).toBe(1);
    });
  });
});
