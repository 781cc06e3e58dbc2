/**
 * Image evaluation, shared by the webhook, `imagegate check` and `imagegate review`: for each image,
 * the policies that govern it, each policy's checks, and a verdict. This is the one place where
 * thrown ImagegateErrors become findings.
 */
import type { Check, CheckName, CheckScratch, Finding } from './checks/check.js';
import { ImagegateError, RegistryError, errorMessage } from './errors.js';
import type { CompiledPolicy } from './policy/compile.js';
import type { OnErrorAction, PolicyMode } from './policy/policy.schema.js';
import { decideUnmatched, type Unmatched } from './policy/unmatched.js';
import {
  formatReference,
  parseReference,
  repositoryName,
  type ImageReference,
} from './registry/reference.js';
import type { RegistryAccess, ResolvedImage } from './registry/types.js';

export type { Unmatched } from './policy/unmatched.js';

export interface EvaluationSettings {
  /** Global override of every policy's mode (`--mode audit` for a cluster-wide dry run). */
  modeOverride?: PolicyMode;
  /** The operator's `--unmatched`; undefined = deny where an enforcing policy applies (unmatched.ts). */
  unmatched?: Unmatched;
}

export interface EvaluationContext {
  namespace: string;
  namespaceLabels?: Record<string, string>;
  signal: AbortSignal;
  registry?: RegistryAccess;
  /** Reference parser; the CLI adds `oci:PATH` layouts. The webhook never reads local files. */
  parse?: (image: string) => ImageReference;
  /** Called with each check's duration, for metrics. */
  onCheck?: (check: CheckName, policy: string, seconds: number, passed: boolean) => void;
}

export interface CheckOutcome extends Finding {
  /** The check could not complete (registry down, timeout): onError decided. */
  indeterminate?: boolean;
}

export type PolicyResult = 'pass' | 'fail' | 'error-allowed';

export interface PolicyOutcome {
  policy: string;
  mode: PolicyMode;
  onError: OnErrorAction;
  result: PolicyResult;
  findings: CheckOutcome[];
}

export interface ImageOutcome {
  /** As written in the spec. */
  image: string;
  /** Normalised reference, when it parsed. */
  reference?: string;
  /** Digest the reference resolved to (when a check needed the registry) or was pinned with. */
  digest?: string;
  policies: PolicyOutcome[];
  /** Set when no policy governs the image: what was decided for it (policy/unmatched.ts). */
  unmatched?: Unmatched;
  /** Why, for denials and warnings. */
  unmatchedMessage?: string;
  /** Set when an exclusion exempted the image: which policy and which field. */
  exempt?: string;
  /** Set when the reference does not parse. */
  invalid?: CheckOutcome;
}

export interface Reason {
  image: string;
  policy?: string;
  message: string;
}

export interface Verdict {
  allowed: boolean;
  /** An audit-mode policy (or unmatched: audit) would have denied. */
  wouldDeny: boolean;
  denials: Reason[];
  audits: Reason[];
  /** Checks that could not complete and were allowed by onError. */
  errorsAllowed: Reason[];
  images: ImageOutcome[];
}

class MapScratch implements CheckScratch {
  private readonly map = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.map.get(key) as T | undefined;
  }
  set<T>(key: string, value: T): void {
    this.map.set(key, value);
  }
}

function toOutcome(check: CheckName, err: unknown, started: number): CheckOutcome {
  const durationMs = performance.now() - started;
  if (err instanceof ImagegateError) {
    return {
      check,
      passed: false,
      code: err.code,
      message: err.message,
      indeterminate: err.indeterminate,
      durationMs,
    };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return {
      check,
      passed: false,
      code: 'TIMEOUT',
      message: 'deadline reached',
      indeterminate: true,
      durationMs,
    };
  }
  // An unexpected bug in a check is not a verdict about the image: let onError decide.
  return {
    check,
    passed: false,
    code: 'INTERNAL_ERROR',
    message: errorMessage(err),
    indeterminate: true,
    durationMs,
  };
}

async function runCheck(
  check: Check,
  policy: CompiledPolicy,
  reference: ImageReference,
  resolved: ResolvedImage,
  ctx: EvaluationContext,
  scratch: CheckScratch,
): Promise<CheckOutcome> {
  const started = performance.now();
  let outcome: CheckOutcome;
  try {
    if (ctx.registry === undefined)
      throw new RegistryError('REGISTRY_UNAVAILABLE', 'no registry access', { indeterminate: true });
    const finding = await check.run({
      reference,
      resolved,
      registry: ctx.registry,
      platforms: policy.platforms,
      signal: ctx.signal,
      scratch,
    });
    outcome = { ...finding, durationMs: finding.durationMs ?? performance.now() - started };
  } catch (err) {
    outcome = toOutcome(check.name, err, started);
  }
  ctx.onCheck?.(check.name, policy.name, (outcome.durationMs ?? 0) / 1000, outcome.passed);
  return outcome;
}

function policyResult(findings: readonly CheckOutcome[], onError: OnErrorAction): PolicyResult {
  const failed = findings.filter((f) => !f.passed);
  if (failed.length === 0) return 'pass';
  if (failed.every((f) => f.indeterminate === true) && onError === 'allow') return 'error-allowed';
  return 'fail';
}

