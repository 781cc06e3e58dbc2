/**
 * The chart's example policies (manifests/examples, rendered from charts/imagegate/examples) pass
 * imagegate's own policy validation, which compiles their CEL conditions and claims.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicyYaml } from '../../../../src/policy/load.js';
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
