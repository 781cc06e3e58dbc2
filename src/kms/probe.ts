/**
 * Keys that policies keep in key services (`key.kms`, other than `k8s://`, which kube/key-probe.ts
 * reads as Secrets), fetched when policies load or change and again every minute (the reader's cache
 * answers those from memory until its hourly refresh): the first review does not wait for a cold key,
 * and a key service imagegate cannot read shows in `/readyz` and the policy's status before an image
 * meets it.
 */
import type { KmsKeyReader, KmsKeyReference } from '../checks/signature/index.js';
import { errorMessage } from '../errors.js';
import { parseKmsUri } from '../shared/kms-uri.js';

/** One policy's problem with one of its keys (the shape kube/key-probe.ts reports too). */
export interface KmsKeyProblem {
  policy: string;
  message: string;
}

/** Per key; the reader's own fetch has its own budget. */
const PROBE_TIMEOUT_MS = 20_000;
const MAX_DEPTH = 8;

/** Every key-service reference under a policy document's spec. */
export function kmsRefsOf(doc: unknown): KmsKeyReference[] {
  const found: KmsKeyReference[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH || typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'kms' && typeof v === 'string') {
        try {
          const ref = parseKmsUri(v);
          if (ref.provider !== 'k8s') found.push(ref);
        } catch {
          // policy validation reports it
        }
      } else walk(v, depth + 1);
    }
  };
  walk((doc as { spec?: unknown } | null)?.spec, 0);
  return found;
}

function policyName(doc: unknown): string {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}

/** The latest probe's problems; `probe(docs)` refreshes them (an older, slower probe never wins). */
export class KmsProbe {
  #problems: KmsKeyProblem[] = [];
  #generation = 0;

  constructor(private readonly reader: KmsKeyReader) {}

  async probe(docs: readonly unknown[]): Promise<KmsKeyProblem[]> {
    const generation = ++this.#generation;
    const reads = docs.flatMap((doc) =>
      kmsRefsOf(doc).map(async (ref): Promise<KmsKeyProblem | undefined> => {
        try {
          await this.reader.keys(ref, AbortSignal.timeout(PROBE_TIMEOUT_MS));
          return undefined;
        } catch (err) {
          return { policy: policyName(doc), message: `key.kms: ${errorMessage(err)}` };
        }
      }),
    );
    const problems = (await Promise.all(reads)).filter((p): p is KmsKeyProblem => p !== undefined);
    if (generation === this.#generation) this.#problems = problems;
    return problems;
  }

  problems(): readonly KmsKeyProblem[] {
    return this.#problems;
  }
}
