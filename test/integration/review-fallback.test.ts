/**
 * The fallback answer over the real HTTPS server: a dependency that throws or ignores the deadline
 * still gets a 200 per onError before the API server gives up, with exactly one audit record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

describe('when evaluation fails or overruns the deadline', () => {
  const POLICY = policyYaml('strict', {
    mode: 'enforce',
    images: [{ glob: '**' }],
    namespaces: { matchLabels: { env: 'prod' } },
    onError: 'deny',
  });
  let server: TestServer;
  let labels: (namespace: string, signal: AbortSignal) => Promise<Record<string, string> | undefined>;

  beforeAll(async () => {
    const { engine } = await buildEngine({ policy: [await writePolicyFile(POLICY)] });
    engine.namespaceLabels = (namespace, signal) => labels(namespace, signal);
    server = await startServer({ engine });
  });
  afterAll(() => server.close());

  describe('when a dependency throws unexpectedly', () => {
    it('answers 200 denied per onError and writes one complete audit record', async () => {
      labels = async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('namespace lookup exploded');
      };
      const body = podReview(['ghcr.io/org/app:1'], { namespace: 'prod', user: 'bob' });
      const before = server.audit.length;
      const reply = await server.post('/validate', body);
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({
        response: {
          uid: body.request.uid,
          allowed: false,
          status: { message: 'imagegate could not evaluate this request: namespace lookup exploded' },
        },
      });
      const records = server.audit.slice(before);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        uid: body.request.uid,
        user: 'bob',
        namespace: 'prod',
        decision: 'denied',
      });
      expect(records[0]?.latencyMs).toBeGreaterThanOrEqual(5);
    });
  });

  describe('when a dependency ignores the deadline', () => {
    it('still answers per onError before the API server gives up', async () => {
      labels = () => new Promise(() => undefined); // never settles, ignores the signal
      const body = podReview(['ghcr.io/org/app:1'], { namespace: 'prod' });
      const started = Date.now();
      const reply = await server.post('/validate?timeout=1s', body);
      const elapsed = Date.now() - started;
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ response: { uid: body.request.uid, allowed: false } });
      expect(elapsed).toBeLessThan(1000);
    });
  });
});
