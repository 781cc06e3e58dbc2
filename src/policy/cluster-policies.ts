import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { compilePolicy, type CheckCompilers, type CompiledPolicy } from './compile.js';
import type { PolicyStore } from './store.js';
import { compileTenantPolicy, validateTenantPolicyDocument } from './tenant.js';
import { validatePolicyDocument } from './validate.js';

/** How one kind of cluster policy resource is named, validated and compiled, and where it is installed. */
export interface ClusterPolicyKind {
  kind: string;
  /** The store source its compiled policies replace. */
  source: string;
  /** How verdicts name a resource (as kube/policy-status.ts resourceId does). */
  label(raw: unknown): string;
  compile(raw: unknown, label: string, compilers: CheckCompilers): CompiledPolicy;
}

const metaOf = (raw: unknown): { name?: unknown; namespace?: unknown } | undefined =>
  (raw as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;

export const IMAGE_POLICY_KIND: ClusterPolicyKind = {
  kind: 'ImagePolicy',
  source: 'cluster',
  label: (raw) => {
    const name = metaOf(raw)?.name;
    return typeof name === 'string' ? name : '(unnamed)';
  },
  compile: (raw, label, compilers) =>
    compilePolicy(validatePolicyDocument(raw, `ImagePolicy ${label}`), compilers),
};

export const TENANT_POLICY_KIND_HANDLING: ClusterPolicyKind = {
  kind: 'NamespacedImagePolicy',
  source: 'cluster-tenants',
  label: (raw) => `${String(metaOf(raw)?.namespace)}/${String(metaOf(raw)?.name)}`,
  compile: (raw, _label, compilers) =>
    compileTenantPolicy(validateTenantPolicyDocument(raw, 'NamespacedImagePolicy'), compilers),
};

/** What a policy handler made of one delivered list (kube/policy-watch.ts writes it into status conditions). */
export interface PolicyVerdict {
  /** Names of the documents that compiled and are in force. */
  accepted: string[];
  /** Names rejected, with the message naming the field and the problem. */
  rejected: { name: string; error: string }[];
  /** Accepted names that cannot do all they say yet (a key Secret missing): status Ready=False. */
  degraded?: { name: string; error: string }[];
  /** Resources that report a phase instead (ImagePolicyException: Active, Expired, Invalid). */
  states?: { name: string; phase: string; message: string }[];
  /** Epoch ms when the phases change by themselves (the next expiry): deliver again then. */
  recheckAt?: number;
}

/**
 * Cluster policies: each resource is validated and compiled on its own, so one bad resource is
 * rejected (with its status condition) while the others, and its own last good version, stay. A
 * resource is compiled once per change of what it says (name and spec), not per delivered list.
 */
export function clusterPolicyHandler(
  store: PolicyStore,
  compilers: CheckCompilers,
  logger: Pick<Logger, 'error'>,
  onRejected: (count: number) => void,
  kind: ClusterPolicyKind = IMAGE_POLICY_KIND,
): (docs: unknown[]) => PolicyVerdict {
  const lastGood = new Map<string, { said: string; compiled: CompiledPolicy }>();
  return (docs) => {
    const verdict: PolicyVerdict = { accepted: [], rejected: [] };
    const present = new Set<string>();
    for (const raw of docs) {
      const label = kind.label(raw);
      present.add(label);
      // What compiling depends on; status and metadata updates (ours included) change nothing.
      const said = JSON.stringify([
        (raw as { apiVersion?: unknown }).apiVersion,
        (raw as { kind?: unknown }).kind,
        metaOf(raw)?.name,
        metaOf(raw)?.namespace,
        (raw as { spec?: unknown }).spec,
      ]);
      try {
        if (lastGood.get(label)?.said !== said) {
          lastGood.set(label, { said, compiled: kind.compile(raw, label, compilers) });
        }
        verdict.accepted.push(label);
      } catch (err) {
        verdict.rejected.push({ name: label, error: errorMessage(err) });
        logger.error(
          { policy: label, keptPrevious: lastGood.has(label) },
          `${kind.kind} rejected: ${errorMessage(err)}`,
        );
      }
    }
    for (const name of [...lastGood.keys()]) if (!present.has(name)) lastGood.delete(name);
    store.install(
      kind.source,
      [...lastGood.values()].map((p) => p.compiled),
    );
    onRejected(verdict.rejected.length);
    return verdict;
  };
}
