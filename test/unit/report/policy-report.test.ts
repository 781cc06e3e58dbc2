import { describe, expect, it } from 'vitest';
import type { AuditImage, AuditReport } from '../../../src/cluster/result.js';
import { MAX_RESULTS, toPolicyReports } from '../../../src/report/policy-report.js';
import { auditReportOf } from '../../helpers/audit-report.js';

function image(over: Partial<AuditImage>): AuditImage {
  return {
    image: 'r.example/app:1',
    outcome: 'pass',
    admission: 'allow',
    policies: [],
    reasons: [],
    ...over,
  };
}

function reportOf(images: AuditImage[][]): AuditReport {
  const namespaces = [
    {
      name: 'shop',
      outcome: 'pass' as const,
      workloads: images.map((imgs, i) => ({
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        name: `w${i}`,
        pods: 1,
        outcome: 'pass' as const,
        admission: 'allow' as const,
        containers: imgs.map((img, j) => ({ name: `c${j}`, field: 'containers' as const, image: img })),
      })),
    },
  ];
  return auditReportOf(namespaces, 1, {});
}

const failing = (over: Partial<AuditImage['policies'][number]> = {}): AuditImage['policies'][number] => ({
  policy: 'signed',
  mode: 'enforce',
  onError: 'deny',
  result: 'fail',
  findings: [{ check: 'signature', passed: false, code: 'NO_SIGNATURES', message: 'no signature found' }],
  ...over,
});

