import { describe, expect, it } from 'vitest';
import {
  decide,
  policyResult,
  type CheckOutcome,
  type EvaluationSettings,
  type ImageOutcome,
  type PolicyOutcome,
} from '../../../src/evaluate/decision.js';
import type { OnErrorAction, PolicyMode } from '../../../src/policy/policy.schema.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

const pass: CheckOutcome = { check: 'size', passed: true, code: 'OK', message: 'within limits' };
const violation: CheckOutcome = {
  check: 'size',
  passed: false,
  code: 'SIZE_EXCEEDED',
  message: '2 GiB over the 1 GiB limit',
};
const unreachable: CheckOutcome = {
  check: 'signature',
  passed: false,
  code: 'REGISTRY_UNAVAILABLE',
  message: 'connection refused',
  indeterminate: true,
};

function governed(
  findings: CheckOutcome[],
  mode: PolicyMode = 'enforce',
  onError: OnErrorAction = 'deny',
): ImageOutcome {
  const policy: PolicyOutcome = {
    policy: 'p',
    mode,
    onError,
    result: policyResult(findings, onError),
    findings,
  };
  return { image: 'ghcr.io/acme/app:1', reference: 'ghcr.io/acme/app:1', digest: DIGEST, policies: [policy] };
}

const allow: EvaluationSettings = { unmatched: 'allow' };

describe('policyResult', () => {
  it('passes when every finding passed', () => {
    expect(policyResult([pass, pass], 'deny')).toBe('pass');
  });
  it('fails on a definitive violation, whatever onError says', () => {
    expect(policyResult([violation, unreachable], 'allow')).toBe('fail');
  });
  it('lets onError decide when every failure is indeterminate', () => {
    expect(policyResult([pass, unreachable], 'allow')).toBe('error-allowed');
    expect(policyResult([pass, unreachable], 'deny')).toBe('fail');
  });
});

describe('decide', () => {
  describe('when an enforcing policy fails', () => {
    it('denies and names the image with its digest, the policy and each failing check', () => {
      const v = decide([governed([pass, violation])], ['enforce'], allow);
      expect(v.allowed).toBe(false);
      expect(v.denials).toEqual([
        {
          image: `ghcr.io/acme/app:1@${DIGEST}`,
          policy: 'p',
          message: 'size SIZE_EXCEEDED: 2 GiB over the 1 GiB limit',
        },
      ]);
      expect(v.wouldDeny).toBe(false);
    });
  });

  describe('when an audit policy fails', () => {
    it('allows and reports that it would deny', () => {
      const v = decide([governed([violation], 'audit')], ['audit'], allow);
      expect(v).toMatchObject({ allowed: true, wouldDeny: true, denials: [] });
      expect(v.audits.map((r) => r.policy)).toEqual(['p']);
    });
  });

  describe('when a check could not complete', () => {
    it('records an allowed error under onError: allow', () => {
      const v = decide([governed([unreachable], 'enforce', 'allow')], ['enforce'], allow);
      expect(v).toMatchObject({ allowed: true, wouldDeny: false, denials: [], audits: [] });
      expect(v.errorsAllowed.map((r) => r.message)).toEqual([
        'signature REGISTRY_UNAVAILABLE: connection refused',
      ]);
    });
    it('denies under onError: deny', () => {
      expect(decide([governed([unreachable])], ['enforce'], allow).allowed).toBe(false);
    });
  });

  describe('when no policy governs an image', () => {
    const unmatched = (u: EvaluationSettings['unmatched']): ImageOutcome => ({
      image: 'nginx',
      reference: 'docker.io/library/nginx:latest',
      policies: [],
      unmatched: u,
    });
    it.each([
      ['allow', true, 0, 0],
      ['audit', true, 0, 1],
      ['deny', false, 1, 0],
    ] as const)('with unmatched: %s allowed is %s', (u, allowed, denials, audits) => {
      const v = decide([unmatched(u)], [], { unmatched: u });
      expect(v.allowed).toBe(allowed);
      expect(v.denials).toHaveLength(denials);
      expect(v.audits).toHaveLength(audits);
    });
    it('turns unmatched: deny into a warning under the global audit override', () => {
      const v = decide([unmatched('deny')], [], { unmatched: 'deny', modeOverride: 'audit' });
      expect(v).toMatchObject({ allowed: true, wouldDeny: true });
    });
  });

  describe('when a reference does not parse', () => {
    const invalid: ImageOutcome = {
      image: 'Not A Reference',
      policies: [],
      invalid: { check: 'reference', passed: false, code: 'REFERENCE_INVALID', message: 'bad reference' },
    };
    it('denies when any policy in force enforces', () => {
      expect(decide([invalid], ['audit', 'enforce'], allow).denials).toEqual([
        { image: 'Not A Reference', message: 'bad reference' },
      ]);
    });
    it('only warns when every policy audits', () => {
      expect(decide([invalid], ['audit'], allow)).toMatchObject({ allowed: true, wouldDeny: true });
    });
    it('follows unmatched when no policy is in force', () => {
      expect(decide([invalid], [], { unmatched: 'deny' }).allowed).toBe(false);
      expect(decide([invalid], [], { unmatched: 'allow' }).audits).toHaveLength(1);
    });
  });

  it('keeps every image outcome, in order, for the audit record', () => {
    const images = [governed([pass]), governed([violation], 'audit')];
    expect(decide(images, ['enforce', 'audit'], allow).images).toBe(images);
  });
});

describe('decide with outcomes from the default unmatched rule', () => {
  it('denies an image the rule denied, with the rule’s message, without --unmatched', () => {
    const v = decide(
      [
        {
          image: 'ghcr.io/x/y:1',
          reference: 'ghcr.io/x/y:1',
          policies: [],
          unmatched: 'deny',
          unmatchedMessage:
            'no ImagePolicy governs this image, and ImagePolicy "p" enforces in namespace "prod"',
        },
        {
          image: 'ghcr.io/x/z:1',
          reference: 'ghcr.io/x/z:1',
          policies: [],
          unmatched: 'allow',
          exempt: 'exempted by ImagePolicy "p" (spec.exclude)',
        },
      ],
      ['enforce'],
      {},
    );
    expect(v.allowed).toBe(false);
    expect(v.denials).toEqual([
      {
        image: 'ghcr.io/x/y:1',
        message: 'no ImagePolicy governs this image, and ImagePolicy "p" enforces in namespace "prod"',
      },
    ]);
    expect(v.audits).toEqual([]);
  });
});
