/**
 * Bad input over the real HTTPS server: every malformed request gets a 4xx JSON error naming the
 * problem and exactly one log line, and the server keeps serving. The operational endpoints are in
 * endpoints.test.ts, failures and overruns in review-fallback.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine } from '../helpers/engine.js';
import { startServer, type Reply, type TestServer } from '../helpers/server.js';

const valid = (): ReturnType<typeof podReview> => podReview(['ghcr.io/org/app:1']);

function withRequest(patch: Record<string, unknown>): unknown {
  const body = valid();
  return { ...body, request: { ...body.request, ...patch } };
}

interface BadCase {
  name: string;
  body: unknown;
  raw?: boolean;
  contentType?: string;
  status: number;
  code: string;
  message: RegExp;
}

const CASES: BadCase[] = [
  {
    name: 'the body is malformed JSON',
    body: '{"apiVersion": "admission.k8s.io/v1", "kind":',
    raw: true,
    status: 400,
    code: 'BODY_NOT_JSON',
    message: /not valid JSON/,
  },
  { name: 'the body is empty', body: '', raw: true, status: 400, code: 'BODY_NOT_JSON', message: /empty/ },
  // The fast parser (server/json-body.ts) must reject what Fastify's secure parser rejects.
  ...[
    ['a __proto__ key', `{"__proto__":{"polluted":true},${JSON.stringify(valid()).slice(1)}`],
    [
      'a __proto__ key spelt with \\u escapes',
      `{"\\u005f_pro\\u0074o__":{"polluted":true},${JSON.stringify(valid()).slice(1)}`,
    ],
    [
      'a constructor.prototype key',
      `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(valid()).slice(1)}`,
    ],
  ].map(([what, body]): BadCase => ({
    name: `the body has ${what}`,
    body,
    raw: true,
    status: 400,
    code: 'BODY_NOT_JSON',
    message: /not valid JSON/,
  })),
  {
    name: 'the body is a JSON array',
    body: [valid()],
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /not a JSON object/,
  },
  {
    name: 'the body is a JSON string',
    body: 'AdmissionReview',
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /not a JSON object/,
  },
  {
    name: 'the body is JSON null',
    body: null,
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /not a JSON object/,
  },
  {
    name: 'the kind is not AdmissionReview',
    body: { ...valid(), kind: 'Pod' },
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /expected kind AdmissionReview, found "Pod"/,
  },
  {
    name: 'the apiVersion is unknown',
    body: { ...valid(), apiVersion: 'admission.k8s.io/v2' },
    status: 400,
    code: 'UNSUPPORTED_API_VERSION',
    message: /unsupported apiVersion "admission.k8s.io\/v2"/,
  },
  {
    name: 'the apiVersion is missing',
    body: { ...valid(), apiVersion: undefined },
    status: 400,
    code: 'UNSUPPORTED_API_VERSION',
    message: /unsupported apiVersion null/,
  },
  {
    name: 'there is no request',
    body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /no request object/,
  },
  {
    name: 'request.uid is missing',
    body: withRequest({ uid: undefined }),
    status: 400,
    code: 'MISSING_UID',
    message: /request\.uid is missing or empty/,
  },
  {
    name: 'request.uid is empty',
    body: withRequest({ uid: '' }),
    status: 400,
    code: 'MISSING_UID',
    message: /request\.uid is missing or empty/,
  },
  {
    name: 'request.uid is a number',
    body: withRequest({ uid: 42 }),
    status: 400,
    code: 'MISSING_UID',
    message: /request\.uid/,
  },
  {
    name: 'the operation is unknown',
    body: withRequest({ operation: 'PATCH' }),
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /request\.operation/,
  },
  {
    name: 'request.kind is missing',
    body: withRequest({ kind: undefined }),
    status: 400,
    code: 'NOT_ADMISSION_REVIEW',
    message: /request\.kind/,
  },
  {
    name: 'the object kind has no pod spec',
    body: withRequest({ kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: { data: {} } }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /kind ConfigMap has no pod spec: imagegate reviews Pod, /,
  },
  {
    name: 'a Pod has no spec',
    body: withRequest({ object: { metadata: { name: 'x' } } }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /Pod object has no spec/,
  },
  {
    name: 'a CREATE carries no object',
    body: withRequest({ object: undefined }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /Pod object has no spec/,
  },
  {
    name: 'containers is not a list',
    body: withRequest({ object: { spec: { containers: { image: 'nginx' } } } }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /Pod spec\.containers is not a list/,
  },
  {
    name: 'a container has no image',
    body: withRequest({ object: { spec: { containers: [{ name: 'app' }] } } }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /Pod spec\.containers\[0\]\.image is missing/,
  },
  {
    name: 'a container image is not a string',
    body: withRequest({ object: { spec: { initContainers: [{ name: 'i', image: 7 }] } } }),
    status: 400,
    code: 'NO_POD_SPEC',
    message: /spec\.initContainers\[0\]\.image is missing or not a string/,
  },
  {
    name: 'the Content-Type is text/plain',
    body: JSON.stringify(valid()),
    raw: true,
    contentType: 'text/plain',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: /application\/json/,
  },
  {
    name: 'the Content-Type is form data',
    body: 'a=b',
    raw: true,
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: /application\/json/,
  },
];

describe('bad input', () => {
  let server: TestServer;
  let small: TestServer;

  beforeAll(async () => {
    const { engine } = await buildEngine();
    server = await startServer({ engine });
    small = await startServer({ engine, bodyLimit: 4096 });
  });
  afterAll(async () => {
    await server.close();
    await small.close();
  });

  async function expectStillServing(s: TestServer): Promise<void> {
    const body = valid();
    const reply = await s.post('/validate', body);
    expect(reply.status).toBe(200);
    expect((reply.json as { response: { uid: string } }).response.uid).toBe(body.request.uid);
  }

  /** Sends a bad request; asserts the 4xx JSON error and exactly one warn log line carrying its code. */
  async function expectRejected(
    s: TestServer,
    send: () => Promise<Reply>,
    status: number,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const logBefore = s.log.length;
    const auditBefore = s.audit.length;
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toEqual({ error: { code, message: expect.stringMatching(message) } });
    const lines = s.log.slice(logBefore);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, code });
    expect(s.audit.length).toBe(auditBefore);
    await expectStillServing(s);
  }

  for (const c of CASES) {
    describe(`when ${c.name}`, () => {
      it(`answers ${c.status} ${c.code}, logs one line and keeps serving`, () =>
        expectRejected(
          server,
          () =>
            server.post('/validate', c.body, {
              ...(c.raw === true ? { raw: true } : {}),
              ...(c.contentType !== undefined ? { contentType: c.contentType } : {}),
            }),
          c.status,
          c.code,
          c.message,
        ));
    });
  }

  describe('when a body spells "constructor" and \\u escapes in values only', () => {
    it('reviews it (the secure parser, not a rejection)', async () => {
      const body = valid();
      const text = JSON.stringify(body).replace('"uid":', '"note":"constructor caf\\u00e9","uid":');
      expect(text).toContain('caf\\u00e9');
      const reply = await server.post('/validate', text, { raw: true });
      expect(reply.status).toBe(200);
      expect((reply.json as { response: { uid: string } }).response.uid).toBe(body.request.uid);
    });
  });

  describe('when a malformed body carries a secret', () => {
    it('does not copy the body into the log line', async () => {
      const before = server.log.length;
      await server.post('/validate', '{"token": "s3cr3t-value", ', { raw: true });
      expect(JSON.stringify(server.log.slice(before))).not.toContain('s3cr3t-value');
    });
  });

  describe('when the body is over a small configured limit', () => {
    it('answers 413 BODY_TOO_LARGE naming the limit', () =>
      expectRejected(
        small,
        () => small.post('/validate', podReview(['x'.repeat(5000)])),
        413,
        'BODY_TOO_LARGE',
        /larger than the limit of 4096 bytes/,
      ));
  });

  describe('with the default 3 MiB limit', () => {
    const padded = (bytes: number): unknown => {
      const body = valid();
      (body.request.object as { metadata: Record<string, unknown> }).metadata.annotations = {
        pad: 'p'.repeat(bytes),
      };
      return body;
    };

    it('answers a 3.5 MiB body with 413 BODY_TOO_LARGE', () =>
      expectRejected(
        server,
        () => server.post('/validate', padded(3.5 * 1024 * 1024)),
        413,
        'BODY_TOO_LARGE',
        /larger than the limit of 3145728 bytes/,
      ));

    it('reviews a 2.9 MiB body (object + oldObject of large API objects fit)', async () => {
      const reply = await server.post('/validate', padded(2.9 * 1024 * 1024));
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ response: { allowed: true } });
    });
  });

  describe('when a route does not exist', () => {
    it('answers 404 with a JSON error', async () => {
      const reply = await server.get('/validate');
      expect(reply.status).toBe(404);
      expect(reply.json).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /validate' } });
    });
  });
});
