/**
 * The verdict for one required attestation from its verified evidence: threshold of authorities,
 * maxAge on the verified signing time, then the CEL condition on each verified statement. Pure but
 * for the clock it is given; conditions are evaluated one at a time with a yield in between, so a
 * burst of reviews interleaves instead of queueing behind one large SBOM.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { formatAge } from '../base/layers.js';
import { worstCode } from '../signature/rejection.js';
import type { Rejection, VerifiedItem } from '../signature/verify.js';
import type { CompiledCondition, ConditionImage, ConditionResult } from './cel.js';
import type { AttestationCode, DigestEvidence } from './types.js';
import { distinctAuthorities } from './verify.js';

export interface AttestationRule {
  name: string;
  predicateType: string;
  threshold: number;
  authorityNames: readonly string[];
  condition?: CompiledCondition;
  maxAge?: { text: string; ms: number };
  maxPayloadBytes: number;
}

export interface DigestDecision {
  passed: boolean;
  code: AttestationCode;
  /** Without the `attestation NAME:` prefix. */
  detail: string;
  satisfied: VerifiedItem[];
}

const MAX_SHOWN_CONDITION = 160;

function shortCondition(source: string): string {
  const oneLine = source.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_SHOWN_CONDITION ? `${oneLine.slice(0, MAX_SHOWN_CONDITION)}…` : oneLine;
}

function unverified(rule: AttestationRule, ev: DigestEvidence): DigestDecision {
  const fail = (code: AttestationCode, detail: string): DigestDecision => ({
    passed: false,
    code,
    detail,
    satisfied: [],
  });
  const mine = (r: Rejection) => rule.authorityNames.includes(r.authority);
  const rejections = ev.rejections.filter(mine);
  if (rejections.length === 0 && ev.tooLarge.length > 0) {
    return fail(
      'PREDICATE_TOO_LARGE',
      `the attestation stored for ${ev.digest} is ${Math.max(...ev.tooLarge)} bytes, over the ${rule.maxPayloadBytes}-byte limit (not read)`,
    );
  }
  if (ev.found === 0) return fail('ATTESTATION_MISSING', `no attestation is stored for ${ev.digest}`);
  if (rejections.length === 0) {
    const others = ev.otherTypes.length > 0 ? ` (found ${ev.otherTypes.join(', ')})` : '';
    return fail('ATTESTATION_MISSING', `no ${rule.predicateType} attestation for ${ev.digest}${others}`);
  }
  const code = worstCode(rejections)!; // rejections is not empty here
  const why = rule.authorityNames
    .map((name) => {
      const reasons = new Map<string, number>();
      for (const r of rejections.filter((x) => x.authority === name))
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      const text = [...reasons].map(([reason, n]) => `${n} ${reason}`).join('; ');
      return `authority "${name}" verified none of ${ev.found}${text.length > 0 ? `: ${text}` : ''}`;
    })
    .join('. ');
  const large = ev.tooLarge.length > 0 ? `; ${ev.tooLarge.length} over the size limit not read` : '';
  return fail(code, `${why}${large}`);
}

function freshness(
  rule: AttestationRule,
  items: readonly VerifiedItem[],
  now: number,
): { fresh: VerifiedItem[]; failure?: DigestDecision } {
  const maxAge = rule.maxAge;
  if (maxAge === undefined) return { fresh: [...items] };
  const fresh = items.filter((i) => i.signedAt !== undefined && now - Date.parse(i.signedAt) <= maxAge.ms);
  if (fresh.length > 0) return { fresh };
  const times = items.map((i) => i.signedAt).filter((t): t is string => t !== undefined);
  if (times.length === 0) {
    return {
      fresh,
      failure: {
        passed: false,
        code: 'ATTESTATION_AGE_UNKNOWN',
        detail: `verified, but no verified signing time (no Rekor entry or RFC 3161 timestamp), so maxAge ${maxAge.text} cannot be proven`,
        satisfied: [],
      },
    };
  }
  const newest = times.sort().at(-1)!;
  return {
    fresh,
    failure: {
      passed: false,
      code: 'ATTESTATION_TOO_OLD',
      detail: `newest verified one signed ${newest} (${formatAge(now - Date.parse(newest))} ago), older than maxAge ${maxAge.text}`,
      satisfied: [],
    },
  };
}

/** Decides one digest's evidence. */
export async function decideDigest(
  rule: AttestationRule,
  ev: DigestEvidence,
  image: ConditionImage,
  now: number,
): Promise<DigestDecision> {
  if (ev.verified.length === 0) return unverified(rule, ev);
  const { fresh, failure } = freshness(rule, ev.verified, now);
  if (failure !== undefined) return failure;

  let satisfied = fresh;
  let firstFailure: ConditionResult | undefined;
  if (rule.condition !== undefined) {
    // One evaluation per statement (the same statement may verify for several authorities).
    const bySource = new Map<string, ConditionResult>();
    for (const item of fresh) {
      if (bySource.has(item.source)) continue;
      await yieldToLoop();
      const statement = item.statement;
      const r = rule.condition.evaluate({ predicate: statement?.predicate ?? null, statement, image });
      bySource.set(item.source, r);
      if (!(r.ok && r.value) && firstFailure === undefined) firstFailure = r;
    }
    satisfied = fresh.filter((i) => {
      const r = bySource.get(i.source);
      return r !== undefined && r.ok && r.value;
    });
  }
  const met = distinctAuthorities(satisfied);
  if (met.size >= rule.threshold) {
    return { passed: true, code: 'OK', detail: describePass(rule, satisfied), satisfied };
  }
  if (met.size > 0) {
    return {
      passed: false,
      code: 'THRESHOLD_NOT_MET',
      detail: `satisfied for ${[...met].map((a) => `"${a}"`).join(', ')} only (threshold ${rule.threshold})`,
      satisfied: [],
    };
  }
  const condition = shortCondition(rule.condition?.source ?? '');
  if (firstFailure === undefined || firstFailure.ok) {
    const seen = firstFailure?.ok === true ? firstFailure.seen : [];
    const values = seen.length > 0 ? ` (values read last: ${seen.join(', ')})` : '';
    return {
      passed: false,
      code: 'CONDITION_FALSE',
      detail: `condition false: ${condition}${values}`,
      satisfied: [],
    };
  }
  const label = firstFailure.code === 'CONDITION_COST_EXCEEDED' ? 'condition too costly' : 'condition error';
  return {
    passed: false,
    code: firstFailure.code,
    detail: `${label}: ${condition}: ${firstFailure.message}`,
    satisfied: [],
  };
}

function describePass(rule: AttestationRule, satisfied: readonly VerifiedItem[]): string {
  const names = [...distinctAuthorities(satisfied)].map((a) => `"${a}"`).join(', ');
  const times = satisfied.map((s) => s.signedAt).filter((t): t is string => t !== undefined);
  const signed = times.length > 0 ? `, signed ${times.sort().at(-1)}` : '';
  const cond = rule.condition !== undefined ? ', condition true' : '';
  return `${rule.predicateType} for ${satisfied[0]!.digest} verified by ${names}${signed}${cond}`;
}
