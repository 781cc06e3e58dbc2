/**
 * Keys that policies keep in Secrets (`key.secretRef`), read when policies load or change and again
 * periodically, so that a missing or unreadable Secret shows in `/readyz`, in the policy's status and
 * (for `imagegate check`) as a configuration error, before the first signed image meets it.
 */
import type { KeySecretReader, SecretKeyReference } from '../checks/signature/index.js';
import { errorMessage } from '../errors.js';
import { parseKmsUri } from '../shared/kms-uri.js';

/** One policy's problem with one of its key Secrets. */
export interface KeyProblem {
  policy: string;
  message: string;
}

/** Per Secret read while probing (each read also has the reader's own timeout). */
const PROBE_TIMEOUT_MS = 5000;
/** Walk depth into a policy: secretRef sits at spec.<check>.authorities[].key.secretRef. */
const MAX_DEPTH = 8;

function isSecretRef(v: unknown): v is SecretKeyReference {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.name === 'string' &&
    typeof r.key === 'string' &&
    (r.namespace === undefined || typeof r.namespace === 'string')
  );
}

/** `kms: k8s://NAMESPACE/NAME`: cosign's shorthand for the Secret's `cosign.pub`; other URIs: undefined. */
function k8sKeyRef(v: unknown): SecretKeyReference | undefined {
  if (typeof v !== 'string' || !v.startsWith('k8s://')) return undefined;
  try {
    const ref = parseKmsUri(v);
    return ref.provider === 'k8s'
      ? { namespace: ref.namespace, name: ref.name, key: 'cosign.pub' }
      : undefined;
  } catch {
    return undefined; // policy validation reports it
  }
}

/**
 * Every Secret key under a policy document's spec (signature and attestation authorities alike):
 * `secretRef`s and `kms: k8s://…` references.
 */
export function secretRefsOf(doc: unknown): SecretKeyReference[] {
  const found: SecretKeyReference[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const k8s = k === 'kms' ? k8sKeyRef(v) : undefined;
      if (k === 'secretRef' && isSecretRef(v)) found.push(v);
      else if (k8s !== undefined) found.push(k8s);
      else walk(v, depth + 1);
    }
  };
  walk((doc as { spec?: unknown } | null)?.spec, 0);
  return found;
}

export function policyName(doc: unknown): string {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}

/** Reads every referenced key once; the problems found, one per policy and Secret. */
export async function probeKeySecrets(
  reader: KeySecretReader,
  docs: readonly unknown[],
): Promise<KeyProblem[]> {
  const reads = docs.flatMap((doc) =>
    secretRefsOf(doc).map(async (ref): Promise<KeyProblem | undefined> => {
      try {
        await reader.read(ref, AbortSignal.timeout(PROBE_TIMEOUT_MS));
        return undefined;
      } catch (err) {
        // the reader's errors are its own coded, library-free messages
        return { policy: policyName(doc), message: `key.secretRef: ${errorMessage(err)}` };
      }
    }),
  );
  return (await Promise.all(reads)).filter((p): p is KeyProblem => p !== undefined);
}

/** The latest probe's problems, refreshed by `probe(docs)`; what `/readyz` and policy status show. */
export class KeyProbe {
  #problems: KeyProblem[] = [];
  #generation = 0;

  constructor(private readonly reader: KeySecretReader) {}

  async probe(docs: readonly unknown[]): Promise<KeyProblem[]> {
    const generation = ++this.#generation;
    const problems = await probeKeySecrets(this.reader, docs);
    // a slower, older probe never overwrites a newer one's answer
    if (generation === this.#generation) this.#problems = problems;
    return problems;
  }

  problems(): readonly KeyProblem[] {
    return this.#problems;
  }
}
