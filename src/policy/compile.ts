/**
 * Compile once, evaluate many: turns validated ImagePolicy documents into matchers and checks.
 * Evaluation (match.ts, review.ts) is then cheap and pure.
 */
import type { Check } from '../checks/check.js';
import { ConfigError } from '../errors.js';
import { compileGlob, compileNameGlob, globHasVersion, type GlobMatcher } from './glob.js';
import type {
  BaseSpec,
  ImagePolicyDocument,
  NamespaceSelector,
  OnErrorAction,
  PolicyMode,
  SignatureSpec,
  SizeSpec,
} from './policy.schema.js';

export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];

/** Compilers for the check sections; absent means this build cannot run that check. */
export interface CheckCompilers {
  signature?: (spec: SignatureSpec, policyName: string) => Check;
  size?: (spec: SizeSpec, policyName: string) => Check;
  /**
   * `imageSignature` is the same policy's `signature` section: the base check verifies provenance
   * attestations of the image with it (and shares the verdict with the signature check).
   */
  base?: (spec: BaseSpec, policyName: string, imageSignature: SignatureSpec | undefined) => Check;
}

export interface CompiledPolicy {
  name: string;
  mode: PolicyMode;
  onError: OnErrorAction;
  requireDigest: boolean;
  platforms: readonly string[];
  /** Does this policy govern the image (registry/repository and full reference)? */
  matchesImage(repository: string, fullReference: string): boolean;
  /** Would it govern the image but for `spec.exclude`? (An exemption: unmatched.ts.) */
  excludesImage(repository: string, fullReference: string): boolean;
  /** Does it apply in this namespace? `labels` undefined = unknown (then label selectors apply). */
  matchesNamespace(namespace: string, labels: Record<string, string> | undefined): boolean;
  /** True when matchesNamespace needs the namespace's labels. */
  usesNamespaceLabels: boolean;
  checks: readonly Check[];
  /** The source document, for status reporting. */
  document: ImagePolicyDocument;
}

function imageMatcher(globs: readonly { glob: string }[]): (repository: string, full: string) => boolean {
  const compiled = globs.map((g) => ({ match: compileGlob(g.glob), full: globHasVersion(g.glob) }));
  return (repository, full) => compiled.some((c) => c.match(c.full ? full : repository));
}

function namespaceMatcher(sel: NamespaceSelector | undefined): CompiledPolicy['matchesNamespace'] {
  if (sel === undefined) return () => true;
  const include: GlobMatcher[] = (sel.include ?? []).map(compileNameGlob);
  const exclude: GlobMatcher[] = (sel.exclude ?? []).map(compileNameGlob);
  const matchLabels = Object.entries(sel.matchLabels ?? {});
  const expressions = sel.matchExpressions ?? [];
  return (namespace, labels) => {
    if (exclude.some((m) => m(namespace))) return false;
    if (include.length > 0 && !include.some((m) => m(namespace))) return false;
    if (matchLabels.length === 0 && expressions.length === 0) return true;
    // Unknown labels (no API access, e.g. the CLI): apply the policy rather than silently skip it.
    if (labels === undefined) return true;
    if (!matchLabels.every(([k, v]) => labels[k] === v)) return false;
    return expressions.every((e) => {
      const has = Object.hasOwn(labels, e.key);
      const value = labels[e.key];
      switch (e.operator) {
        case 'In':
          return has && (e.values ?? []).includes(value ?? '');
        case 'NotIn':
          return !has || !(e.values ?? []).includes(value ?? '');
        case 'Exists':
          return has;
        case 'DoesNotExist':
          return !has;
      }
      return false;
    });
  };
}

export function compilePolicy(doc: ImagePolicyDocument, compilers: CheckCompilers): CompiledPolicy {
  const name = doc.metadata.name;
  const spec = doc.spec;
  const include = imageMatcher(spec.images);
  const exclude = imageMatcher(spec.exclude ?? []);
  const checks: Check[] = [];
  const sections = [
    ['signature', spec.signature, compilers.signature],
    ['size', spec.size, compilers.size],
    ['base', spec.base, compilers.base],
  ] as const;
  for (const [section, value, compiler] of sections) {
    if (value === undefined) continue;
    if (compiler === undefined) {
      throw new ConfigError(
        'POLICY_INVALID',
        `ImagePolicy "${name}": spec.${section} is not supported by this imagegate build`,
      );
    }
    // The compilers are typed per section; the tuple above loses the pairing.
    checks.push(
      (compiler as (s: typeof value, n: string, sig: SignatureSpec | undefined) => Check)(
        value,
        name,
        spec.signature,
      ),
    );
  }
  return {
    name,
    mode: spec.mode ?? 'enforce',
    onError: spec.onError ?? 'deny',
    requireDigest: spec.requireDigest ?? false,
    platforms: spec.platforms ?? DEFAULT_PLATFORMS,
    matchesImage: (repository, full) => include(repository, full) && !exclude(repository, full),
    excludesImage: (repository, full) => include(repository, full) && exclude(repository, full),
    matchesNamespace: namespaceMatcher(spec.namespaces),
    usesNamespaceLabels:
      Object.keys(spec.namespaces?.matchLabels ?? {}).length > 0 ||
      (spec.namespaces?.matchExpressions ?? []).length > 0,
    checks,
    document: doc,
  };
}

/** Compiles a whole set; the first invalid policy rejects the set (callers keep the last good one). */
export function compilePolicies(
  docs: readonly ImagePolicyDocument[],
  compilers: CheckCompilers,
): CompiledPolicy[] {
  return docs.map((d) => compilePolicy(d, compilers));
}
