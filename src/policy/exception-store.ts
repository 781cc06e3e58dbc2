/**
 * The ImagePolicyExceptions loaded, per source (files, cluster), each replaced as a whole; and the
 * cluster handler that validates each resource on its own. Unlike a policy, an exception that fails
 * validation is dropped, not kept at its last good version: an exception only loosens, so when in
 * doubt it does nothing. Whether one applies is decided per review (evaluate/exempt.ts) by the
 * engine's clock and the policies then in force; the phases written to status follow the same rule.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { PolicyVerdict } from './cluster-policies.js';
import {
  compileException,
  exceptionState,
  EXPIRING_SOON_MS,
  validateExceptionDocument,
  type CompiledException,
  type ExceptionPhase,
} from './exceptions.js';
import type { ImagePolicyExceptionDocument } from './exception.schema.js';

export class ExceptionStore {
  readonly #sets = new Map<string, readonly CompiledException[]>();
  #all: readonly CompiledException[] = [];

  replace(source: string, exceptions: readonly CompiledException[]): void {
    this.#sets.set(source, exceptions);
    this.#all = [...this.#sets.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([, set]) => set);
  }

  /** Every exception loaded, in any phase. */
  all(): readonly CompiledException[] {
    return this.#all;
  }
}

export function compileExceptions(docs: readonly ImagePolicyExceptionDocument[]): CompiledException[] {
  return docs.map(compileException);
}

/** How many exceptions are in each phase now, and how many Active ones expire within 7 days. */
export function exceptionCounts(
  exceptions: readonly CompiledException[],
  now: number,
  policyExists: (name: string) => boolean,
): Record<ExceptionPhase | 'expiringSoon', number> {
  const counts = { Active: 0, Expired: 0, Invalid: 0, expiringSoon: 0 };
  for (const e of exceptions) {
    const { phase } = exceptionState(e, now, policyExists);
    counts[phase]++;
    if (phase === 'Active' && e.expiresAt - now <= EXPIRING_SOON_MS) counts.expiringSoon++;
  }
  return counts;
}

/**
 * When the exception's spec was last written: the latest `managedFields[].time` of a write to the
 * object itself (not its status, which imagegate writes), else `creationTimestamp`. The expiry bound
 * is measured from it, so an exception written 60 days ahead stays Invalid after a restart 40 days
 * later instead of becoming valid because the distance shrank.
 */
export function writtenAt(raw: unknown): number | undefined {
  const meta = (raw as { metadata?: { managedFields?: unknown; creationTimestamp?: unknown } }).metadata;
  let latest: number | undefined;
  for (const f of Array.isArray(meta?.managedFields) ? (meta.managedFields as unknown[]) : []) {
    const entry = f as { time?: unknown; subresource?: unknown };
    if (entry.subresource !== undefined && entry.subresource !== '') continue;
    const t = typeof entry.time === 'string' ? Date.parse(entry.time) : NaN;
    if (!Number.isNaN(t) && (latest === undefined || t > latest)) latest = t;
  }
  if (latest !== undefined) return latest;
  const created = typeof meta?.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : NaN;
  return Number.isNaN(created) ? undefined : created;
}

export interface ExceptionHandlerOptions {
  now: () => number;
  maxDurationMs: number;
  policyExists: (name: string) => boolean;
  logger: Pick<Logger, 'warn'>;
}

/**
 * The cluster's exceptions: validated one by one (an invalid one is Invalid and dropped), installed
 * as the store's `cluster` source, each given its phase. `recheckAt` is the next expiry, when the
 * watch re-delivers so the status says Expired at that second.
 */
export function clusterExceptionHandler(
  store: ExceptionStore,
  options: ExceptionHandlerOptions,
): (docs: unknown[]) => PolicyVerdict {
  const compiled = new Map<string, { said: string; exception?: CompiledException; error?: string }>();
  return (docs) => {
    const now = options.now();
    const verdict: PolicyVerdict = { accepted: [], rejected: [], states: [] };
    const present = new Set<string>();
    for (const raw of docs) {
      const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
      const id = `${String(meta?.namespace)}/${String(meta?.name)}`;
      present.add(id);
      const said = JSON.stringify([meta?.name, meta?.namespace, (raw as { spec?: unknown }).spec]);
      let entry = compiled.get(id);
      if (entry?.said !== said) {
        try {
          const doc = validateExceptionDocument(raw, 'ImagePolicyException', {
            now: writtenAt(raw) ?? now,
            maxDurationMs: options.maxDurationMs,
          });
          entry = { said, exception: compileException(doc) };
        } catch (err) {
          entry = { said, error: errorMessage(err) };
          options.logger.warn({ exception: id }, `ImagePolicyException invalid: ${entry.error}`);
        }
        compiled.set(id, entry);
      }
      if (entry.exception === undefined) {
        verdict.rejected.push({ name: id, error: entry.error ?? 'invalid' });
        verdict.states?.push({ name: id, phase: 'Invalid', message: entry.error ?? 'invalid' });
        continue;
      }
      verdict.accepted.push(id);
      const state = exceptionState(entry.exception, now, options.policyExists);
      verdict.states?.push({ name: id, ...state });
      if (state.phase === 'Active' && (verdict.recheckAt ?? Infinity) > entry.exception.expiresAt)
        verdict.recheckAt = entry.exception.expiresAt;
    }
    for (const id of [...compiled.keys()]) if (!present.has(id)) compiled.delete(id);
    store.replace(
      'cluster',
      [...compiled.values()].flatMap((e) => (e.exception !== undefined ? [e.exception] : [])),
    );
    return verdict;
  };
}
