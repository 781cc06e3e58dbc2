/**
 * Replays every AdmissionReview fixture of ../shared/fixtures/admission-review against the real HTTPS
 * server running the built-in default policy (audit mode, requireDigest on every image): the exact
 * images each one carries, and a well-formed answer for each (an AdmissionReview with the same uid, or
 * a 4xx JSON error naming the problem).
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagesOf } from '../../src/admission/pod-spec.js';
import { readFixture, reviewBodyOf } from '../helpers/admission-fixtures.js';
import { buildEngine } from '../helpers/engine.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { startServer, type Reply, type TestServer } from '../helpers/server.js';

const CHARLIE =
  'securesystemsengineering/charlie-image@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff';
const DENY_ME = 'my.reg/deny-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff';
const ALLOW_ME = 'my.reg/allow-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff';
const ALICE_DIGEST = 'sha256:1234567890123456123456789012345612345678901234561234567890123456';
const REDIS_FAKE = `docker.io/library/redis:latest@sha256:${'1'.repeat(64)}`;
const SIGNED = 'ghcr.io/kubewarden/test-verify-image-signatures:signed';
const UNSIGNED = 'ghcr.io/kubewarden/test-verify-image-signatures:unsigned';
const PRIVILEGED = 'ghcr.io/kubewarden/tests/pod-privileged:v0.2.1';

/** What the server answers for a fixture. */
type Answer =
  { status: 200; checked: string[]; skipped?: string } | { status: 400; code: string; message: RegExp };

interface Case {
  file: string;
  /** imagesOf(kind, object) in extraction order: initContainers, containers, ephemeralContainers. */
  images: string[] | 'NO_POD_SPEC' | 'NO_REQUEST';
  answer: Answer;
  /** For v1beta1 reviews: the answer when the same request is sent as admission.k8s.io/v1. */
  asV1?: Answer;
}

const V1BETA1: Answer = {
  status: 400,
  code: 'UNSUPPORTED_API_VERSION',
  message: /v1beta1.*admission\.k8s\.io\/v1/,
};
const UNCHANGED: Answer = { status: 200, checked: [], skipped: 'no image changed' };
const ok = (...checked: string[]): Answer => ({ status: 200, checked });

const IMAGES_AND_VOLUME = ['imageValue', 'imageValue', 'imageValue', 'referenceValue'];

