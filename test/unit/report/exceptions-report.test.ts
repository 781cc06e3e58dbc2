import { describe, expect, it } from 'vitest';
import { toAuditImages, toAuditRecord } from '../../../src/audit/record.js';
import { auditRecordMembers } from '../../../src/audit/json.js';
import { filterByException } from '../../../src/cluster/filter.js';
import { toAuditImage } from '../../../src/cluster/image-result.js';
import type { AuditReport } from '../../../src/cluster/result.js';
import { decide, type ImageOutcome } from '../../../src/evaluate/decision.js';
import { toPolicyReports } from '../../../src/report/policy-report.js';
import { toAuditText } from '../../../src/report/text.js';
import { auditReportOf } from '../../helpers/audit-report.js';

const EXEMPTION = {
  exception: 'shop/hotfix',
  reason: 'vendor fix due Friday',
  expires: '2026-12-10T12:00:00Z',
};

/** One image whose signature failure an exception let through, and one that simply passed. */
function outcome(exempted: boolean): ImageOutcome {
  return {
    image: 'r.example/app:1',
    reference: 'r.example/app:1',
    policies: [
      {
        policy: 'signed',
        mode: 'enforce',
        onError: 'deny',
        result: exempted ? 'exempted' : 'pass',
        findings: exempted
          ? [
              {
                check: 'signature',
                passed: false,
                code: 'NO_SIGNATURES',
                message: 'none',
                exemptedBy: EXEMPTION,
              },
            ]
          : [{ check: 'signature', passed: true, code: 'OK', message: 'signed' }],
      },
    ],
  };
}

function report(): AuditReport {
  const namespaces = [
    {
      name: 'shop',
      outcome: 'skip' as const,
      workloads: [true, false].map((exempted) => {
        const image = toAuditImage('r.example/app:1', decide([outcome(exempted)], ['enforce'], {}));
        return {
          kind: 'Deployment',
          name: exempted ? 'web' : 'api',
          pods: 1,
          outcome: image.outcome,
          admission: image.admission,
          containers: [{ name: 'app', field: 'containers' as const, image }],
        };
      }),
    },
  ];
  return auditReportOf(namespaces, 2, {
    generatedAt: '2026-12-07T12:00:00.000Z',
    scope: { namespaces: 'all', policies: ['signed'], unmatched: 'default' },
    outcome: 'skip',
    exceptions: [
      { ...EXEMPTION, phase: 'Active', policies: ['signed'], expiringSoon: true, message: 'exempts signed' },
      {
        exception: 'shop/old',
        phase: 'Expired',
        policies: ['signed'],
        reason: 'x',
        expires: '2026-12-01T00:00:00Z',
        expiringSoon: false,
        message: 'expired at 2026-12-01T00:00:00Z; it exempts nothing',
      },
    ],
  });
}

describe('an exempted finding', () => {
  it('is allowed, not passed, in the verdict and the cluster audit result', () => {
    const verdict = decide([outcome(true)], ['enforce'], {});
    expect(verdict.allowed).toBe(true);
    const image = toAuditImage('r.example/app:1', verdict);
    expect(image.outcome).toBe('skip');
    expect(image.exceptions).toEqual(['shop/hotfix']);
    expect(image.reasons).toEqual([expect.stringContaining('exempted by exception shop/hotfix')]);
  });

  it('is in the audit record with the exception, reason and expiry, byte for byte JSON.stringify', () => {
    // without `reference`: record.ts adds it after `policies`, which json.ts writes the other way round
    const { reference: _, ...unnamed } = outcome(true);
    const verdict = decide([unnamed], ['enforce'], {});
    const record = toAuditRecord(
      { uid: 'u', operation: 'CREATE', dryRun: false, namespace: 'shop', kind: 'Pod', name: 'web-1' },
      { decision: 'allowed', wouldDeny: false, images: toAuditImages(verdict), started: performance.now() },
    );
    expect(record.images[0]!.policies[0]).toMatchObject({
      result: 'exempted',
      checks: [{ check: 'signature', passed: false, exemptedBy: EXEMPTION }],
    });
    expect(auditRecordMembers(record)).toBe(JSON.stringify(record).slice(1, -1));
  });

  it('is a PolicyReport result `skip` naming the exception, its reason and expiry', () => {
    const results = toPolicyReports(report(), 'policyreports').get('shop')!.results;
    const skipped = results.filter((r) => r.result === 'skip');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.message).toContain(
      'exempted by ImagePolicyException shop/hotfix until 2026-12-10T12:00:00Z',
    );
    expect(skipped[0]!.message).toContain('vendor fix due Friday');
    expect(skipped[0]!.properties).toMatchObject({ exception: 'shop/hotfix', code: 'NO_SIGNATURES' });
  });

  describe('imagegate audit', () => {
    it('has an EXCEPTION column and lists exceptions expiring within 7 days and expired ones', () => {
      const text = toAuditText(report());
      expect(text).toMatch(/NAMESPACE\s+WORKLOAD\s+CONTAINER\s+IMAGE\s+RESULT\s+ADMISSION\s+EXCEPTION/);
      expect(text).toMatch(/Deployment\/web .* ~ skip +allow +shop\/hotfix/);
      expect(text).toMatch(/Deployment\/api .* ✓ pass +allow +-/);
      expect(text).toContain(
        'exception shop/hotfix expires soon (2026-12-10T12:00:00Z): vendor fix due Friday',
      );
      expect(text).toContain('exception shop/old expired');
    });

    it('filters to what an exception let through, by name or all', () => {
      for (const wanted of [['shop/hotfix'], ['all']]) {
        const filtered = filterByException(report(), wanted);
        expect(filtered.namespaces[0]!.workloads.map((w) => w.name)).toEqual(['web']);
        expect(filtered.summary.workloads).toBe(1);
      }
      expect(filterByException(report(), ['shop/other']).namespaces).toEqual([]);
    });
  });
});
