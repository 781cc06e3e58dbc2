/**
 * Replays every AdmissionReview fixture of ../shared/fixtures/admission-review against the real HTTPS
 * server running the built-in default policy (audit mode, requireDigest on every image): the exact
 * images each one carries, and a well-formed answer for each (an AdmissionReview with the same uid, or
 * a 4xx JSON error naming the problem).
 */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { imagesOf } from '../../src/admission/pod-spec.js';
import { readFixture, reviewBodyOf } from '../helpers/admission-fixtures.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import type { Reply } from '../helpers/server.js';
import { type Answer, CASES, ok } from '../fixtures/replay-cases.js';
import { useDefaultPolicyServer } from '../helpers/served-engine.js';

interface RequestLike {
  uid?: string;
  operation?: string;
  kind?: { kind?: string };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

function requestOf(body: unknown): RequestLike | undefined {
  const r = (body as { request?: unknown } | null)?.request;
  return typeof r === 'object' && r !== null ? (r as RequestLike) : undefined;
}

describe.skipIf(!HAVE_FIXTURES)('fixture replay over HTTPS', () => {
  const server = useDefaultPolicyServer();

  /** Posts a body; returns the reply and the audit records it wrote. */
  async function review(body: unknown): Promise<{ reply: Reply; records: typeof server.audit }> {
    const before = server.audit.length;
    const reply = await server.post('/validate?timeout=10s', body);
    return { reply, records: server.audit.slice(before) };
  }

  async function expectAnswer(body: unknown, answer: Answer): Promise<void> {
    const { reply, records } = await review(body);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    if (answer.status === 400) {
      expect(reply.status).toBe(400);
      expect(reply.json).toEqual({
        error: { code: answer.code, message: expect.stringMatching(answer.message) },
      });
      expect(records).toEqual([]);
      return;
    }
    const req = requestOf(body);
    expect(reply.status).toBe(200);
    const response = (reply.json as { response: Record<string, unknown> }).response;
    expect(reply.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(response.uid).toBe(req?.uid);
    // The built-in default is audit mode: it never denies, it warns about tag-only or invalid images.
    expect(response.allowed).toBe(true);
    expect(response.status).toBeUndefined();
    const warned = answer.checked.filter((i) => !i.includes('@'));
    expect(response.warnings ?? []).toHaveLength(warned.length);
    for (const w of (response.warnings as string[] | undefined) ?? []) {
      expect(w).toMatch(/^imagegate: \[audit\] \S+ would be denied/);
    }
    expect(response.auditAnnotations).toMatchObject({ decision: 'allowed' });

    expect(records).toHaveLength(1);
    const record = records[0];
    expect(record).toMatchObject({
      event: 'imagegate.decision',
      uid: req?.uid,
      operation: req?.operation,
      dryRun: req?.dryRun ?? false,
      kind: req?.kind?.kind,
      decision: 'allowed',
      wouldDeny: warned.length > 0,
    });
    expect(record?.images.map((i) => i.image)).toEqual(answer.checked);
    expect(record?.skipped).toBe(answer.skipped);
  }

  for (const c of CASES) {
    describe(c.file, () => {
      it(
        c.images === 'NO_REQUEST'
          ? 'carries no object to extract images from'
          : c.images === 'NO_POD_SPEC'
            ? 'has no pod spec to extract images from'
            : `carries exactly the images ${JSON.stringify(c.images)}`,
        () => {
          const req = requestOf(reviewBodyOf(c.file));
          if (c.images === 'NO_REQUEST') {
            expect(req?.kind).toBeUndefined();
            return;
          }
          const object = req?.operation === 'DELETE' ? req.oldObject : req?.object;
          if (c.images === 'NO_POD_SPEC') {
            expect(() => imagesOf(req?.kind?.kind ?? '', object)).toThrow(
              expect.objectContaining({ code: 'NO_POD_SPEC' }),
            );
            return;
          }
          expect(imagesOf(req?.kind?.kind ?? '', object).map((i) => i.image)).toEqual(c.images);
        },
      );

      it(
        c.answer.status === 200
          ? `is answered with an AdmissionReview for the same uid${c.answer.skipped !== undefined ? ` (${c.answer.skipped})` : ''}`
          : `is answered 400 ${c.answer.code}`,
        () => expectAnswer(reviewBodyOf(c.file), c.answer),
      );

      if (c.asV1 !== undefined) {
        const asV1 = c.asV1;
        it('is evaluated when the same request is sent as admission.k8s.io/v1', () =>
          expectAnswer({ ...(reviewBodyOf(c.file) as object), apiVersion: 'admission.k8s.io/v1' }, asV1));
      }
    });
  }

  it('covers every fixture file in the folder', async () => {
    const files = (await readdir(fixturePath('admission-review'), { recursive: true }))
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(CASES.map((c) => c.file).sort()).toEqual(files);
  });

  describe('when an UPDATE changes one image of several', () => {
    it('checks only the changed image', async () => {
      type Workload = { spec: { template: { spec: { containers: { image: string }[] } } } };
      const fixture = readFixture('connaisseur/09_dply_multi_image.json') as {
        request: { object: Workload };
      };
      const object = structuredClone(fixture.request.object);
      const oldObject = fixture.request.object;
      const redis = object.spec.template.spec.containers[1];
      if (redis === undefined) throw new Error('fixture 09 has fewer than two containers');
      redis.image = 'redis:7.2';
      const body = {
        ...fixture,
        apiVersion: 'admission.k8s.io/v1',
        request: { ...fixture.request, operation: 'UPDATE', object, oldObject },
      };
      await expectAnswer(body, ok('redis:7.2'));
    });
  });

  describe('when an UPDATE carries no oldObject', () => {
    it('checks every image of the new object', async () => {
      const body = reviewBodyOf('kubewarden-requests/echo/update_accept.json') as {
        request: Record<string, unknown>;
      };
      delete body.request.oldObject;
      await expectAnswer(body, ok('nginx:latest'));
    });
  });

  describe('when a request is a dry run', () => {
    it('is evaluated the same way and records dryRun: true', async () => {
      const body = readFixture('connaisseur/05_replication_controller.json') as {
        request: Record<string, unknown>;
      };
      const wet = await review(body);
      const dry = await review({ ...body, request: { ...body.request, dryRun: true } });
      expect(dry.reply.json).toEqual(wet.reply.json);
      expect(dry.records[0]?.dryRun).toBe(true);
      expect({ ...dry.records[0], dryRun: false, latencyMs: 0, time: 0 }).toEqual({
        ...wet.records[0],
        latencyMs: 0,
        time: 0,
      });
    });
  });
});
