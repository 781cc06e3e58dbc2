/**
 * What imagegate may answer for one image, from what the registry actually delivered: `pass` only
 * for well-formed, validly signed (and attested), small content; `error-allowed` only for
 * availability failures; no unexpected exception; and well-formed content delivered plainly is
 * admitted (else the other properties would hold by denying everything).
 */
import type { AuditImage } from '../../../src/audit/types.js';
import type { KnownOpenClass } from './known-open.js';
import { authRefuses, type Doc } from './scenario.js';
import type { World } from './world.js';

const MiB = 1024 * 1024;

/** Failures `onError: allow` may admit: the network or the registry's capacity, never its content. */
export const AVAILABILITY_CODES: ReadonlySet<string> = new Set([
  'TIMEOUT',
  'REGISTRY_UNAVAILABLE',
  'RATE_LIMITED',
  'BUDGET_CONNECTIONS',
  'TOO_MANY_REDIRECTS',
]);

/** Denials well-formed content may still get when the process is loaded (deadline, shared byte budgets). */
const LOAD_CODES: ReadonlySet<string> = new Set([...AVAILABILITY_CODES, 'BUDGET_BYTES_IN_FLIGHT']);

/** Each document's cap (docs/security.md); content over it must never pass. */
const CAPS: Partial<Record<Doc, number>> = {
  index: 4 * MiB,
  manifest: 4 * MiB,
  config: 8 * MiB,
  sig: 4 * MiB,
  sigPayload: 1 * MiB,
  att: 4 * MiB,
  attEnvelope: 16 * MiB,
  bundle: 16 * MiB,
  statement: 12 * MiB,
};

/** A token answer's cap (MAX_TOKEN_ANSWER_BYTES): the whole JSON answer, not the token alone. */
const TOKEN_ANSWER_CAP = 64 * 1024;

/** The bytes of the token answer world.ts serves for a token of `bytes` in `field`. */
const tokenAnswerBytes = (a: { bytes: number; field: string }): number =>
  a.bytes + `{"${a.field}":"","expires_in":300}`.length;

/** What every policy here must read to pass (signature and size): over its cap, it must not pass. */
const REQUIRED_BY_EVERY_POLICY: readonly Doc[] = ['index', 'manifest', 'sig', 'sigPayload'];

/** The documents a pass rests on: the registry's JSON, the signature, the attestation if asked for. */
function read(w: World): readonly Doc[] {
  const docs: Doc[] = ['index', 'manifest', 'config', 'referrers', 'sig', 'sigPayload'];
  if (w.scenario.attest && w.scenario.att.kind === 'bundle') docs.push('bundle', 'statement');
  if (w.scenario.attest && w.scenario.att.kind !== 'bundle') docs.push('att', 'attEnvelope', 'statement');
  return docs;
}

/** Over the wire, the statement travels inside the envelope (`.att`) or the bundle. */
const carrier = (doc: Doc, w: World): Doc =>
  doc === 'statement' ? (w.scenario.att.kind === 'bundle' ? 'bundle' : 'attEnvelope') : doc;

const AMD64 = new Set(['linux/amd64', 'linux/x86_64', 'linux/x86-64', 'Linux/AMD64']);

