/**
 * The signature check's reusable findings (Finding.reusable, evaluate.ts reuses them): only a passing
 * finding made from a verdict the verdict cache holds, and only while it holds it and, with maxAge,
 * while the newest signature is young enough.
 */
import { describe, expect, it } from 'vitest';
import type { CheckInput } from '../../../../src/checks/check.js';
import type { ImageFacts } from '../../../../src/checks/facts.js';
import { compileSignatureCheck, type SignatureVerdict } from '../../../../src/checks/signature/index.js';
import { freshUntil } from '../../../../src/checks/signature/freshness.js';
import type { TrustedRootStore } from '../../../../src/checks/signature/trusted-roots.js';
import type { VerdictStore } from '../../../../src/checks/signature/types.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { keyPair } from '../../../helpers/test-sigstore.js';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const SIGNED_AT = '2026-11-01T00:00:00.000Z';
const DAY = 24 * 3600 * 1000;

function verdict(passed: boolean): SignatureVerdict {
  return {
    passed,
    code: passed ? 'OK' : 'NO_SIGNATURES',
    message: passed ? `${DIGEST} signed by "release"` : 'no signatures',
    signatures: passed
      ? [
          {
            kind: 'signature',
            authority: 'release',
            digest: DIGEST,
            source: 'tag',
            format: 'cosign-legacy',
            signer: { keyId: 'k' },
            tlogEntries: 1,
            signedAt: SIGNED_AT,
            timeSource: 'rekor',
          },
        ]
      : [],
    attestations: [],
    digests: [],
  };
}

/** A verdict store that holds exactly the verdicts in `held`. */
function store(held: Set<SignatureVerdict>): VerdictStore {
  return {
    verify: (_k, s, v) => v(s),
    get: () => undefined,
    notePlatformSigned: () => undefined,
    isPlatformSigned: () => false,
    holds: (v) => held.has(v),
  };
}

function input(answer: SignatureVerdict): CheckInput {
  const facts: ImageFacts = {
    signatures: async () => answer,
    attestations: async () => [],
  };
  return {
    reference: parseReference(`registry.example.com/app@${DIGEST}`),
    resolved: { digest: DIGEST } as CheckInput['resolved'],
    registry: {} as CheckInput['registry'],
    platforms: ['linux/amd64'],
    signal: AbortSignal.timeout(5000),
    facts,
  };
}

const roots = { has: () => true, ready: () => undefined } as unknown as TrustedRootStore;
const pem = keyPair('ec-p256').publicPem; // compiled, never used: the verdicts here are given
const spec = (maxAge?: string) => ({
  authorities: [{ name: 'release', key: { pem } }],
  ...(maxAge !== undefined ? { maxAge } : {}),
});

describe('the signature check: reusable findings', () => {
  it('marks a passing finding from a held verdict reusable while the cache holds it', async () => {
    const v = verdict(true);
    const held = new Set([v]);
    const check = compileSignatureCheck(spec(), 'p', { trustedRoots: roots, cache: store(held) });
    const finding = await check.run(input(v));
    expect(finding.passed).toBe(true);
    expect(finding.reusable?.()).toBe(true);
    held.clear();
    expect(finding.reusable?.()).toBe(false);
  });

  it('gives no reusable finding for a verdict the cache does not hold, or a failing one', async () => {
    const v = verdict(true);
    const check = compileSignatureCheck(spec(), 'p', { trustedRoots: roots, cache: store(new Set()) });
    expect((await check.run(input(v))).reusable).toBeUndefined();
    const failing = verdict(false);
    const held = compileSignatureCheck(spec(), 'p', {
      trustedRoots: roots,
      cache: store(new Set([failing])),
    });
    expect((await held.run(input(failing))).reusable).toBeUndefined();
  });

  it('stops reusing once the newest signature passes maxAge', async () => {
    const v = verdict(true);
    let now = Date.parse(SIGNED_AT) + 6 * DAY;
    const check = compileSignatureCheck(spec('7d'), 'p', {
      trustedRoots: roots,
      cache: store(new Set([v])),
      now: () => now,
    });
    const finding = await check.run(input(v));
    expect(finding.message).toMatch(/within maxAge 7d/);
    expect(finding.reusable?.()).toBe(true);
    now = Date.parse(SIGNED_AT) + 7 * DAY;
    expect(finding.reusable?.()).toBe(true);
    now += 1;
    expect(finding.reusable?.()).toBe(false);
    expect((await check.run(input(v))).code).toBe('SIGNATURE_TOO_OLD'); // what the next review finds
  });

  it('freshUntil: the newest verified signing time plus maxAge; never without one', () => {
    const v = verdict(true);
    expect(freshUntil(v, DAY)).toBe(Date.parse(SIGNED_AT) + DAY);
    expect(freshUntil({ ...v, signatures: [{ ...v.signatures[0]!, signedAt: undefined }] }, DAY)).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
});
