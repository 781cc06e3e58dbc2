/**
 * Audit records and the decision they record, field by field, over the real HTTPS server with a
 * policy file: an enforcing requireDigest policy, an audit policy, a policy without checks, and the
 * unmatched setting.
 */
import { describe, expect, it } from 'vitest';
import type { CommonOptions } from '../../src/cli/args.js';
import { podReview, readFixture, wrapRequest } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { HAVE_FIXTURES } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { policyYaml } from '../helpers/policy-documents.js';
import { useDefaultPolicyServer, useServer } from '../helpers/served-engine.js';

const POLICIES =
  policyYaml('prod-digests', {
    mode: 'enforce',
    images: [{ glob: 'registry.example.com/prod/**' }],
    exclude: [{ glob: 'registry.example.com/prod/sandbox/**' }],
    requireDigest: true,
  }) +
  '---\n' +
  policyYaml('team-audit', {
    mode: 'audit',
    images: [{ glob: 'registry.example.com/**' }],
    requireDigest: true,
    onError: 'allow',
  }) +
  '---\n' +
  policyYaml('ghcr-open', { images: [{ glob: 'ghcr.io/**' }] });

const DIGEST = `sha256:${'ab'.repeat(32)}`;
// The image is named by the record/warning around the message; the message says what was wanted.
const TAG_ONLY = (_ref: string): string =>
  'referenced by tag only; the policy requires name@sha256:… (a tag can move between admission and pull)';

