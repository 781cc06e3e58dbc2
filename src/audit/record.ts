/**
 * The audit record: exactly one per decision. Built from keys we control; never whole objects,
 * never credentials.
 */
import type { RequestFacts } from '../admission/facts.js';
import { toFindingSummary } from '../evaluate/decision.js';
import type { CheckOutcome, ImageOutcome, PolicyOutcome, Verdict } from '../evaluate/evaluate.js';
import { boundAuditImages } from './bound.js';
import type { AuditCheck, AuditImage, AuditRecord, Decision } from './types.js';

export type { AuditCheck, AuditImage, AuditPolicy, AuditRecord, Decision } from './types.js';

const round = (ms: number | undefined): number => Math.round((ms ?? 0) * 1000) / 1000;

// Optional keys are assigned rather than spread from `cond ? {…} : {}`: this runs for every image
// of every review (the serialiser, json.ts, fixes the key order of the line).
function toAuditCheck(f: CheckOutcome): AuditCheck {
  // toFindingSummary's fields, then ours (a spread of it cost as much as the rest of this function)
  const c = toFindingSummary(f) as AuditCheck;
  if (f.details !== undefined) c.details = f.details;
  c.durationMs = round(f.durationMs);
  return c;
}

/** Audit images of reused outcomes, by their shared (frozen) policy list: made once, frozen. */
const auditImages = new WeakMap<readonly PolicyOutcome[], AuditImage>();

function toAuditImage(o: ImageOutcome): AuditImage {
  if (o.reused !== true) return buildAuditImage(o);
  const known = auditImages.get(o.policies);
  // A reused list belongs to one image (reused-outcomes.ts keys it by the image); compared all the same.
  if (known !== undefined && known.image === o.image && known.digest === o.digest) return known;
  const image = buildAuditImage(o);
  Object.freeze(image.policies); // frozen: the serialiser (json.ts) and the bound (bound.ts) keep their work
  auditImages.set(o.policies, Object.freeze(image));
  return image;
}

function buildAuditImage(o: ImageOutcome): AuditImage {
  const image: AuditImage = { image: o.image, policies: [] };
  if (o.reference !== undefined) image.reference = o.reference;
  if (o.digest !== undefined) image.digest = o.digest;
  if (o.unmatched !== undefined) image.unmatched = o.unmatched;
  if (o.exempt !== undefined) image.exempt = o.exempt;
  if (o.invalid !== undefined) image.invalid = o.invalid.message;
  image.policies = o.policies.map((p) => ({
    policy: p.policy,
    mode: p.mode,
    result: p.result,
    checks: p.findings.map(toAuditCheck),
  }));
  return image;
}

export function toAuditImages(verdict: Verdict | undefined): AuditImage[] {
  return verdict === undefined ? [] : verdict.images.map(toAuditImage);
}

/** What a handler decided, for the record; the request's own fields come from its facts. */
export interface RecordOutcome {
  decision: Decision;
  wouldDeny: boolean;
  skipped?: string;
  images: AuditImage[];
  /** The global mode override, recorded when the decision was subject to it. */
  mode?: string;
  /** performance.now() when the review started. */
  started: number;
}

/** The request's fields a record names (all a body that is not a usable review may have: review/unusable.ts). */
export type RecordFacts = Pick<
  RequestFacts,
  'uid' | 'operation' | 'dryRun' | 'user' | 'namespace' | 'kind' | 'name'
>;

/** The one audit-record builder: keys we control only (never the object itself). */
export function toAuditRecord(facts: RecordFacts, outcome: RecordOutcome): AuditRecord {
  // One line per decision with a bounded size, however many images and however long their texts.
  const { images, omitted } = boundAuditImages(outcome.images);
  const record: AuditRecord = {
    event: 'imagegate.decision',
    uid: facts.uid,
    operation: facts.operation,
    dryRun: facts.dryRun,
    namespace: facts.namespace,
    kind: facts.kind,
    name: facts.name,
    decision: outcome.decision,
    wouldDeny: outcome.wouldDeny,
    images,
    latencyMs: 0,
  };
  if (facts.user !== undefined) record.user = facts.user;
  if (outcome.mode !== undefined) record.mode = outcome.mode;
  if (outcome.skipped !== undefined) record.skipped = outcome.skipped;
  if (omitted > 0) record.imagesOmitted = omitted;
  record.latencyMs = elapsedMs(outcome.started);
  return record;
}

/** Milliseconds since `started` (performance.now()), rounded to microseconds. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
