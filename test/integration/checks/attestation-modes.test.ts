/**
 * Issue 15 through the real registry and the product path, beside attestation.test.ts: signature
 * maxAge and keyless claims, audit mode, and attestations on multi-arch images (on the index, per
 * platform, missing on one). The seeded registry is test/helpers/attestation-world.ts.
 */
import { describe, expect, it } from 'vitest';
import { evaluateImages } from '../../../src/evaluate/evaluate.js';
import { useAttestationWorld, type AttestationWorld } from '../../helpers/attestation-world.js';
import { HAVE_FIXTURES } from '../../helpers/fixtures.js';

describe.skipIf(!HAVE_FIXTURES)(
  'attestation policies through a real registry: modes, signatures, multi-arch',
  () => {
    const world = useAttestationWorld();
    const finding: AttestationWorld['finding'] = (repo, check) => world.finding(repo, check);

    describe('signature.maxAge and keyless claims', () => {
      it('passes a signature made now by the workflow with the claimed trigger', async () => {
        const f = await finding('signed/fresh', 'signature');
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toMatch(/signed \S+ \(within maxAge 30d\)$/);
      });

      it('denies a certificate without the claim: CLAIM_MISMATCH', async () => {
        const f = await finding('signed/no-claims', 'signature');
        expect(f.code).toBe('CLAIM_MISMATCH');
        expect(f.message).toContain('whose certificate has no githubWorkflowTrigger claim (wanted "push")');
      });

      it('denies an image signed before maxAge: SIGNATURE_TOO_OLD', async () => {
        const f = await finding('signed-old/app', 'signature');
        expect(f.code).toBe('SIGNATURE_TOO_OLD');
        expect(f.message).toMatch(/\(30d 0h ago\), older than maxAge 7d/);
      });

      it('cannot prove freshness of a key signature without a log entry: SIGNATURE_AGE_UNKNOWN', async () => {
        const f = await finding('signed-key/app', 'signature');
        expect(f.code).toBe('SIGNATURE_AGE_UNKNOWN');
      });
    });

    describe('in audit mode', () => {
      it('admits and warns with the same message', async () => {
        const access = await world.setup.engine.registry!({ namespace: 'default' });
        const verdict = await evaluateImages(
          [world.images['audit/log4j']!],
          world.setup.engine.policies(),
          world.setup.engine.settings,
          {
            namespace: 'default',
            signal: AbortSignal.timeout(60_000),
            registry: access,
          },
        );
        expect(verdict.allowed).toBe(true);
        expect(verdict.audits).toHaveLength(1);
        expect(verdict.audits[0]!.message).toMatch(
          /^attestations CONDITION_FALSE: attestation sbom: condition false: .*predicate\.packages\[1\]\.name="log4j-core"/,
        );
      });
    });

    describe('for multi-arch images', () => {
      it('accepts an attestation on the index for every platform', async () => {
        const f = await finding('multi/on-index');
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain(`for ${world.images['multi/on-index']!.split('@')[1]}`);
      });

      it('accepts one attestation per checked platform', async () => {
        const f = await finding('multi/per-platform');
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain('every checked platform carries it: linux/amd64: ');
        expect(f.message).toContain('; linux/arm64: ');
      });

      it('denies when a checked platform has none, naming it', async () => {
        const f = await finding('multi/one-platform');
        expect(f.code).toBe('ATTESTATION_MISSING');
        expect(f.message).toMatch(
          /\| linux\/arm64 \(ATTESTATION_MISSING\): no attestation is stored for sha256:/,
        );
        expect(f.message).not.toContain('linux/amd64 (');
      });
    });
  },
);
