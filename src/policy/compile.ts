/**
 * Compile once, evaluate many: turns validated ImagePolicy documents into matchers and checks (one per
 * section of the check table, src/checks/kinds.ts). Evaluation (src/evaluate/evaluate.ts) then only runs them.
 */
import type { Check, CompileContext } from '../checks/check.js';
import { CHECK_KINDS, type CheckCompilers, type CheckKindName } from '../checks/kinds.js';
import { ConfigError } from '../errors.js';
import { compileGlob, compileNameGlob, globHasVersion, type GlobMatcher } from './glob.js';
import type {
  ImagePolicyDocument,
  NamespaceSelector,
  OnErrorAction,
  PolicyMode,
  PolicySeverity,
} from './policy.schema.js';

export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];

export type { CheckCompilers } from '../checks/kinds.js';

export interface CompiledPolicy {
  name: string;
  mode: PolicyMode;
  onError: OnErrorAction;
  /** `spec.severity`; unset: each check's default (report/severity.ts). */
  severity?: PolicySeverity;
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
  checks: readonly Check<CheckKindName>[];
  /** The source document, for status reporting. */
  document: ImagePolicyDocument;
  /** Set for a NamespacedImagePolicy: its namespace (policy/tenant.ts). */
  tenant?: string;
}

/** Matches a reference against globs: a glob with a tag or digest sees the full reference, else the repository. */
export function imageMatcher(
  globs: readonly { glob: string }[],
): (repository: string, full: string) => boolean {
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
  const sections: Readonly<Record<string, unknown>> = spec;
  const checks: Check<CheckKindName>[] = [];
  for (const kind of CHECK_KINDS) {
    const section = sections[kind.name];
    if (section === undefined) continue;
    // Schema-valid, so the section has the type its compiler takes; the loop loses the pairing.
    const compile = compilers[kind.name] as
      ((s: unknown, c: CompileContext) => Check<CheckKindName>) | undefined;
    if (compile === undefined) {
      throw new ConfigError(
        'POLICY_INVALID',
        `ImagePolicy "${name}": spec.${kind.name} is not supported by this imagegate build`,
      );
    }
    checks.push(compile(section, { policyName: name, sections }));
  }
  return {
    name,
    mode: spec.mode ?? 'enforce',
    onError: spec.onError ?? 'deny',
    ...(spec.severity !== undefined ? { severity: spec.severity } : {}),
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