async function evaluateImage(
  image: string,
  policies: readonly CompiledPolicy[],
  settings: EvaluationSettings,
  ctx: EvaluationContext,
): Promise<ImageOutcome> {
  let reference: ImageReference;
  try {
    reference = (ctx.parse ?? parseReference)(image);
  } catch (err) {
    return { image, policies: [], invalid: toOutcome('reference', err, performance.now()) };
  }
  const full = formatReference(reference);
  const repository = repositoryName(reference);
  const governing = policies.filter(
    (p) => p.matchesImage(repository, full) && p.matchesNamespace(ctx.namespace, ctx.namespaceLabels),
  );
  const outcome: ImageOutcome = { image, reference: full, policies: [] };
  if (reference.digest !== undefined) outcome.digest = reference.digest;
  if (governing.length === 0) {
    const d = decideUnmatched(
      policies,
      { repository, full },
      { name: ctx.namespace, ...(ctx.namespaceLabels !== undefined ? { labels: ctx.namespaceLabels } : {}) },
      settings,
    );
    outcome.unmatched = d.action;
    outcome.unmatchedMessage = d.message;
    if (d.exempt !== undefined) outcome.exempt = d.exempt;
    return outcome;
  }

  // One resolution per image per review, shared by all policies: what is checked is what runs.
  let resolution: Promise<ResolvedImage> | undefined;
  const resolve = (): Promise<ResolvedImage> => {
    if (ctx.registry === undefined) {
      return Promise.reject(
        new RegistryError('REGISTRY_UNAVAILABLE', 'no registry access', { indeterminate: true }),
      );
    }
    resolution ??= ctx.registry.resolve(reference, ctx.signal).then((r) => {
      outcome.digest = r.digest;
      return r;
    });
    return resolution;
  };
  const scratch = new MapScratch();

  outcome.policies = await Promise.all(
    governing.map(async (policy): Promise<PolicyOutcome> => {
      const findings: CheckOutcome[] = [];
      if (policy.requireDigest) {
        findings.push(
          reference.digest !== undefined
            ? { check: 'digest', passed: true, code: 'OK', message: `pinned to ${reference.digest}` }
            : {
                check: 'digest',
                passed: false,
                code: 'DIGEST_REQUIRED',
                message:
                  'referenced by tag only; the policy requires name@sha256:… (a tag can move between admission and pull)',
              },
        );
      }
      if (policy.checks.length > 0) {
        const started = performance.now();
        let resolved: ResolvedImage | undefined;
        try {
          resolved = await resolve();
        } catch (err) {
          findings.push(toOutcome('resolve', err, started));
        }
        if (resolved !== undefined) {
          const r = resolved;
          findings.push(
            ...(await Promise.all(policy.checks.map((c) => runCheck(c, policy, reference, r, ctx, scratch)))),
          );
        }
      }
      return {
        policy: policy.name,
        mode: settings.modeOverride ?? policy.mode,
        onError: policy.onError,
        result: policyResult(findings, policy.onError),
        findings,
      };
    }),
  );
  return outcome;
}

function failureSummary(p: PolicyOutcome): string {
  return p.findings
    .filter((f) => !f.passed)
    .map((f) => `${f.check} ${f.code}: ${f.message}`)
    .join('; ');
}

/** The strictest mode among all policies, used for images that cannot even be parsed. */
function strictestMode(
  policies: readonly CompiledPolicy[],
  settings: EvaluationSettings,
): PolicyMode | 'unmatched' {
  if (settings.modeOverride !== undefined) return settings.modeOverride;
  if (policies.some((p) => p.mode === 'enforce')) return 'enforce';
  return policies.length > 0 ? 'audit' : 'unmatched';
}

export async function evaluateImages(
  images: readonly string[],
  policies: readonly CompiledPolicy[],
  settings: EvaluationSettings,
  ctx: EvaluationContext,
): Promise<Verdict> {
  const unique = [...new Set(images)];
  const outcomes = await Promise.all(unique.map((image) => evaluateImage(image, policies, settings, ctx)));
  const verdict: Verdict = {
    allowed: true,
    wouldDeny: false,
    denials: [],
    audits: [],
    errorsAllowed: [],
    images: outcomes,
  };
  // For references that do not parse when no policy is in force at all (the operator's choice only).
  const unmatchedMode =
    settings.unmatched === 'deny' && settings.modeOverride === 'audit' ? 'audit' : settings.unmatched;
  for (const o of outcomes) {
    const label =
      o.reference !== undefined && o.digest !== undefined && !o.reference.includes('@')
        ? `${o.reference}@${o.digest}`
        : (o.reference ?? o.image);
    if (o.invalid !== undefined) {
      const mode = strictestMode(policies, settings);
      const reason = { image: o.image, message: o.invalid.message };
      if (mode === 'enforce' || (mode === 'unmatched' && unmatchedMode === 'deny'))
        verdict.denials.push(reason);
      else verdict.audits.push(reason);
      continue;
    }
    if (o.unmatched !== undefined) {
      // Decided per image (namespace, exclusions, override) by policy/unmatched.ts.
      const message = o.unmatchedMessage ?? 'no ImagePolicy governs this image';
      if (o.unmatched === 'deny') verdict.denials.push({ image: label, message });
      else if (o.unmatched === 'audit') verdict.audits.push({ image: label, message });
      continue;
    }
    for (const p of o.policies) {
      if (p.result === 'pass') continue;
      const reason = { image: label, policy: p.policy, message: failureSummary(p) };
      if (p.result === 'error-allowed') verdict.errorsAllowed.push(reason);
      else if (p.mode === 'enforce') verdict.denials.push(reason);
      else verdict.audits.push(reason);
    }
  }
  verdict.allowed = verdict.denials.length === 0;
  verdict.wouldDeny = verdict.audits.length > 0;
  return verdict;
}
