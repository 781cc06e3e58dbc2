/**
 * The chart's example policies (manifests/examples, rendered from charts/imagegate/examples) pass
 * imagegate's own policy validation, which compiles their CEL conditions and claims.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileAttestationRules } from '../../../../src/checks/attestations/index.js';
import { parsePolicyYaml } from '../../../../src/policy/load.js';
import type { AttestationSpec } from '../../../../src/checks/attestations/schema.js';
import { ROOT } from '../../../helpers/cli.js';

const DIR = join(ROOT, 'manifests', 'examples');

describe('example policies', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.yaml')))('%s validates and compiles', (file) => {
    const docs = parsePolicyYaml(readFileSync(join(DIR, file), 'utf8'), file);
    expect(docs.length).toBeGreaterThan(0);
  });

  it('include the three attestation examples', () => {
    const conditions = ['sbom-required.yaml', 'provenance-from-workflow.yaml', 'vuln-scan-fresh.yaml'].map(
      (f) => parsePolicyYaml(readFileSync(join(DIR, f), 'utf8'), f)[0]!.spec.attestations?.[0]?.condition,
    );
    expect(conditions.every((c) => typeof c === 'string' && c.length > 0)).toBe(true);
  });
});

describe('docs/attestations.md', () => {
  const text = readFileSync(join(ROOT, 'docs', 'attestations.md'), 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as unknown);
  const entries = blocks.flatMap((b) => (Array.isArray(b) ? (b as AttestationSpec[]) : []));

  it('has one example per predicate type, each of whose conditions compiles', () => {
    expect(entries.map((e) => e.predicateType)).toEqual([
      'https://slsa.dev/provenance/v1',
      'https://slsa.dev/provenance/v0.2',
      'https://spdx.dev/Document',
      'https://cyclonedx.org/bom',
      'https://cosign.sigstore.dev/attestation/vuln/v1',
      'https://cosign.sigstore.dev/attestation/v1',
    ]);
    expect(compileAttestationRules(entries, 'docs').every((r) => r.condition !== undefined)).toBe(true);
  });
});
