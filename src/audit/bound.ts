/**
 * Bounds the size of one audit line. A pod author chooses how many images a pod names and a
 * registry chooses how long its answers are; neither may turn one decision into a multi-megabyte
 * log line (issue 12: 10,000 images wrote one 5 MB line). The record lists the first
 * AUDIT_MAX_IMAGES images, counts the rest in `imagesOmitted`, cuts each check message and drops
 * check details whose JSON is too long (saying so). With these limits a line stays under about
 * AUDIT_MAX_IMAGES × policies × (message + details) bytes, whatever the input.
 */

import { detailsJson } from './json.js';

/** Images listed per record; the rest are counted. */
export const AUDIT_MAX_IMAGES = 50;
/** Characters kept of an image reference or a check message. */
export const AUDIT_MAX_TEXT = 1024;
/** Characters of JSON kept for one check's details; longer details are replaced by a note. */
export const AUDIT_MAX_DETAILS = 4096;

interface BoundableCheck {
  message: string;
  details?: Record<string, unknown>;
}

interface BoundableImage {
  image: string;
  reference?: string;
  policies: { checks: BoundableCheck[] }[];
}

function cut(text: string): string {
  return text.length > AUDIT_MAX_TEXT
    ? `${text.slice(0, AUDIT_MAX_TEXT)}… (${text.length} characters)`
    : text;
}

function boundCheck<C extends BoundableCheck>(check: C): C {
  const message = cut(check.message);
  // a cached verdict hands every review the same frozen details: their JSON is made once (json.ts)
  const length = check.details !== undefined ? detailsJson(check.details).length : 0;
  if (message === check.message && length <= AUDIT_MAX_DETAILS) return check; // nothing to cut: no copy
  const out = { ...check, message };
  if (length > AUDIT_MAX_DETAILS) out.details = { omitted: `details of ${length} characters` };
  return out;
}

/** Shared (frozen) policy lists found within bounds: they need no second look. */
const withinBounds = new WeakSet<object>();

function boundImage<I extends BoundableImage>(image: I): I {
  const name = cut(image.image);
  const reference = image.reference !== undefined ? cut(image.reference) : undefined;
  let changed = name !== image.image || reference !== image.reference;
  let policies = image.policies;
  if (!withinBounds.has(image.policies)) {
    let cutHere = false;
    policies = image.policies.map((p) => {
      const checks = p.checks.map(boundCheck);
      if (checks.every((c, i) => c === p.checks[i])) return p;
      cutHere = true;
      return { ...p, checks };
    });
    if (!cutHere && Object.isFrozen(image.policies)) withinBounds.add(image.policies);
    changed ||= cutHere;
  }
  if (!changed) return image;
  return { ...image, image: name, ...(reference !== undefined ? { reference } : {}), policies };
}

/** The first AUDIT_MAX_IMAGES images, each with bounded texts, and how many were left out. */
export function boundAuditImages<I extends BoundableImage>(
  images: readonly I[],
): { images: I[]; omitted: number } {
  const listed = images.slice(0, AUDIT_MAX_IMAGES);
  // in place: `listed` is our copy (a cached review's images are all within bounds: no second array)
  for (let i = 0; i < listed.length; i++) listed[i] = boundImage(listed[i]!);
  return { images: listed, omitted: images.length - listed.length };
}
