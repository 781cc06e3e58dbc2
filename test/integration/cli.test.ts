/**
 * The imagegate CLI: its stdout, stderr and exit code. Two smoke tests run it as a user does, a real
 * process (tsx, about a second each); the rest call main(argv, io) in-process. Argument parsing in
 * depth is unit-tested in test/unit/cli.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { podReview, readFixture, wrapRequest } from '../helpers/admission-fixtures.js';
import { imagegate, imagegateCheck, imagegateProcess } from '../helpers/cli.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { policyYaml } from '../helpers/policy-documents.js';

const DIGEST = `sha256:${'cd'.repeat(32)}`;

const PINNED = { images: [{ glob: 'registry.example.com/**' }], requireDigest: true };
const POLICY = policyYaml('prod-digests', { mode: 'enforce', ...PINNED });

describe('imagegate CLI', () => {
  let dir: string;
  let policy: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-cli-'));
    policy = join(dir, 'prod.yaml');
    await writeFile(policy, POLICY);
  });

  describe.skipIf(!HAVE_FIXTURES)('review FILE', () => {
    it('prints the response AdmissionReview for a saved request and exits 0 (real process)', async () => {
      const run = await imagegateProcess([
        'review',
        fixturePath('admission-review/connaisseur/05_replication_controller.json'),
      ]);
      expect(run.code).toBe(0);
      const out = JSON.parse(run.stdout) as unknown;
      expect(out).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: 'faa399ba-a51b-4790-a404-dd1aaac7421e',
          allowed: true,
          warnings: [
            expect.stringMatching(
              /^imagegate: \[audit\] docker\.io\/library\/nginx:latest would be denied by imagegate-default: digest DIGEST_REQUIRED/,
            ),
          ],
          auditAnnotations: { decision: 'allowed', 'would-deny': 'true', images: '1' },
        },
      });
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('review -', () => {
    it('reads the review from standard input (real process)', async () => {
      const body = wrapRequest(readFixture('kubewarden-requests/echo/create_accept.json'));
      // The fixture's image is outside the policy's glob: allowed only because unmatched is allow.
      const run = await imagegateProcess(
        ['review', '--policy', policy, '--unmatched', 'allow', '-'],
        JSON.stringify(body),
      );
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        kind: 'AdmissionReview',
        response: { uid: '307362f8-ffb1-481a-9ce7-7e6192fbc699', allowed: true },
      });
    });
  });

  describe('review FILE, denied', () => {
    it("exits 1 with the webhook's denial and logs the one audit record the webhook would write", async () => {
      const body = podReview(['registry.example.com/app:1.0'], { uid: 'cli-denied' });
      const file = join(dir, 'review.json');
      await writeFile(file, JSON.stringify(body));
      const run = await imagegate(['review', '--policy', policy, file]);
      expect(run.code).toBe(1);
      const out = JSON.parse(run.stdout) as { response: { allowed: boolean; status: { message: string } } };
      expect(out.response.allowed).toBe(false);
      expect(out.response.status.message).toContain('DIGEST_REQUIRED');
      const records = run.stderr
        .split('\n')
        .filter((l) => l.includes('"imagegate.decision"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records).toEqual([
        expect.objectContaining({ uid: 'cli-denied', decision: 'denied', event: 'imagegate.decision' }),
      ]);
    });
  });

  describe('check', () => {
    describe('when an enforcing policy requires a digest and the image has only a tag', () => {
      it('explains the denial and exits 1', async () => {
        const run = await imagegate(['check', '--policy', policy, 'registry.example.com/app:1.0']);
        expect(run.code).toBe(1);
        expect(run.stdout).toContain('✗ registry.example.com/app:1.0');
        expect(run.stdout).toContain('policy prod-digests (enforce): fail');
        expect(run.stdout).toMatch(/FAIL digest: referenced by tag only; .* \[DIGEST_REQUIRED\]/);
        expect(run.stdout.trimEnd().endsWith('result: denied (1 reason)')).toBe(true);
      });
    });

    describe('when every image is allowed and --output json is asked for', () => {
      it('prints parseable JSON and exits 0', async () => {
        const run = await imagegateCheck(
          policy,
          '--output',
          'json',
          '--unmatched',
          'allow',
          `registry.example.com/app@${DIGEST}`,
          'quay.io/other/tool:1',
        );
        expect(run.code).toBe(0);
        const out = JSON.parse(run.stdout) as {
          allowed: boolean;
          denials: unknown[];
          images: { image: string }[];
        };
        expect(out).toMatchObject({ allowed: true, wouldDeny: false, denials: [], warnings: [] });
        expect(out.images).toMatchObject([
          {
            image: `registry.example.com/app@${DIGEST}`,
            digest: DIGEST,
            policies: [{ policy: 'prod-digests', result: 'pass' }],
          },
          { image: 'quay.io/other/tool:1', unmatched: 'allow', policies: [] },
        ]);
      });
    });
  });

  describe('check with an image no policy governs, where a policy enforces (the default rule)', () => {
    it('denies it, naming the enforcing policy, and exits 1', async () => {
      const run = await imagegate(['check', '--policy', policy, 'quay.io/other/tool:1']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        '✗ quay.io/other/tool:1: no ImagePolicy governs this image, and ImagePolicy "prod-digests" enforces in namespace "default"',
      );
    });
  });

  describe('when the command line is wrong', () => {
    it('prints what is wrong and exits 2', async () => {
      const run = await imagegate(['check', '--output', 'yaml', 'nginx']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('imagegate: --output must be one of text, json (got "yaml")');
      expect(run.stderr).toContain('Run "imagegate --help" for usage.');
    });
  });

  describe('when a policy file is invalid', () => {
    it('exits 2 with a message naming the file, the document, the field and the problem', async () => {
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, `${POLICY}---\n${policyYaml('broken', { mode: 'block', ...PINNED })}`);
      const run = await imagegate(['check', '--policy', bad, 'nginx']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`imagegate: ${bad}#2 (ImagePolicy "broken"): invalid policy: spec.mode:`);
      expect(run.stderr).toContain('(found "block")');
    });
  });

  describe('when the review file cannot be read', () => {
    it('exits 2 naming the file', async () => {
      const run = await imagegate(['review', join(dir, 'missing.json')]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`imagegate: cannot read ${join(dir, 'missing.json')}`);
    });
  });
});
