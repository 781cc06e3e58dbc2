/**
 * What happens to an image no policy governs. Pure: policies, image and namespace in, a decision out.
 *
 * Without an operator's `--unmatched`, imagegate fails closed where enforcement applies: in a
 * namespace where at least one enforcing policy applies, an image no policy governs is denied (a
 * mistyped glob or an unforeseen registry spelling must not become a way around the policy).
 * Namespaces no policy selects are not affected, and exclusions are exemptions: an image a policy
 * would govern but leaves out by `spec.exclude`, or in a namespace its `spec.namespaces` leaves
 * out, is allowed, and the decision says which policy exempted it. `--unmatched allow|audit|deny`
 * replaces the rule for every namespace. `--mode audit` turns the rule's denials into warnings.
 */
import type { PolicyMode } from './policy.schema.js';

export type Unmatched = 'allow' | 'audit' | 'deny';

/** The parts of a compiled policy the rule reads. */
export interface UnmatchedPolicy {
  name: string;
  mode: PolicyMode;
  matchesImage(repository: string, fullReference: string): boolean;
  /** An `images` glob matches and an `exclude` glob too: the policy deliberately leaves it out. */
  excludesImage(repository: string, fullReference: string): boolean;
  matchesNamespace(namespace: string, labels: Record<string, string> | undefined): boolean;
}

export interface UnmatchedSettings {
  /** The operator's choice; undefined = the rule above. */
  unmatched?: Unmatched;
  modeOverride?: PolicyMode;
}

export interface UnmatchedDecision {
  action: Unmatched;
  /** For denials, warnings and the audit record. */
  message: string;
  /** Set when an exclusion exempted the image: which policy and which field. */
  exempt?: string;
}

/** Shown at start-up and in /readyz. */
export function describeUnmatched(unmatched: Unmatched | undefined): string {
  return unmatched === undefined
    ? 'deny where an enforcing policy applies (default; --unmatched allow|audit|deny overrides)'
    : `${unmatched} (--unmatched)`;
}

/** `--mode audit` never denies, whoever decided: an unmatched `deny` becomes `audit` under it. */
export function unmatchedUnderOverride(action: Unmatched, override: PolicyMode | undefined): Unmatched {
  return action === 'deny' && override === 'audit' ? 'audit' : action;
}

export function decideUnmatched(
  policies: readonly UnmatchedPolicy[],
  image: { repository: string; full: string },
  namespace: { name: string; labels?: Record<string, string> },
  settings: UnmatchedSettings,
): UnmatchedDecision {
  if (settings.unmatched !== undefined) {
    const action = unmatchedUnderOverride(settings.unmatched, settings.modeOverride);
    const message = 'no ImagePolicy governs this image';
    return { action, message: action === 'deny' ? `${message} (unmatched: deny)` : message };
  }
  const applies = (p: UnmatchedPolicy): boolean => p.matchesNamespace(namespace.name, namespace.labels);
  for (const p of policies) {
    if (applies(p) && p.excludesImage(image.repository, image.full)) {
      const exempt = `exempted by ImagePolicy "${p.name}" (spec.exclude)`;
      return { action: 'allow', message: `no ImagePolicy governs this image: ${exempt}`, exempt };
    }
    if (!applies(p) && p.matchesImage(image.repository, image.full)) {
      const exempt = `exempted by ImagePolicy "${p.name}" (spec.namespaces leaves out namespace "${namespace.name}")`;
      return { action: 'allow', message: `no ImagePolicy governs this image: ${exempt}`, exempt };
    }
  }
  const enforcing = policies.find(
    (p) => applies(p) && (p.mode === 'enforce' || settings.modeOverride === 'enforce'),
  );
  if (enforcing === undefined) {
    return {
      action: 'allow',
      message: `no ImagePolicy governs this image and none enforces in namespace "${namespace.name}"`,
    };
  }
  return {
    action: unmatchedUnderOverride('deny', settings.modeOverride),
    message:
      `no ImagePolicy governs this image, and ImagePolicy "${enforcing.name}" enforces in namespace ` +
      `"${namespace.name}": images no policy governs are denied there (add a policy or an exclude for ` +
      `this image, or set --unmatched)`,
  };
}