/** Why the content is not well-formed, validly signed and small (empty: it is). */
export function contentFaults(w: World): string[] {
  const s = w.scenario;
  const why: string[] = [];
  // a malformed document imagegate read is a finding, except a signature candidate beside the one
  // that verifies (an attestation the policy does not ask for), as junk signature layers are
  for (const doc of w.mutated) {
    if (w.delivered.has(carrier(doc, w)) && read(w).includes(doc)) why.push(`malformed ${doc} delivered`);
  }
  // likewise a substituted one: an attestation bundle beside a verified `.sig` under a signature-only
  // policy is a candidate that fails, not content the pass rests on (seed 20261207 case 4801)
  for (const doc of w.substituted) if (read(w).includes(doc)) why.push(`substituted ${doc} delivered`);
  for (const [doc, bytes] of Object.entries(w.sizes) as Array<[Doc, number]>) {
    const delivered = w.delivered.has(carrier(doc, w)) || REQUIRED_BY_EVERY_POLICY.includes(doc);
    if (delivered && bytes > (CAPS[doc] ?? Infinity)) why.push(`${doc} over its cap (${bytes} bytes)`);
  }
  if (s.sig.kind !== 'valid') why.push(`signature ${s.sig.kind}`);
  // maxSignaturesPerImage counts legacy signature layers plus bundle referrers (the attestation's
  // included: seed 20261207 cases 6102, 10997)
  const candidates = 1 + s.sig.junk + (s.att.kind === 'bundle' && w.delivered.has('referrers') ? 1 : 0);
  if (candidates > 32) why.push(`${candidates} signature candidates`);
  if (s.attest && s.att.kind !== 'att' && s.att.kind !== 'bundle') why.push(`attestation ${s.att.kind}`);
  if (s.attest && s.att.kind === 'att' && s.att.repeat > 32) why.push(`${s.att.repeat} attestation layers`);
  if (s.layers.bigDeclared) why.push('a 5 GiB layer');
  if (s.layers.count > 1024) why.push(`${s.layers.count} layers`);
  if (s.index?.others.some((p) => AMD64.has(p)) === true)
    why.push('another entry a linux/amd64 node could run');
  if (authRefuses(s.auth)) why.push('no usable token');
  if (
    s.auth.kind === 'bearer' &&
    s.auth.answer.kind === 'token' &&
    tokenAnswerBytes(s.auth.answer) > TOKEN_ANSWER_CAP
  )
    why.push(`token answer over its cap (${tokenAnswerBytes(s.auth.answer)} bytes)`);
  return why;
}

/** Delivered plainly: no fault but redirects within the limit, every document small. */
export function plainDelivery(w: World): boolean {
  const s = w.scenario;
  const deliveries = Object.values(s.deliveries).every((d) => d.kind === 'redirect' && d.hops <= 5);
  const pads = Object.values(s.pad).every((p) => p <= 64 * 1024);
  const token =
    s.auth.kind === 'none' ||
    (s.auth.answer.kind === 'token' && tokenAnswerBytes(s.auth.answer) <= TOKEN_ANSWER_CAP);
  return deliveries && pads && token && s.layers.count <= 8 && (s.att.repeat <= 4 || !s.attest);
}

export interface Violation {
  property: string;
  detail: string;
}

/** Checks one image's audit entry against what the registry delivered. */
export function judge(
  w: World,
  image: AuditImage | undefined,
  _open: ReadonlySet<KnownOpenClass>,
): Violation[] {
  if (image === undefined)
    return [{ property: 'answered', detail: 'the audit record does not list the image' }];
  const policy = image.policies[0];
  if (policy === undefined || image.policies.length !== 1)
    return [{ property: 'answered', detail: `expected one policy, got ${JSON.stringify(image)}` }];
  const out: Violation[] = [];
  const failed = policy.checks.filter((c) => !c.passed);
  const codes = failed.map(
    (c) =>
      `${c.check} ${c.code}${c.indeterminate === true ? ' (indeterminate)' : ''}: ${c.message.slice(0, 200)}`,
  );
  const faults = contentFaults(w);
  if (policy.result === 'pass' && faults.length > 0) {
    out.push({ property: 'never-admitted-unchecked', detail: `passed although: ${faults.join('; ')}` });
  }
  if (policy.result === 'error-allowed') {
    const bad = failed.filter((c) => !AVAILABILITY_CODES.has(c.code));
    if (bad.length > 0)
      out.push({
        property: 'onError-only-for-availability',
        detail: `admitted under onError: allow on ${codes.join('; ')}; content faults: ${faults.join('; ') || 'none'}`,
      });
  }
  if (failed.some((c) => c.code === 'INTERNAL_ERROR')) {
    out.push({ property: 'no-unexpected-exception', detail: codes.join('; ') });
  }
  if (faults.length === 0 && plainDelivery(w) && policy.result !== 'pass') {
    const unexplained = failed.filter((c) => !LOAD_CODES.has(c.code));
    if (unexplained.length > 0)
      out.push({ property: 'well-formed-content-admitted', detail: `denied: ${codes.join('; ')}` });
  }
  return out;
}
