/**
 * What a check is: compiled once from its policy section, run per image. A check turns registry facts
 * into findings; it throws an ImagegateError when it cannot complete (the evaluator applies onError).
 * The checks there are, and the policy sections they own, are listed in kinds.ts.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { ImageReference } from '../registry/reference.js';
import type { RegistryAccess, ResolvedImage } from '../registry/types.js';
import type { ImageFacts } from './facts.js';
import type { EvidenceCache } from './attestations/evidence-cache.js';
import type { SignatureDeps } from './signature/types.js';

export interface Finding<Name extends string = string> {
  check: Name;
  /** True when the check passed. */
  passed: boolean;
  /** 'OK' when passed, otherwise a stable code people and tests can match on. */
  code: string;
  /** What was checked, what was found and what the policy wanted. */
  message: string;
  /** Extra structured facts for the audit record (never secrets). */
  details?: Record<string, unknown>;
  durationMs?: number;
  /**
   * Set by a check whose passing finding came from what caches hold and would be found again, the
   * same, for the same digest-pinned image under the same policy while this returns true (e.g. the
   * verdict cache still holds the verdict it rests on, and no clock condition has flipped). The
   * evaluator then reuses the finding instead of running the check (evaluate.ts). Cheap: called per
   * reuse. Left unset, the check runs every time.
   */
  reusable?: () => boolean;
}

export interface CheckInput {
  reference: ImageReference;
  resolved: ResolvedImage;
  registry: RegistryAccess;
  /** Platforms this policy checks: e.g. ["linux/amd64"] or ["all"]. */
  platforms: readonly string[];
  signal: AbortSignal;
  /** Facts about this image computed once per review and shared by every check and policy. */
  facts: ImageFacts;
}

/** What a check may start from before the image is resolved: everything but the resolved image. */
export type EarlyCheckInput = Omit<CheckInput, 'resolved'>;

export interface Check<Name extends string = string> {
  readonly name: Name;
  /**
   * For a digest-pinned image, called beside the manifest fetch: start the facts this check will
   * read (e.g. signature lookups, which need only the digest). Must not throw or leave a rejection
   * unhandled; run() must not depend on it having been called.
   */
  prefetch?(input: EarlyCheckInput): void;
  run(input: CheckInput): Promise<Finding<Name>>;
}

/** What compiling one section may know about the rest of its policy. */
export interface CompileContext {
  policyName: string;
  /**
   * The policy's other check sections, schema-valid (e.g. base reads `signature`: the image's own
   * authorities verify its provenance attestations).
   */
  sections: Readonly<Record<string, unknown>>;
}

/**
 * What checks need from the process: trust material, key secrets, the shared verdict cache, and the
 * shared verified-attestation evidence.
 */
export type CheckDeps = SignatureDeps & { attestationEvidence?: EvidenceCache };

/**
 * One kind of check: the policy field it owns (`spec.<name>`), that field's schema piece, the rules the
 * schema cannot say, and the compiler. An entry of CHECK_KINDS in kinds.ts.
 */
export interface CheckKind<Name extends string = string, Schema extends TSchema = TSchema> {
  readonly name: Name;
  readonly schema: Schema;
  /** Problems the schema cannot express, each prefixed with `where` (e.g. `spec.size`). */
  problems?(spec: Static<Schema>, where: string): string[];
  /** Compile at policy load; throws ConfigError POLICY_INVALID. */
  compile(spec: Static<Schema>, ctx: CompileContext, deps: CheckDeps): Check<Name>;
}

/** Declares a check kind with its types inferred (name literal, section type from the schema). */
export function defineCheck<const Name extends string, Schema extends TSchema>(
  kind: CheckKind<Name, Schema>,
): CheckKind<Name, Schema> {
  return kind;
}
