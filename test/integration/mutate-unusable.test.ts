/**
 * /mutate with a body it cannot use, over the real HTTPS server: allowed unchanged in the one
 * AdmissionReview envelope (admission/response.ts), with a warning saying why, and exactly one audit
 * record saying what could not be used. /validate answers the same bodies 400 (bad-input.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION_API_VERSION } from '../../src/admission/review.schema.js';
import { MAX_WARNING_LENGTH } from '../../src/admission/response.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** A review whose envelope is fine but whose object imagegate cannot use. */
function unusableObject(uid: string): unknown {
  const review = podReview(['registry.example.com/app:1'], { uid, namespace: 'team-a', name: 'web' });
  (review.request.object as { spec: unknown }).spec = { containers: 'not a list' };
  return review;
}

describe('POST /mutate with a body it cannot use (real server)', () => {
  let server: TestServer;
  beforeAll(async () => {
    const { engine } = await buildEngine();
    server = await startServer({ engine, mutate: true });
  });
  afterAll(() => server.close());

  it('answers an unusable object in the one envelope, uid echoed, and records it', async () => {
    const before = server.audit.length;
    const res = await server.post('/mutate', unusableObject('m-unusable-1'));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      apiVersion: ADMISSION_API_VERSION,
      kind: 'AdmissionReview',
      response: {
        uid: 'm-unusable-1',
        allowed: true,
        warnings: [
          expect.stringMatching(
            /^imagegate: images not pinned: the request could not be used \(NO_POD_SPEC\)/,
          ),
        ],
      },
    });
    expect(server.audit.slice(before)).toEqual([
      expect.objectContaining({
        event: 'imagegate.decision',
        uid: 'm-unusable-1',
        operation: 'CREATE',
        kind: 'Pod',
        namespace: 'team-a',
        decision: 'allowed',
        wouldDeny: false,
        images: [],
        skipped: expect.stringMatching(/^mutate: the request could not be used \(NO_POD_SPEC\)/),
      }),
    ]);
  });

  it('answers a body that is not JSON with an empty uid, and records the code', async () => {
    const before = server.audit.length;
    const res = await server.post('/mutate', '{"apiVersion":', { raw: true });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      apiVersion: ADMISSION_API_VERSION,
      kind: 'AdmissionReview',
      response: { uid: '', allowed: true },
    });
    expect(server.audit.slice(before)).toEqual([
      expect.objectContaining({
        uid: '',
        decision: 'allowed',
        skipped: expect.stringContaining('(BODY_NOT_JSON)'),
      }),
    ]);
  });

  it('clips what an attacker controls: the uid in answer and record, the warning to the envelope bound', async () => {
    const before = server.audit.length;
    const body = unusableObject('u'.repeat(10_000));
    (body as { request: { kind: { kind: string } } }).request.kind.kind = 'K'.repeat(10_000);
    const res = await server.post('/mutate', body);
    const response = (res.json as { response: { uid: string; warnings: string[] } }).response;
    expect(response.uid).toHaveLength(256);
    expect(response.warnings).toHaveLength(1);
    expect(response.warnings[0]!.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    const [record] = server.audit.slice(before);
    expect(record?.uid).toHaveLength(256);
    expect(record?.kind).toHaveLength(256);
  });
});
