/**
 * The attestation check and its policy section (`spec.attestations`): every attestation a policy lists
 * must be present for the image (or, for a multi-arch image, for its index or else for every checked
 * platform), verified by `threshold` of its authorities, within its maxAge, and its CEL condition true
 * on a verified statement.
 */
import { formatReference, withDigest } from '../../registry/reference.js';
import { defineCheck, type Check, type CheckInput, type Finding } from '../check.js';
import type { ConditionImage } from './cel.js';
import { decideDigest, type AttestationRule, type DigestDecision } from './decide.js';
import {
  AttestationsSpec,
  attestationsSpecProblems,
  compileAttestationRules,
  type AttestationSpec,
} from './schema.js';
import type { AttestationResult } from './types.js';
import { compileAttestationVerifier, type AttestationDeps, type AttestationVerifier } from './verify.js';

interface CompiledAttestation {
  rule: AttestationRule;
  verifier: AttestationVerifier;
}

function combine(name: string, decision: DigestDecision, predicateType: string): AttestationResult {
  return {
    name,
    predicateType,
    passed: decision.passed,
    code: decision.code,
    message: `attestation ${name}: ${decision.detail}`,
    satisfiedBy: decision.satisfied.map((s) => ({
      authority: s.authority,
      digest: s.digest,
      source: s.source,
      format: s.format,
      ...(s.signedAt !== undefined ? { signedAt: s.signedAt } : {}),
    })),
  };
}

async function checkOne(
  a: CompiledAttestation,
  input: CheckInput,
  platforms: readonly { platform: string; digest: string }[],
  now: number,
): Promise<AttestationResult> {
  const { resolved, signal } = input;
  const reference = formatReference(withDigest(input.reference, resolved.digest));
  const isIndex = resolved.manifest.kind === 'index';
  const evidence = await a.verifier.gather(
    input.registry,
    input.reference,
    resolved.digest,
    isIndex ? platforms : [],
    signal,
  );
  const image: ConditionImage = {
    reference,
    digest: resolved.digest,
    platform: isIndex ? 'index' : (platforms[0]?.platform ?? ''),
  };
  const top = await decideDigest(a.rule, evidence.top, image, now);
  if (top.passed || evidence.platforms.length === 0) return combine(a.rule.name, top, a.rule.predicateType);

  const perPlatform = [];
  for (const p of evidence.platforms) {
    const d = await decideDigest(
      a.rule,
      p.evidence,
      { reference, digest: p.evidence.digest, platform: p.platform },
      now,
    );
    perPlatform.push({ platform: p.platform, d });
  }
  if (perPlatform.every((p) => p.d.passed)) {
    return combine(
      a.rule.name,
      {
        passed: true,
        code: 'OK',
        detail: `every checked platform carries it: ${perPlatform.map((p) => `${p.platform}: ${p.d.detail}`).join('; ')}`,
        satisfied: perPlatform.flatMap((p) => p.d.satisfied),
      },
      a.rule.predicateType,
    );
  }
  const failing = perPlatform.filter((p) => !p.d.passed);
  // The index-level failure is usually the telling one (e.g. a false condition); name platforms too.
  const code = top.code !== 'ATTESTATION_MISSING' ? top.code : failing[0]!.d.code;
  const detail = [`${top.detail}`, ...failing.map((p) => `${p.platform} (${p.d.code}): ${p.d.detail}`)].join(
    ' | ',
  );
  return combine(a.rule.name, { passed: false, code, detail, satisfied: [] }, a.rule.predicateType);
}

/** The policy's `attestations` as one Check (compile at policy load; throws ConfigError). */
export function compileAttestationCheck(
  specs: readonly AttestationSpec[],
  policyName: string,
  deps: AttestationDeps & { now?: () => number },
): Check<'attestations'> {
  const where = `policy "${policyName}"`;
  const rules = compileAttestationRules(specs, `${where} attestations`);
  const compiled: CompiledAttestation[] = specs.map((spec, i) => {
    const verifier = compileAttestationVerifier(spec, `${where} attestations[${i}] ("${spec.name}")`, deps);
    return {
      verifier,
      rule: {
        ...rules[i]!,
        threshold: verifier.threshold,
        authorityNames: verifier.authorities.map((x) => x.name),
        maxPayloadBytes: verifier.maxPayloadBytes,
      },
    };
  });
  const now = deps.now ?? Date.now;
  return {
    name: 'attestations',
    async run(input: CheckInput): Promise<Finding<'attestations'>> {
      const started = performance.now();
      const { resolved, signal } = input;
      const platforms = (await resolved.platforms(input.platforms, signal)).map((p) => ({
        platform: p.platform,
        digest: p.manifest.digest,
      }));
      const at = now();
      const results = await Promise.all(compiled.map((a) => checkOne(a, input, platforms, at)));
      const failed = results.filter((r) => !r.passed);
      return {
        check: 'attestations',
        passed: failed.length === 0,
        code: failed[0]?.code ?? 'OK',
        message: (failed.length > 0 ? failed : results).map((r) => r.message).join('; '),
        details: { attestations: results },
        durationMs: performance.now() - started,
      };
    },
  };
}

export const attestationsCheck = defineCheck({
  name: 'attestations',
  schema: AttestationsSpec,
  problems: attestationsSpecProblems,
  compile: (spec, ctx, deps) =>
    compileAttestationCheck(spec, ctx.policyName, {
      ...deps,
      ...(deps.attestationEvidence !== undefined ? { evidence: deps.attestationEvidence } : {}),
    }),
});
