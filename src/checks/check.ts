/**
 * What a check is: compiled once from a policy section, run per image. A check turns registry facts
 * into findings; it throws an ImagegateError when it cannot complete (review.ts applies onError).
 */
import type { ImageReference } from '../registry/reference.js';
import type { RegistryAccess, ResolvedImage } from '../registry/types.js';

export type CheckName = 'reference' | 'digest' | 'resolve' | 'signature' | 'size' | 'base' | 'attestation';

export interface Finding {
  check: CheckName;
  /** True when the check passed. */
  passed: boolean;
  /** 'OK' when passed, otherwise a stable code people and tests can match on. */
  code: string;
  /** What was checked, what was found and what the policy wanted. */
  message: string;
  /** Extra structured facts for the audit record (never secrets). */
  details?: Record<string, unknown>;
  durationMs?: number;
}

/** Results shared between the checks of one image within one review (e.g. verified attestations). */
export interface CheckScratch {
  get<T>(key: string): T | undefined;
  set<T>(key: string, value: T): void;
}

export interface CheckInput {
  reference: ImageReference;
  resolved: ResolvedImage;
  registry: RegistryAccess;
  /** Platforms this policy checks: e.g. ["linux/amd64"] or ["all"]. */
  platforms: readonly string[];
  signal: AbortSignal;
  scratch: CheckScratch;
}

export interface Check {
  readonly name: CheckName;
  /** True when the check needs the registry (all current checks do). */
  readonly needsRegistry: boolean;
  run(input: CheckInput): Promise<Finding>;
}