const CASES: Case[] = [
  {
    file: 'connaisseur/01_deployment.json',
    images: ['securesystemsengineering/alice-image:test'],
    answer: V1BETA1,
    asV1: ok('securesystemsengineering/alice-image:test'),
  },
  { file: 'connaisseur/02_pod.json', images: [CHARLIE], answer: ok(CHARLIE) },
  {
    file: 'connaisseur/03_replicaset.json',
    images: ['securesystemsengineering/sample-san-sama:hai'],
    answer: V1BETA1,
    asV1: ok('securesystemsengineering/sample-san-sama:hai'),
  },
  { file: 'connaisseur/04_cronjob.json', images: ['busybox'], answer: V1BETA1, asV1: ok('busybox') },
  { file: 'connaisseur/05_replication_controller.json', images: ['nginx'], answer: ok('nginx') },
  {
    file: 'connaisseur/06_daemonset.json',
    images: ['quay.io/fluentd_elasticsearch/fluentd:v2.5.2'],
    answer: ok('quay.io/fluentd_elasticsearch/fluentd:v2.5.2'),
  },
  {
    file: 'connaisseur/07_statefulset.json',
    images: ['registry.k8s.io/nginx-slim:0.8'],
    answer: ok('registry.k8s.io/nginx-slim:0.8'),
  },
  { file: 'connaisseur/08_job.json', images: ['perl:5.34.0'], answer: ok('perl:5.34.0') },
  {
    file: 'connaisseur/09_dply_multi_image.json',
    images: ['busybox:1.32', 'redis:alpine', 'mysql:8'],
    answer: V1BETA1,
    asV1: ok('busybox:1.32', 'redis:alpine', 'mysql:8'),
  },
  { file: 'connaisseur/10_update.json', images: [REDIS_FAKE], answer: UNCHANGED },
  {
    file: 'connaisseur/11_role.json',
    images: 'NO_POD_SPEC',
    answer: { status: 400, code: 'NO_POD_SPEC', message: /kind Role has no pod spec/ },
  },
  {
    file: 'connaisseur/12_err_pod.json',
    images: 'NO_POD_SPEC',
    answer: { status: 400, code: 'NO_POD_SPEC', message: /Pod object has no spec/ },
  },
  { file: 'connaisseur/13_unknown_parent.json', images: [CHARLIE], answer: V1BETA1, asV1: ok(CHARLIE) },
  { file: 'connaisseur/14_deny_me_job.json', images: [DENY_ME], answer: ok(DENY_ME) },
  { file: 'connaisseur/15_allow_me_job.json', images: [ALLOW_ME], answer: ok(ALLOW_ME) },
  { file: 'connaisseur/16_mismatch_uid.json', images: [CHARLIE], answer: ok(CHARLIE) },
  { file: 'connaisseur/17_deny_me_pod.json', images: [DENY_ME], answer: ok(DENY_ME) },
  { file: 'connaisseur/18_allow_me_pod.json', images: [ALLOW_ME], answer: ok(ALLOW_ME) },
  { file: 'connaisseur/19_pod_initcontainer.json', images: ['nginx', CHARLIE], answer: ok('nginx', CHARLIE) },
  {
    file: 'connaisseur/20_pod_ephemeralcontainer.json',
    images: [CHARLIE, 'nginx'],
    answer: ok(CHARLIE, 'nginx'),
  },
  {
    file: 'connaisseur/21_broken_admission_request.json',
    images: 'NO_REQUEST',
    answer: { status: 400, code: 'MISSING_UID', message: /request\.uid is missing/ },
  },
  {
    file: 'connaisseur/22_allow_me_with_index_docker_io.json',
    images: ['test-image'],
    answer: ok('test-image'),
  },
  {
    file: 'connaisseur/23_alice_digest_dpl.json',
    images: [`securesystemsengineering/alice-image@${ALICE_DIGEST}`],
    answer: V1BETA1,
    asV1: ok(`securesystemsengineering/alice-image@${ALICE_DIGEST}`),
  },
  {
    file: 'connaisseur/24_alice_tag_digest_dpl.json',
    images: [`securesystemsengineering/alice-image:test@${ALICE_DIGEST}`],
    answer: V1BETA1,
    asV1: ok(`securesystemsengineering/alice-image:test@${ALICE_DIGEST}`),
  },
  {
    file: 'connaisseur/25_null_request.json',
    images: 'NO_REQUEST',
    answer: { status: 400, code: 'NOT_ADMISSION_REVIEW', message: /not a JSON object/ },
  },
  {
    file: 'connaisseur/26_broken_update_admission_request.json',
    images: 'NO_REQUEST',
    answer: { status: 400, code: 'MISSING_UID', message: /request\.uid is missing/ },
  },
  {
    file: 'connaisseur/27_deleted_deployment.json',
    images: ['busybox'],
    answer: V1BETA1,
    asV1: ok('busybox'),
  },
  {
    file: 'connaisseur/28_deleted_deployment_updated.json',
    images: ['busybox'],
    answer: V1BETA1,
    asV1: UNCHANGED,
  },
  {
    file: 'connaisseur/29_deleted_deployment_update_for_delete.json',
    images: ['busybox'],
    answer: V1BETA1,
    asV1: UNCHANGED,
  },

  {
    file: 'kubewarden-requests/echo/create_accept.json',
    images: ['nginx:latest'],
    answer: ok('nginx:latest'),
  },
  {
    file: 'kubewarden-requests/echo/delete_accept.json',
    images: ['nginx:latest'],
    answer: { status: 200, checked: [], skipped: 'operation DELETE is not checked' },
  },
  { file: 'kubewarden-requests/echo/update_accept.json', images: ['nginx:latest'], answer: UNCHANGED },
  {
    file: 'kubewarden-requests/misc/pod_creation_with_secrets_init_and_ephemeral_containers.json',
    images: ['nginx', 'nginx', 'busybox'],
    answer: ok('nginx', 'busybox'),
  },
  {
    file: 'kubewarden-requests/misc/privileged_ephemeral_container.json',
    images: ['alpine', 'nginx', 'nginx'],
    answer: ok('alpine', 'nginx'),
  },
  ...(
    [
      'cronjob',
      'daemonset',
      'deployment',
      'job',
      'pod',
      'replicaset',
      'replicationcontroller',
      'statefulset',
    ] as const
  ).flatMap((kind): Case[] => [
    {
      file: `kubewarden-requests/verify-image-signatures/${kind}_creation_signed.json`,
      images: [SIGNED],
      answer: ok(SIGNED),
    },
    {
      file: `kubewarden-requests/verify-image-signatures/${kind}_creation_unsigned.json`,
      images: [UNSIGNED],
      answer: ok(UNSIGNED),
    },
  ]),
  {
    file: 'kubewarden-requests/verify-image-signatures/pod_creation_signed_with_certificate.json',
    images: [PRIVILEGED],
    answer: ok(PRIVILEGED),
  },
  {
    file: 'kubewarden-requests/verify-image-signatures/pod_creation_signed_with_keyless_mode.json',
    images: [PRIVILEGED],
    answer: ok(PRIVILEGED),
  },
  {
    file: 'kubewarden-requests/verify-image-signatures/pod_creation_with_digest.json',
    images: ['nginx:v1.26@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e'],
    answer: ok('nginx:v1.26@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e'),
  },
  {
    file: 'kubewarden-requests/verify-image-signatures/pod_creation_with_init_container.json',
    images: ['init', 'nginx'],
    answer: ok('init', 'nginx'),
  },

  {
    file: 'k8s-api-roundtrip/admission.k8s.io.v1.AdmissionReview.json',
    images: 'NO_POD_SPEC',
    answer: { status: 400, code: 'NOT_ADMISSION_REVIEW', message: /request\.operation/ },
  },
  {
    file: 'k8s-api-roundtrip/admission.k8s.io.v1beta1.AdmissionReview.json',
    images: 'NO_POD_SPEC',
    answer: V1BETA1,
  },
  {
    file: 'k8s-api-roundtrip/core.v1.Pod.json',
    // containers, initContainers, ephemeralContainers (Pod only: templates have none), image volume
    images: IMAGES_AND_VOLUME,
    answer: ok('imageValue', 'referenceValue'),
  },
  {
    file: 'k8s-api-roundtrip/apps.v1.Deployment.json',
    // containers, initContainers, ephemeralContainers (Pod only: templates have none), image volume
    images: IMAGES_AND_VOLUME,
    answer: ok('imageValue', 'referenceValue'),
  },
  {
    file: 'k8s-api-roundtrip/batch.v1.Job.json',
    // containers, initContainers, ephemeralContainers (Pod only: templates have none), image volume
    images: IMAGES_AND_VOLUME,
    answer: ok('imageValue', 'referenceValue'),
  },
  {
    file: 'k8s-api-roundtrip/batch.v1.CronJob.json',
    // containers, initContainers, ephemeralContainers (Pod only: templates have none), image volume
    images: IMAGES_AND_VOLUME,
    answer: ok('imageValue', 'referenceValue'),
  },
];

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
  let server: TestServer;

  beforeAll(async () => {
    const { engine } = await buildEngine();
    server = await startServer({ engine });
  });
  afterAll(() => server.close());

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