interface Response {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

async function startWith(options: Partial<CommonOptions>): Promise<TestServer> {
  const policy = await writePolicyFile(POLICIES);
  const { engine } = await buildEngine({ policy: [policy], ...options });
  return startServer({ engine });
}

/** Sends one review; returns its response and the single audit record it must have written. */
async function decide(server: TestServer, body: unknown) {
  const before = server.audit.length;
  const reply = await server.post('/validate?timeout=10s', body);
  expect(reply.status).toBe(200);
  const records = server.audit.slice(before);
  expect(records).toHaveLength(1);
  const response = (reply.json as { response: Response }).response;
  return { response, record: records[0] as unknown as Record<string, unknown> };
}

describe('audit records', () => {
  describe('with unmatched: audit', () => {
    const server = useServer(() => startWith({ unmatched: 'audit' }));

    describe('when a pod mixes denied, audited, passing and unmatched images', () => {
      const images = [
        'registry.example.com/prod/api:2',
        `registry.example.com/prod/app@${DIGEST}`,
        'ghcr.io/org/tool:1',
        'quay.io/other/x:1',
      ];

      it('writes one record naming every image, policy and check with its result', async () => {
        const body = podReview(images, { namespace: 'prod', name: 'web', user: 'alice@example.com' });
        const { record } = await decide(server, body);
        const digestFinding = {
          check: 'digest',
          passed: false,
          code: 'DIGEST_REQUIRED',
          message: TAG_ONLY('registry.example.com/prod/api:2'),
          durationMs: 0,
        };
        expect(record).toEqual({
          level: 30,
          time: expect.any(Number),
          logger: 'audit',
          msg: 'decision',
          event: 'imagegate.decision',
          uid: body.request.uid,
          operation: 'CREATE',
          dryRun: false,
          user: 'alice@example.com',
          namespace: 'prod',
          kind: 'Pod',
          name: 'web',
          decision: 'denied',
          wouldDeny: true,
          images: [
            {
              image: 'registry.example.com/prod/api:2',
              reference: 'registry.example.com/prod/api:2',
              policies: [
                { policy: 'prod-digests', mode: 'enforce', result: 'fail', checks: [digestFinding] },
                { policy: 'team-audit', mode: 'audit', result: 'fail', checks: [digestFinding] },
              ],
            },
            {
              image: `registry.example.com/prod/app@${DIGEST}`,
              reference: `registry.example.com/prod/app@${DIGEST}`,
              digest: DIGEST,
              policies: ['prod-digests', 'team-audit'].map((policy) => ({
                policy,
                mode: policy === 'prod-digests' ? 'enforce' : 'audit',
                result: 'pass',
                checks: [
                  {
                    check: 'digest',
                    passed: true,
                    code: 'OK',
                    message: `pinned to ${DIGEST}`,
                    durationMs: 0,
                  },
                ],
              })),
            },
            {
              image: 'ghcr.io/org/tool:1',
              reference: 'ghcr.io/org/tool:1',
              policies: [{ policy: 'ghcr-open', mode: 'enforce', result: 'pass', checks: [] }],
            },
            { image: 'quay.io/other/x:1', reference: 'quay.io/other/x:1', unmatched: 'audit', policies: [] },
          ],
          latencyMs: expect.any(Number),
        });
        expect(record.latencyMs).toBeGreaterThan(0);
        expect(record.latencyMs).toBeLessThan(1000);
      });

      it('denies with 403 and a message naming the image, policy, check and what was wanted', async () => {
        const { response } = await decide(server, podReview(images, { namespace: 'prod', name: 'web' }));
        expect(response.allowed).toBe(false);
        expect(response.status).toEqual({
          code: 403,
          reason: 'Forbidden',
          message: `imagegate denied Pod prod/web: registry.example.com/prod/api:2 (policy prod-digests): digest DIGEST_REQUIRED: ${TAG_ONLY('registry.example.com/prod/api:2')}`,
        });
      });

      it('still warns about the audit-mode findings of a denied pod', async () => {
        const { response } = await decide(server, podReview(images));
        expect(response.warnings).toEqual([
          `imagegate: [audit] registry.example.com/prod/api:2 would be denied by team-audit: digest DIGEST_REQUIRED: ${TAG_ONLY('registry.example.com/prod/api:2')}`,
          'imagegate: [audit] quay.io/other/x:1 would be denied: no ImagePolicy governs this image',
        ]);
        expect(response.auditAnnotations).toEqual({ decision: 'denied', 'would-deny': 'true', images: '4' });
      });
    });

    describe('when only an audit-mode policy fails', () => {
      it('allows, warns "would be denied by <policy>" and records wouldDeny', async () => {
        const body = podReview(['registry.example.com/team/web:1']);
        const { response, record } = await decide(server, body);
        expect(response).toEqual({
          uid: body.request.uid,
          allowed: true,
          warnings: [
            `imagegate: [audit] registry.example.com/team/web:1 would be denied by team-audit: digest DIGEST_REQUIRED: ${TAG_ONLY('registry.example.com/team/web:1')}`,
          ],
          auditAnnotations: { decision: 'allowed', 'would-deny': 'true', images: '1' },
        });
        expect(record).toMatchObject({ decision: 'allowed', wouldDeny: true });
        expect(record.images).toMatchObject([
          { policies: [{ policy: 'team-audit', mode: 'audit', result: 'fail' }] },
        ]);
      });
    });

    describe('when a warning would be longer than the API server keeps', () => {
      it('clips it to 256 characters ending in … (the record keeps the full message)', async () => {
        const image = `registry.example.com/team/${'very-long-path-component/'.repeat(4)}app:1`;
        const { response, record } = await decide(server, podReview([image]));
        expect(response.warnings).toHaveLength(1);
        const warning = response.warnings?.[0] ?? '';
        expect(warning).toHaveLength(256);
        expect(warning.endsWith('…')).toBe(true);
        expect(warning.startsWith(`imagegate: [audit] ${image} would be denied by team-audit: `)).toBe(true);
        expect(record.images).toMatchObject([{ policies: [{ checks: [{ message: TAG_ONLY(image) }] }] }]);
      });
    });

    describe('when an image is excluded from the enforcing policy', () => {
      it('is governed only by the policies that still match it', async () => {
        const { response, record } = await decide(
          server,
          podReview(['registry.example.com/prod/sandbox/x:1']),
        );
        expect(response.allowed).toBe(true);
        expect(record.images).toMatchObject([{ policies: [{ policy: 'team-audit' }] }]);
        expect((record.images as { policies: unknown[] }[])[0]?.policies).toHaveLength(1);
      });
    });

    describe('when an image only looks like a governed registry', () => {
      it('is not matched by registry.example.com/** (globs are anchored)', async () => {
        const { record } = await decide(server, podReview(['registry.example.com.evil.io/prod/x:1']));
        expect(record.images).toEqual([
          {
            image: 'registry.example.com.evil.io/prod/x:1',
            reference: 'registry.example.com.evil.io/prod/x:1',
            unmatched: 'audit',
            policies: [],
          },
        ]);
      });
    });

    describe('when an image reference cannot be parsed', () => {
      it('denies it under an enforcing policy set and records why', async () => {
        const { response, record } = await decide(server, podReview(['Registry.example.com/PROD/x:1']));
        expect(response.allowed).toBe(false);
        expect(response.status?.message).toContain('Registry.example.com/PROD/x:1');
        expect(record.images).toEqual([
          {
            image: 'Registry.example.com/PROD/x:1',
            invalid: expect.stringMatching(
              /^invalid image reference "Registry\.example\.com\/PROD\/x:1": .*lowercase/,
            ),
            policies: [],
          },
        ]);
      });
    });

    describe('when the pod carries secrets', () => {
      it('never copies the object, env values or pull secrets into the record', async () => {
        const body = podReview(['ghcr.io/org/tool:1']);
        const spec = (body.request.object as { spec: Record<string, unknown> }).spec;
        (spec.containers as Record<string, unknown>[])[0]!.env = [
          { name: 'TOKEN', value: 's3cr3t-t0ken-value' },
        ];
        spec.imagePullSecrets = [{ name: 'pull-secret-name' }];
        const { record } = await decide(server, body);
        const text = JSON.stringify(record);
        expect(text).not.toContain('s3cr3t-t0ken-value');
        expect(text).not.toContain('pull-secret-name');
        expect(text).not.toContain('containers');
      });
    });

    describe('when reviews of every kind of outcome arrive', () => {
      it('writes exactly one record per review, in order, and none for a malformed review', async () => {
        const bodies = [
          podReview(['registry.example.com/prod/api:2']),
          podReview([`registry.example.com/prod/api@${DIGEST}`], { dryRun: true }),
          {
            ...podReview(['ghcr.io/a/b:1']),
            request: { ...podReview(['x']).request, uid: 'delete-1', operation: 'DELETE', object: null },
          },
        ];
        const before = server.audit.length;
        for (const b of bodies) await server.post('/validate', b);
        await server.post('/validate', {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {},
        });
        const records = server.audit.slice(before);
        expect(records.map((r) => [r.uid, r.decision, r.dryRun])).toEqual([
          [bodies[0]!.request.uid, 'denied', false],
          [bodies[1]!.request.uid, 'allowed', true],
          ['delete-1', 'allowed', false],
        ]);
        expect(records[2]).toMatchObject({
          operation: 'DELETE',
          skipped: 'operation DELETE is not checked',
          images: [],
        });
      });
    });
  });

  describe('with --mode audit (a cluster-wide dry run)', () => {
    const server = useServer(() => startWith({ mode: 'audit', unmatched: 'deny' }));

    describe('when an enforcing policy would deny', () => {
      it('allows, turns the denial into a warning and records the override', async () => {
        const body = podReview(['registry.example.com/prod/api:2']);
        const { response, record } = await decide(server, body);
        expect(response.allowed).toBe(true);
        expect(response.status).toBeUndefined();
        const why = `digest DIGEST_REQUIRED: ${TAG_ONLY('registry.example.com/prod/api:2')}`;
        expect(response.warnings).toEqual([
          `imagegate: [audit] registry.example.com/prod/api:2 would be denied by prod-digests: ${why}`,
          `imagegate: [audit] registry.example.com/prod/api:2 would be denied by team-audit: ${why}`,
        ]);
        expect(record).toMatchObject({ mode: 'audit', decision: 'allowed', wouldDeny: true });
        expect(record.images).toMatchObject([
          {
            policies: [
              { policy: 'prod-digests', mode: 'audit', result: 'fail' },
              { policy: 'team-audit', mode: 'audit', result: 'fail' },
            ],
          },
        ]);
      });
    });

    describe('when unmatched: deny would deny', () => {
      it('warns instead of denying', async () => {
        const { response } = await decide(server, podReview(['quay.io/other/x:1']));
        expect(response.allowed).toBe(true);
        expect(response.warnings).toEqual([
          'imagegate: [audit] quay.io/other/x:1 would be denied: no ImagePolicy governs this image',
        ]);
      });
    });
  });

  describe('with unmatched: deny', () => {
    const server = useServer(() => startWith({ unmatched: 'deny' }));

    describe('when no policy governs an image', () => {
      it('denies it and says so', async () => {
        const { response, record } = await decide(server, podReview(['quay.io/other/x:1']));
        expect(response.allowed).toBe(false);
        expect(response.status?.message).toBe(
          'imagegate denied Pod default/web: quay.io/other/x:1: no ImagePolicy governs this image (unmatched: deny)',
        );
        expect(record).toMatchObject({ decision: 'denied', wouldDeny: false });
        expect(record.mode).toBeUndefined();
      });
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('with the built-in default policy', () => {
    const server = useDefaultPolicyServer();

    describe('when a real cluster request uses a tag-only image', () => {
      it('records the user, namespace, kind and name the API server sent', async () => {
        const body = wrapRequest(readFixture('kubewarden-requests/echo/create_accept.json'));
        const { response, record } = await decide(server, body);
        expect(response.allowed).toBe(true);
        expect(record).toMatchObject({
          uid: '307362f8-ffb1-481a-9ce7-7e6192fbc699',
          user: 'minikube-user',
          namespace: 'default',
          kind: 'Deployment',
          name: 'nginx',
          decision: 'allowed',
          wouldDeny: true,
          images: [
            {
              image: 'nginx:latest',
              reference: 'docker.io/library/nginx:latest',
              policies: [{ policy: 'imagegate-default', mode: 'audit', result: 'fail' }],
            },
          ],
        });
      });
    });
  });
});
