import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { compilePolicy, type CheckCompilers } from './compile.js';
import type { ImagePolicyDocument } from './policy.schema.js';
import type { PolicyStore } from './store.js';
import { validatePolicyDocument } from './validate.js';
import type { PolicyVerdict } from '../kube/policy-watch.js';

/**
 * Cluster policies: each resource is validated and compiled on its own, so one bad resource is
 * rejected (with its status condition) while the others, and its own last good version, stay.
 */
export function clusterPolicyHandler(
  store: PolicyStore,
  compilers: CheckCompilers,
  logger: Pick<Logger, 'error'>,
  onRejected: (count: number) => void,
): (docs: unknown[]) => PolicyVerdict {
  const lastGood = new Map<string, ImagePolicyDocument>();
  return (docs) => {
    const verdict: PolicyVerdict = { accepted: [], rejected: [] };
    const present = new Set<string>();
    for (const raw of docs) {
      const name = (raw as { metadata?: { name?: unknown } }).metadata?.name;
      const label = typeof name === 'string' ? name : '(unnamed)';
      present.add(label);
      try {
        const doc = validatePolicyDocument(raw, `ImagePolicy ${label}`);
        compilePolicy(doc, compilers);
        lastGood.set(label, doc);
        verdict.accepted.push(label);
      } catch (err) {
        verdict.rejected.push({ name: label, error: errorMessage(err) });
        logger.error(
          { policy: label, keptPrevious: lastGood.has(label) },
          `ImagePolicy rejected: ${errorMessage(err)}`,
        );
      }
    }
    for (const name of [...lastGood.keys()]) if (!present.has(name)) lastGood.delete(name);
    store.replace('cluster', [...lastGood.values()]);
    onRejected(verdict.rejected.length);
    return verdict;
  };
}
