/**
 * The audit record's JSON, written by hand for its known shape: equal, byte for byte, to
 * `JSON.stringify(record)` (test/unit/audit/writer.test.ts holds it to that). A check's `details`
 * (signers, sizes, base proofs: most of a line's bytes) come from a verdict that a cache shares
 * between many reviews, so their JSON is made once per details object and reused; everything else
 * is short and serialised per record. In-process, with everything in the CPU's caches, this saves
 * little (5.7 against 6.1 µs for a 2.3 KB record); in the server, where each request's 20 KB body
 * has just gone through the caches, the line cost 23.5 µs with JSON.stringify and about 18 µs here
 * (docs/benchmarks.md, "Cached decisions, third round").
 */
import type { AuditCheck, AuditImage, AuditPolicy, AuditRecord } from './types.js';

const detailsText = new WeakMap<object, string>();

/** `JSON.stringify(details)`, once per object (checks hand out frozen, shared details). */
export function detailsJson(details: Record<string, unknown>): string {
  let text = detailsText.get(details);
  if (text === undefined) {
    text = JSON.stringify(details);
    detailsText.set(details, text);
  }
  return text;
}

const str = JSON.stringify as (value: string) => string;

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function checkJson(c: AuditCheck): string {
  let out = `{"check":${str(c.check)},"passed":${c.passed},"code":${str(c.code)},"message":${str(c.message)}`;
  if (c.indeterminate !== undefined) out += `,"indeterminate":${c.indeterminate}`;
  if (c.exemptedBy !== undefined) {
    const e = c.exemptedBy;
    out += `,"exemptedBy":{"exception":${str(e.exception)},"reason":${str(e.reason)},"expires":${str(e.expires)}}`;
  }
  if (c.details !== undefined) out += `,"details":${detailsJson(c.details)}`;
  return `${out},"durationMs":${num(c.durationMs)}}`;
}

/**
 * `[a,b,…]` by concatenation, not `map(…).join(',')`: no arrays, and no flat copy of the members
 * (an image's cached JSON is most of a line; the destination's batch copies the line once anyway).
 */
function listJson<T>(items: readonly T[], json: (item: T) => string): string {
  if (items.length === 0) return '[]';
  let out = `[${json(items[0]!)}`;
  for (let i = 1; i < items.length; i++) out += `,${json(items[i]!)}`;
  return `${out}]`;
}

function policyJson(p: AuditPolicy): string {
  return (
    `{"policy":${str(p.policy)},"mode":${str(p.mode)},"result":${str(p.result)},` +
    `"checks":${listJson(p.checks, checkJson)}}`
  );
}

/** Frozen audit images (of reused outcomes, record.ts): their JSON is made once. */
const imageText = new WeakMap<AuditImage, string>();

function imageJson(i: AuditImage): string {
  if (!Object.isFrozen(i)) return buildImageJson(i);
  let text = imageText.get(i);
  if (text === undefined) {
    text = buildImageJson(i);
    imageText.set(i, text);
  }
  return text;
}

function buildImageJson(i: AuditImage): string {
  let out = `{"image":${str(i.image)}`;
  if (i.reference !== undefined) out += `,"reference":${str(i.reference)}`;
  if (i.digest !== undefined) out += `,"digest":${str(i.digest)}`;
  if (i.unmatched !== undefined) out += `,"unmatched":${str(i.unmatched)}`;
  if (i.exempt !== undefined) out += `,"exempt":${str(i.exempt)}`;
  if (i.invalid !== undefined) out += `,"invalid":${str(i.invalid)}`;
  return `${out},"policies":${listJson(i.policies, policyJson)}}`;
}

/**
 * The record's members without the enclosing braces, in record.ts's order. A field added to
 * AuditRecord must be added here too: the writer test compares against JSON.stringify.
 */
export function auditRecordMembers(r: AuditRecord): string {
  // event is always 'imagegate.decision' (its type says so): written as a literal
  let out = `"event":"imagegate.decision","uid":${str(r.uid)},"operation":${str(r.operation)},"dryRun":${r.dryRun}`;
  if (r.user !== undefined) out += `,"user":${str(r.user)}`;
  out += `,"namespace":${str(r.namespace)},"kind":${str(r.kind)},"name":${str(r.name)}`;
  if (r.mode !== undefined) out += `,"mode":${str(r.mode)}`;
  out += `,"decision":${str(r.decision)},"wouldDeny":${r.wouldDeny}`;
  if (r.skipped !== undefined) out += `,"skipped":${str(r.skipped)}`;
  out += `,"images":${listJson(r.images, imageJson)}`;
  if (r.imagesOmitted !== undefined) out += `,"imagesOmitted":${num(r.imagesOmitted)}`;
  return `${out},"latencyMs":${num(r.latencyMs)}`;
}
