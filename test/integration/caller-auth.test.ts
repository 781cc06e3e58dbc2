/**
 * Who may call the review routes (issue 20, property 4), over the real HTTPS server:
 * - with a client CA, /validate and /mutate answer only callers with a certificate it verified
 *   (403 CLIENT_CERT_REQUIRED otherwise), while /healthz, /readyz and /metrics need none (the
 *   kubelet's probes have no certificate: they could never pass before);
 * - with pull secrets in use, an unauthenticated caller gets the verdict and nothing else, while the
 *   audit record keeps the details; an authenticated caller gets them all.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WITHHELD } from '../../src/server/caller-auth.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { createTestCa, type Pem } from '../helpers/certs.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';

const POLICY = policyYaml('pinned', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/**' }],
  requireDigest: true,
});

type Review = {
  response: { allowed: boolean; status?: { code?: number; message?: string }; warnings?: string[] };
};

async function call(
  server: TestServer,
  method: 'GET' | 'POST',
  path: string,
  client?: Pem,
): Promise<{ status: number; json: unknown }> {
  const dispatcher = new Agent({
    connect: { ca: server.ca, ...(client !== undefined ? { cert: client.cert, key: client.key } : {}) },
  });
  try {
    const res = await request(`${server.url}${path}`, {
      method,
      dispatcher,
      ...(method === 'POST'
        ? {
            body: JSON.stringify(podReview(['registry.example.com/team/app:1'])),
            headers: { 'content-type': 'application/json' },
          }
        : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: JSON.parse(text) as unknown };
  } finally {
    await dispatcher.close();
  }
}

describe('review routes and the caller', () => {
  let clientCa: string;
  let apiServer: Pem;
  let stranger: Pem;
  let policy: string;
  beforeAll(async () => {
    const ca = await createTestCa('apiserver client CA');
    clientCa = ca.cert;
    apiServer = await ca.issue('kube-apiserver', { client: true });
    const otherCa = await createTestCa('someone else');
    stranger = await otherCa.issue('kube-apiserver', { client: true });
    policy = await writePolicyFile(POLICY);
  });

  describe('with a client CA', () => {
    let server: TestServer;
    beforeAll(async () => {
      const { engine } = await buildEngine({ policy: [policy] });
      server = await startServer({
        engine,
        mutate: true,
        clientCa,
        callerAuth: { requireClientCert: true },
      });
    });
    afterAll(() => server.close());

    it('answers /healthz, /readyz and /metrics without a client certificate', async () => {
      expect((await call(server, 'GET', '/healthz')).status).toBe(200);
      expect((await call(server, 'GET', '/readyz')).status).toBe(200);
      const metrics = await request(`${server.url}/metrics`, { dispatcher: server.dispatcher });
      await metrics.body.text();
      expect(metrics.statusCode).toBe(200);
    });

    it('refuses /validate and /mutate without a certificate, or with one from another CA: 403 CLIENT_CERT_REQUIRED', async () => {
      for (const path of ['/validate', '/mutate']) {
        for (const client of [undefined, stranger]) {
          const r = await call(server, 'POST', path, client);
          expect(r.status).toBe(403);
          expect(r.json).toMatchObject({ error: { code: 'CLIENT_CERT_REQUIRED' } });
        }
      }
      expect(server.audit).toHaveLength(0); // no review ran
    });

    it('reviews for the API server, with the full denial message', async () => {
      const r = await call(server, 'POST', '/validate', apiServer);
      expect(r.status).toBe(200);
      const review = r.json as Review;
      expect(review.response.allowed).toBe(false);
      expect(review.response.status?.message).toContain('registry.example.com/team/app:1');
    });
  });

  describe('with pull secrets and no client CA', () => {
    let server: TestServer;
    beforeAll(async () => {
      const { engine } = await buildEngine({ policy: [policy] });
      server = await startServer({ engine, mutate: true, callerAuth: { withholdFromUnauthenticated: true } });
    });
    afterAll(() => server.close());

    it('answers an unauthenticated caller with the verdict only; the audit record has the details', async () => {
      const r = await call(server, 'POST', '/validate');
      expect(r.status).toBe(200);
      const review = r.json as Review & { response: Record<string, unknown> };
      expect(review.response).toEqual({
        uid: expect.any(String),
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: WITHHELD },
      });
      expect(JSON.stringify(review)).not.toContain('registry.example.com');
      expect(JSON.stringify(server.audit.at(-1))).toContain('registry.example.com/team/app:1');
    });
  });
});