describe('toPolicyReports', () => {
  describe('for Policy Reporter', () => {
    const img = image({
      outcome: 'fail',
      admission: 'deny',
      digest: `sha256:${'a'.repeat(64)}`,
      policies: [failing()],
    });

    it('gives per-container results of one workload with identical messages distinct resultIDs, stable across runs', () => {
      const results = toPolicyReports(reportOf([[img, img, img]]), 'policyreports').get('shop')!.results;
      const ids = results.map((r) => r.properties.resultID);
      expect(new Set(ids).size).toBe(3);
      const again = toPolicyReports(reportOf([[img, img, img]]), 'policyreports').get('shop')!.results;
      expect(again.map((r) => r.properties.resultID)).toEqual(ids);
      expect(ids[0]).toMatch(/^[0-9a-f]{40}$/);
    });

    it('names the container and the image in each message and marks init containers', () => {
      const report = reportOf([[img]]);
      report.namespaces[0]!.workloads[0]!.containers.push({
        name: 'setup',
        field: 'initContainers',
        image: img,
      });
      const results = toPolicyReports(report, 'policyreports').get('shop')!.results;
      expect(results.map((r) => r.message)).toEqual([
        `container c0, image r.example/app:1@sha256:${'a'.repeat(64)}: no signature found`,
        `init container setup, image r.example/app:1@sha256:${'a'.repeat(64)}: no signature found`,
      ]);
      expect(results.map((r) => r.properties.containerType)).toEqual(['container', 'initContainer']);
    });

    it("sets severity from the policy's spec.severity, else the check's default", () => {
      const two = image({
        outcome: 'fail',
        admission: 'deny',
        policies: [
          failing(),
          failing({
            policy: 'small',
            severity: 'low',
            findings: [{ check: 'size', passed: false, code: 'TOO_LARGE', message: 'big' }],
          }),
        ],
      });
      const results = toPolicyReports(reportOf([[two]]), 'policyreports').get('shop')!.results;
      expect(results.map((r) => [r.policy, r.rule, r.severity, r.category])).toEqual([
        ['signed', 'signature', 'high', 'Image signature'],
        ['small', 'size', 'low', 'Image size'],
      ]);
    });

    it("gives each result its own policy's admission outcome, not the image's worst", () => {
      const mixed = image({
        outcome: 'fail',
        admission: 'would-deny',
        policies: [
          failing({ mode: 'audit' }),
          failing({
            policy: 'lenient',
            onError: 'allow',
            result: 'error-allowed',
            findings: [
              { check: 'base', passed: false, code: 'TIMEOUT', message: 'slow', indeterminate: true },
            ],
          }),
        ],
      });
      const results = toPolicyReports(reportOf([[mixed]]), 'policyreports').get('shop')!.results;
      expect(results.map((r) => [r.policy, r.result, r.properties.admission])).toEqual([
        ['signed', 'fail', 'would-deny'],
        ['lenient', 'error', 'allow'],
      ]);
    });

    it('reports an image that could not be fetched under its policy as rule registry, never a pseudo-policy', () => {
      const unreachable = image({
        outcome: 'error',
        admission: 'deny',
        policies: [
          failing({
            findings: [
              {
                check: 'resolve',
                passed: false,
                code: 'REGISTRY_UNAVAILABLE',
                message: 'down',
                indeterminate: true,
              },
            ],
          }),
        ],
      });
      const [r] = toPolicyReports(reportOf([[unreachable]]), 'policyreports').get('shop')!.results;
      expect(r).toMatchObject({
        policy: 'signed',
        rule: 'registry',
        category: 'Registry access',
        result: 'error',
      });
    });
  });

  describe('when findings pass, fail and could not complete', () => {
    it('maps them to pass, fail and error, one result per check', () => {
      const img = image({
        outcome: 'fail',
        admission: 'deny',
        policies: [
          {
            policy: 'p',
            mode: 'enforce',
            onError: 'deny',
            result: 'fail',
            findings: [
              { check: 'size', passed: true, code: 'OK', message: 'small' },
              { check: 'signature', passed: false, code: 'SIGNATURE_MISSING', message: 'unsigned' },
              { check: 'base', passed: false, code: 'TIMEOUT', message: 'slow', indeterminate: true },
            ],
          },
        ],
      });
      const body = toPolicyReports(reportOf([[img]]), 'policyreports').get('shop')!;
      expect(body.results.map((r) => [r.rule, r.result])).toEqual([
        ['size', 'pass'],
        ['signature', 'fail'],
        ['base', 'error'],
      ]);
      expect(body.summary).toEqual({ pass: 1, fail: 1, warn: 0, error: 1, skip: 0 });
      expect(body.results[0]!.timestamp).toEqual({ seconds: 1_796_126_400, nanos: 0 });
      expect(body).not.toHaveProperty('source');
      expect(toPolicyReports(reportOf([[img]]), 'openreports').get('shop')).toMatchObject({
        apiVersion: 'openreports.io/v1alpha1',
        kind: 'Report',
        source: 'imagegate',
      });
    });
  });

  describe('when no policy governs an image', () => {
    it('reports skip, warn or fail per unmatched', () => {
      const results = (unmatched: 'allow' | 'audit' | 'deny') =>
        toPolicyReports(reportOf([[image({ unmatched })]]), 'policyreports').get('shop')!.results[0];
      expect(results('allow')).toMatchObject({
        policy: '(no ImagePolicy)',
        category: 'Unmatched image',
        rule: 'unmatched',
        result: 'skip',
      });
      expect(results('audit')?.result).toBe('warn');
      expect(results('deny')?.result).toBe('fail');
    });
  });

  describe('when a namespace has more results than a report should hold', () => {
    it('keeps failures first and says it truncated', () => {
      const pass = image({
        policies: [
          {
            policy: 'p',
            mode: 'enforce',
            onError: 'deny',
            result: 'pass',
            findings: [{ check: 'size', passed: true, code: 'OK', message: 'ok' }],
          },
        ],
      });
      const fail = image({ unmatched: 'deny' });
      const workloads = Array.from({ length: MAX_RESULTS + 10 }, () => [pass]);
      workloads.push([fail]);
      const body = toPolicyReports(reportOf(workloads), 'policyreports').get('shop')!;
      expect(body.results).toHaveLength(MAX_RESULTS);
      expect(body.results[0]?.result).toBe('fail');
      expect(body.metadata.annotations).toEqual({ 'imagegate.dev/truncated': `kept ${MAX_RESULTS} results` });
    });
  });
});
