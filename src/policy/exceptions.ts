/**
 * ImagePolicyException: validation (the schema, the policies' glob checks, a reason, an expiry no
 * further ahead than --max-exception-duration), compile, and its state at a given time. Pure: the
 * caller passes the time (the engine's clock), so expiry takes effect to the second without a
 * restart and tests use a fake clock.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigError } from '../errors.js';
import { compileNameGlob, type GlobMatcher } from './glob.js';
import { checkImageGlob } from './glob-check.js';
import { imageMatcher } from './compile.js';
import { EXCEPTION_KIND, ImagePolicyExceptionDocument, type ExemptableCheck } from './exception.schema.js';
import { POLICY_API_VERSION } from './policy.schema.js';
import { schemaProblems } from './validate.js';

/** `--max-exception-duration`'s default: 30 days. */
export const DEFAULT_MAX_EXCEPTION_MS = 30 * 86_400_000;
/** Exceptions that expire within this are listed by `imagegate audit` and counted in a metric. */
export const EXPIRING_SOON_MS = 7 * 86_400_000;

const checker = TypeCompiler.Compile(ImagePolicyExceptionDocument);

/** The workload an admission or a cluster-audit row is about: the object and its controller. */
export interface WorkloadRef {
  kind: string;
  name: string;
}

export interface CompiledException {
  /** `namespace/name`, as every message, status, record and report names it. */
  id: string;
  namespace: string;
  name: string;
  policies: readonly string[];
  /** Undefined: every check. */
  checks?: ReadonlySet<ExemptableCheck>;
  reason: string;
  /** As written (RFC 3339). */
  expires: string;
  /** Epoch ms. */
  expiresAt: number;
  matchesImage(repository: string, fullReference: string): boolean;
  /** Whether any of the workload's identities (object, controller) is selected; true without selectors. */
  matchesWorkload(workload: readonly WorkloadRef[]): boolean;
  document: ImagePolicyExceptionDocument;
}

export type ExceptionPhase = 'Active' | 'Expired' | 'Invalid';

export interface ExceptionState {
  phase: ExceptionPhase;
  message: string;
}

export interface ExceptionLimits {
  /** Epoch ms at load. */
  now: number;
  maxDurationMs: number;
}

function days(ms: number): string {
  return `${Math.round((ms / 86_400_000) * 10) / 10}d`;
}

/** Validates one parsed document; throws ConfigError('POLICY_INVALID') listing every problem. */
export function validateExceptionDocument(
  doc: unknown,
  source: string,
  limits: ExceptionLimits,
): ImagePolicyExceptionDocument {
  const meta = (doc as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const where =
    typeof meta?.name === 'string'
      ? `${source} (${EXCEPTION_KIND} "${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${meta.name}")`
      : source;
  const d = doc as { apiVersion?: unknown; kind?: unknown } | null;
  if (typeof doc !== 'object' || d === null || Array.isArray(doc))
    throw new ConfigError('POLICY_INVALID', `${where}: not a YAML mapping`);
  if (d.kind !== EXCEPTION_KIND || d.apiVersion !== POLICY_API_VERSION) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: expected apiVersion ${POLICY_API_VERSION} and kind ${EXCEPTION_KIND}, found ${String(d.apiVersion)} ${String(d.kind)}`,
    );
  }
  const problems = schemaProblems(checker, doc);
  if (problems.length === 0) {
    const spec = (doc as ImagePolicyExceptionDocument).spec;
    spec.images.forEach((g, i) => {
      const problem = checkImageGlob(g.glob);
      if (problem !== undefined) problems.push(`spec.images[${i}].glob: ${problem}`);
    });
    const expiresAt = Date.parse(spec.expires);
    if (Number.isNaN(expiresAt)) problems.push(`spec.expires: not a valid RFC 3339 time ("${spec.expires}")`);
    else if (expiresAt - limits.now > limits.maxDurationMs) {
      problems.push(
        `spec.expires: ${spec.expires} is ${days(expiresAt - limits.now)} ahead; an exception may last at most ${days(limits.maxDurationMs)} (--max-exception-duration): renew it nearer the time`,
      );
    }
  }
  if (problems.length > 0)
    throw new ConfigError('POLICY_INVALID', `${where}: invalid exception: ${problems.join('; ')}`);
  return doc as ImagePolicyExceptionDocument;
}

function workloadMatcher(doc: ImagePolicyExceptionDocument): CompiledException['matchesWorkload'] {
  const selectors = doc.spec.workloads;
  if (selectors === undefined) return () => true;
  const compiled: { kind: string; name: GlobMatcher }[] = selectors.map((s) => ({
    kind: s.kind,
    name: compileNameGlob(s.name),
  }));
  return (workload) => workload.some((w) => compiled.some((s) => s.kind === w.kind && s.name(w.name)));
}

export function compileException(doc: ImagePolicyExceptionDocument): CompiledException {
  const { name, namespace } = doc.metadata;
  const { spec } = doc;
  return {
    id: `${namespace}/${name}`,
    namespace,
    name,
    policies: spec.policies,
    ...(spec.checks !== undefined ? { checks: new Set(spec.checks) } : {}),
    reason: spec.reason.trim(),
    expires: spec.expires,
    expiresAt: Date.parse(spec.expires),
    matchesImage: imageMatcher(spec.images),
    matchesWorkload: workloadMatcher(doc),
    document: doc,
  };
}

/**
 * Active, Expired (now at or past spec.expires) or Invalid (a named policy is not in force: it then
 * does nothing, rather than silently outliving a renamed policy or exempting from one yet to come).
 */
export function exceptionState(
  e: CompiledException,
  now: number,
  policyExists: (name: string) => boolean,
): ExceptionState {
  const missing = e.policies.filter((p) => !policyExists(p));
  if (missing.length > 0) {
    return {
      phase: 'Invalid',
      message: `names ${missing.length === 1 ? 'a policy' : 'policies'} not in force: ${missing.join(', ')}; it exempts nothing until ${missing.length === 1 ? 'it exists' : 'they exist'}`,
    };
  }
  if (now >= e.expiresAt) return { phase: 'Expired', message: `expired at ${e.expires}; it exempts nothing` };
  return { phase: 'Active', message: `exempts ${e.policies.join(', ')} until ${e.expires}: ${e.reason}` };
}
