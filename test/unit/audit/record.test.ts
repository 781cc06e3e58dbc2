import { describe, expect, it } from 'vitest';
import { toRequestFacts } from '../../../src/admission/facts.js';
import { parseAdmissionReview } from '../../../src/admission/parse.js';
import { toAuditImages, toAuditRecord } from '../../../src/audit/record.js';
import type { Verdict } from '../../../src/evaluate/evaluate.js';
import { podReview } from '../../helpers/admission-fixtures.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function verdictWith(details: Record<string, unknown> | undefined): Verdict {
  return {
    allowed: true,
    wouldDeny: false,
    denials: [],
    audits: [],
    errorsAllowed: [],
    exempted: [],
    images: [
      {
        image: 'registry.example.com/app:1',
        reference: 'registry.example.com/app:1',
        digest: DIGEST,
        policies: [
          {
            policy: 'limits',
            mode: 'enforce',
            onError: 'deny',
            result: 'pass',
            findings: [
              {
                check: 'size',
                passed: true,
                code: 'OK',
                message: 'linux/amd64: 1 MiB compressed in 2 layers (within 1 GiB)',
                ...(details !== undefined ? { details } : {}),
                durationMs: 1.23456,
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('toAuditImages', () => {
  describe('when a check reports details', () => {
    it('puts them into the check entry', () => {
      const details = { platforms: [{ platform: 'linux/amd64', compressedBytes: 1048576, layers: 2 }] };
      const [image] = toAuditImages(verdictWith(details));
      expect(image?.policies[0]?.checks).toEqual([
        {
          check: 'size',
          passed: true,
          code: 'OK',
          message: 'linux/amd64: 1 MiB compressed in 2 layers (within 1 GiB)',
          details,
          durationMs: 1.235,
        },
      ]);
    });
  });

  describe('when a check reports none', () => {
    it('leaves the key out', () => {
      const [image] = toAuditImages(verdictWith(undefined));
      expect(image?.policies[0]?.checks[0]).not.toHaveProperty('details');
    });
  });
});

describe('toAuditRecord', () => {
  it('takes the request fields from the facts and the rest from the outcome', () => {
    const facts = toRequestFacts(
      parseAdmissionReview(podReview(['nginx:1'], { uid: 'r-1', user: 'bob', dryRun: true })).request,
    );
    const record = toAuditRecord(facts, {
      decision: 'denied',
      wouldDeny: false,
      images: [],
      mode: 'audit',
      started: performance.now(),
    });
    expect(record).toEqual({
      event: 'imagegate.decision',
      uid: 'r-1',
      operation: 'CREATE',
      dryRun: true,
      user: 'bob',
      namespace: 'default',
      kind: 'Pod',
      name: 'web',
      mode: 'audit',
      decision: 'denied',
      wouldDeny: false,
      images: [],
      latencyMs: expect.any(Number),
    });
    expect(record).not.toHaveProperty('skipped');
  });
});
